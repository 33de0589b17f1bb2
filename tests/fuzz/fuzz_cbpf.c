// SPDX-License-Identifier: BSD-3-Clause
/*
 * Differential fuzz target: apps/common/cbpf.c against libpcap's
 * bpf_filter(), which it must equal on every frame. The first input byte
 * picks a filter: one of the expressions below, compiled by pcap_compile
 * (IPv4, IPv6, VLAN, ARP, ports, ranges, arithmetic, lengths, header
 * bits), or, with its top bit set, a raw program made of the next bytes
 * (8 a instruction) that libpcap's bpf_validate() accepts and that loads
 * no scratch word and shifts by no X (the two places where 1.10's
 * interpreter is undefined: uninitialised memory, a shift by 32 or more). The second byte cuts buflen below the frame's length
 * (snaplen); the rest is the frame. Each frame also goes through
 * cbpf_select as a one-frame burst.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "common/cbpf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const exprs[] = {
	"udp port 1",
	"udp port 53 and host 10.0.0.1",
	"tcp",
	"ip",
	"ip6",
	"arp",
	"vlan",
	"vlan and arp",
	"vlan 100 and udp",
	"vlan and vlan and ip",
	"tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
	"ip6 and tcp port 80",
	"icmp or icmp6",
	"net 192.168.0.0/16 and not port 22",
	"portrange 1000-2000",
	"greater 100",
	"less 64",
	"ip[2:2] > 576",
	"ip[0] & 0xf != 5",
	"ether[0] & 1 = 1",
	"ether host 02:00:00:00:00:01",
	"ip and udp[8:4] = 0x12345678",
	"len - 14 > ip[2:2]",
	"ip[1] * 3 / 2 % 7 = 1",
	"ip[6:2] & 0x1fff = 0",
	"ip6[6] = 17 and ip6 dst host ::1",
	"ip multicast or ether broadcast",
	"mpls and ip",
	"pppoes and ip",
	"(tcp or udp) and (src port 1 or dst port 2)",
	"ip proto 47 or ip6 proto 47",
	"ip[0] << 2 = 80",
	"ip[0] >> 4 = 4 and ip[3] ^ 0xff = 0",
	"ip[8] - ip[9] = 0 or ip[8] + ip[9] = 255",
	"udp[0:2] | udp[2:2] = 0xffff",
	"-ip[0] = 0",
	"ether proto 0x88cc",
};
#define NEXPR (sizeof(exprs) / sizeof(exprs[0]))

static struct bpf_program progs[NEXPR];
static struct cbpf *fast[NEXPR];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);

	(void)argc, (void)argv;
	if (!p)
		abort();
	for (size_t i = 0; i < NEXPR; i++) {
		if (pcap_compile(p, &progs[i], exprs[i], 1, PCAP_NETMASK_UNKNOWN) < 0) {
			fprintf(stderr, "fuzz_cbpf: '%s': %s\n", exprs[i], pcap_geterr(p));
			abort();
		}
		if (cbpf_load(&fast[i], progs[i].bf_insns, progs[i].bf_len) < 0 ||
		    !cbpf_decoded(fast[i]))
			abort(); /* pcap_compile's programs must all be decoded */
	}
	pcap_close(p);
	return 0;
}

/* A raw program whose result bpf_filter defines: validated, no scratch
 * load (libpcap's words start undefined; pcap_compile's programs, above,
 * test the scratch memory), no shift by X, no constant shift over 31. */
static bool raw_ok(const struct bpf_insn *in, unsigned n)
{
	if (!bpf_validate(in, (int)n))
		return false;
	for (unsigned i = 0; i < n; i++) {
		uint16_t c = in[i].code;

		if (c == (BPF_LD | BPF_MEM) || c == (BPF_LDX | BPF_MEM))
			return false;
		if (c == (BPF_ALU | BPF_LSH | BPF_X) || c == (BPF_ALU | BPF_RSH | BPF_X))
			return false;
		if ((c == (BPF_ALU | BPF_LSH | BPF_K) || c == (BPF_ALU | BPF_RSH | BPF_K)) &&
		    in[i].k > 31)
			return false;
	}
	return true;
}

static void check(const struct bpf_insn *insns, const struct cbpf *f, const uint8_t *pkt,
		  uint32_t len, uint32_t buflen)
{
	uint32_t want = bpf_filter(insns, pkt, len, buflen);
	uint32_t got = cbpf_run(f, pkt, len, buflen);
	struct weir_pkt wp = {.buf = (uint8_t *)pkt, .pkt_len = len, .data_len = (uint16_t)len};
	uint16_t idx[1] = {7};

	if (got != want) {
		fprintf(stderr, "cbpf %u, bpf_filter %u (len %u, buflen %u)\n", got, want, len,
			buflen);
		abort();
	}
	if (len > UINT16_MAX)
		return;
	/* As a burst of one: selected exactly when it matches at snaplen. */
	if (cbpf_select(f, (struct weir_pkt *const[]){&wp}, 1, buflen, idx) != (want != 0) ||
	    (want && idx[0] != 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bpf_insn raw[64];
	struct cbpf *f;
	unsigned n;
	uint32_t len, buflen;

	if (size < 2)
		return 0;
	if (!(data[0] & 0x80)) {
		size_t e = data[0] % NEXPR;

		len = (uint32_t)(size - 2);
		buflen = data[1] >= len ? len : len - data[1];
		check(progs[e].bf_insns, fast[e], data + 2, len, len);
		check(progs[e].bf_insns, fast[e], data + 2, len, buflen);
		return 0;
	}
	n = 1 + (data[0] & 0x3f);
	if (size < 2 + 8u * n)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *b = data + 2 + 8 * i;

		raw[i] = (struct bpf_insn){.code = (uint16_t)(b[0] | b[1] << 8), .jt = b[2],
					   .jf = b[3],
					   .k = (uint32_t)b[4] | (uint32_t)b[5] << 8 |
						(uint32_t)b[6] << 16 | (uint32_t)b[7] << 24};
		/* Keep offsets near the frame so loads are sometimes in range. */
		if (BPF_CLASS(raw[i].code) == BPF_LD || BPF_CLASS(raw[i].code) == BPF_LDX)
			if (BPF_MODE(raw[i].code) == BPF_ABS || BPF_MODE(raw[i].code) == BPF_IND ||
			    BPF_MODE(raw[i].code) == BPF_MSH)
				raw[i].k = b[4] & 0x80 ? raw[i].k : b[5] & 0x3f;
	}
	if (!raw_ok(raw, n))
		return 0;
	if (cbpf_load(&f, raw, n) < 0)
		abort();
	/* bpf_validate passes opcodes with unused bits set, on which 1.10's
	 * bpf_filter aborts; cbpf refuses them (its fallback would be that
	 * same bpf_filter), so such a program is not compared. */
	if (!cbpf_decoded(f)) {
		cbpf_free(f);
		return 0;
	}
	len = (uint32_t)(size - 2 - 8 * n);
	buflen = data[1] >= len ? len : len - data[1];
	check(raw, f, data + 2 + 8 * n, len, buflen);
	cbpf_free(f);
	return 0;
}
