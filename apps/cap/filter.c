// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap's filter: tcpdump's expression language, compiled by libpcap
 * (pcap_open_dead + pcap_compile, so it is exactly tcpdump's) and run by
 * common/cbpf.c (bpf_filter's answers, faster) on the frame in place. Like a filter on a capture file, the
 * program sees the first snaplen bytes (wire length: the whole frame): a
 * chain whose head segment holds fewer is linearised into the lcore's
 * scratch buffer first; a frame in one segment is never copied.
 */
#include <errno.h>
#include <string.h>

#include "cap/cap.h"

int cap_filter_compile(struct cap_filter *f, const char *expr, uint32_t snaplen, char *why,
		       size_t len)
{
	pcap_t *p;

	memset(f, 0, sizeof(*f));
	if (!expr || !expr[strspn(expr, " \t")])
		return 0;
	p = pcap_open_dead(DLT_EN10MB, (int)snaplen);
	if (!p) {
		snprintf(why, len, "libpcap: out of memory");
		return -ENOMEM;
	}
	if (pcap_compile(p, &f->prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(why, len, "'%s': %s (the syntax is tcpdump's, see pcap-filter(7))", expr,
			 pcap_geterr(p));
		pcap_close(p);
		return -EINVAL;
	}
	pcap_close(p);
	if (cbpf_load(&f->fast, f->prog.bf_insns, f->prog.bf_len) < 0) {
		pcap_freecode(&f->prog);
		snprintf(why, len, "'%s': out of memory", expr);
		return -ENOMEM;
	}
	f->compiled = true;
	return 0;
}

void cap_filter_free(struct cap_filter *f)
{
	if (f->compiled) {
		pcap_freecode(&f->prog);
		cbpf_free(f->fast);
	}
	f->fast = NULL;
	f->compiled = false;
}

bool cap_filter_match(const struct cap_filter *f, const struct weir_pkt *p, uint32_t snaplen,
		      uint8_t *scratch)
{
	uint32_t want = p->pkt_len < snaplen ? p->pkt_len : snaplen;
	const uint8_t *data = weir_pkt_data(p);

	if (!f->compiled)
		return true;
	if (p->data_len < want) {
		if (weir_pkt_copy_out(p, 0, want, scratch) < 0)
			return false;
		data = scratch;
	}
	return cbpf_run(f->fast, data, p->pkt_len, want) != 0;
}
