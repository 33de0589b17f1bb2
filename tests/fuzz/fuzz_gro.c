// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: software GRO (src/gro.c) fed a burst of arbitrary frames --
 * what the hosts on either side of weir-fwd can send it.
 *
 * Input: up to 48 records, each
 *   [0]      bit 0: fix the frame's IPv4 header and TCP checksums (when it
 *            looks like IPv4/IPv6 TCP), so that merges are reachable;
 *            bit 1: derived: the previous frame's headers with the
 *            sequence number and IPv4 id advanced, the bytes below being
 *            the payload only; bit 2: mark it CSUM_VALID (trusted as is)
 *   [1..2]   length (little-endian, at most 1600)
 *   [3..]    the bytes
 * Properties beyond "no crash, no leak, no out-of-bounds access": at most
 * as many packets come out as went in; a super-frame is a TCPV4/TCPV6 chain
 * with partial checksum, its IP length at most 65535; and the packets out,
 * super-frames segmented back by weir_gso_segment(), are the frames that
 * went in, byte for byte, each once -- except that a CSUM_VALID frame may
 * come back with its TCP checksum recomputed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/pool.h"

#define NMAX 48
#define LMAX 1600

static struct weir_pool *pool;
static uint8_t in[NMAX][LMAX + 128];
static uint32_t in_len[NMAX];
static bool in_valid[NMAX], used[NMAX];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (weir_pool_create(&(struct weir_pool_conf){.name = "fuzz-gro", .n = 1024, .huge = 2},
			     &pool) || !pool) {
		fprintf(stderr, "fuzz_gro: pool\n");
		abort();
	}
	return 0;
}

static void check(bool ok)
{
	if (!ok)
		abort();
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Offsets of the IP and TCP headers of an untagged IPv4 (no options) or
 * IPv6 TCP frame; false for anything else. */
static bool tcp_at(const uint8_t *f, uint32_t len, uint32_t *l3, uint32_t *l4)
{
	*l3 = 14;
	if (len < 14 + 40 + 20)
		return false;
	if (rd16(f + 12) == 0x0800 && f[14] == 0x45 && f[23] == 6)
		*l4 = 34;
	else if (rd16(f + 12) == 0x86dd && f[20] == 6)
		*l4 = 54;
	else
		return false;
	return len >= *l4 + 20;
}

/* IP length and checksums of frame f made right. */
static void fix(uint8_t *f, uint32_t len)
{
	uint32_t l3, l4, sum;
	uint16_t ck;

	if (!tcp_at(f, len, &l3, &l4))
		return;
	if (l4 == 34) {
		wr16(f + 16, (uint16_t)(len - 14));
		memset(f + 24, 0, 2);
		ck = (uint16_t)~weir_csum_fold(weir_csum_add(0, f + 14, 20));
		memcpy(f + 24, &ck, 2);
		sum = weir_csum_pseudo_ipv4(f + 26, f + 30, 6, len - l4);
	} else {
		wr16(f + 18, (uint16_t)(len - 54));
		sum = weir_csum_pseudo_ipv6(f + 22, f + 38, 6, len - l4);
	}
	memset(f + l4 + 16, 0, 2);
	ck = (uint16_t)~weir_csum_fold(weir_csum_add(sum, f + l4, len - l4));
	memcpy(f + l4 + 16, &ck, 2);
}

/* Frame i from the previous one's headers and `plen` payload bytes. */
static uint32_t derive(int i, const uint8_t *payload, uint32_t plen)
{
	uint32_t l3, l4, hl, seq;

	if (i == 0 || !tcp_at(in[i - 1], in_len[i - 1], &l3, &l4))
		return 0;
	hl = l4 + (in[i - 1][l4 + 12] >> 4) * 4u;
	if (hl < l4 + 20 || hl > in_len[i - 1])
		return 0;
	memcpy(in[i], in[i - 1], hl);
	memcpy(in[i] + hl, payload, plen);
	seq = (uint32_t)rd16(in[i] + l4 + 4) << 16 | rd16(in[i] + l4 + 6);
	seq += in_len[i - 1] - hl;
	wr16(in[i] + l4 + 4, (uint16_t)(seq >> 16));
	wr16(in[i] + l4 + 6, (uint16_t)seq);
	if (l4 == 34)
		wr16(in[i] + 18, (uint16_t)(rd16(in[i] + 18) + 1));
	return hl + plen;
}

/* Parses the records into in[]: how many frames. */
static int parse(const uint8_t *data, size_t size)
{
	int n = 0;

	while (n < NMAX && size >= 3) {
		uint8_t fl = data[0];
		uint32_t len = (uint32_t)(data[1] | data[2] << 8) % (LMAX + 1);

		data += 3;
		size -= 3;
		len = len < size ? len : (uint32_t)size;
		in_len[n] = (fl & 2) ? derive(n, data, len) : 0;
		if (!in_len[n]) {
			memcpy(in[n], data, len);
			in_len[n] = len;
		}
		data += len;
		size -= len;
		if (in_len[n] == 0)
			continue;
		if (fl & 1)
			fix(in[n], in_len[n]);
		in_valid[n] = fl & 4;
		n++;
	}
	return n;
}

/* out is one of the frames that went in, not matched before. */
static void match(const uint8_t *f, uint32_t len)
{
	for (int i = 0; i < NMAX; i++) {
		uint32_t l3, l4;
		bool same;

		if (used[i] || in_len[i] != len)
			continue;
		same = !memcmp(in[i], f, len);
		if (!same && in_valid[i] && tcp_at(f, len, &l3, &l4))
			same = !memcmp(in[i], f, l4 + 16) &&
			       !memcmp(in[i] + l4 + 18, f + l4 + 18, len - l4 - 18);
		if (same) {
			used[i] = true;
			return;
		}
	}
	abort(); /* a frame out that did not go in */
}

static void check_out(struct weir_pkt *p)
{
	static uint8_t got[LMAX + 128];
	struct weir_pkt *segs[NMAX];
	int k = 1;

	segs[0] = p;
	if (weir_pkt_is_gso(p)) {
		uint8_t t = p->gso_type & ~WEIR_PKT_GSO_ECN;

		check(t == WEIR_PKT_GSO_TCPV4 || t == WEIR_PKT_GSO_TCPV6);
		check(p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL);
		check(p->pkt_len - p->l2_len <= WEIR_GRO_MAX_LEN + (t == WEIR_PKT_GSO_TCPV6) * 40u);
		k = weir_gso_segment(p, pool, segs, NMAX, 0);
		check(k >= 2);
	}
	for (int i = 0; i < k; i++) {
		check(segs[i]->pkt_len <= sizeof(got));
		check(weir_pkt_copy_out(segs[i], 0, segs[i]->pkt_len, got) == 0);
		match(got, segs[i]->pkt_len);
		weir_pkt_free(segs[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weir_pkt *pkts[NMAX];
	struct weir_gro_stats st = {0};
	int n = parse(data, size);
	uint16_t out;

	memset(used, 0, sizeof(used));
	for (int i = n; i < NMAX; i++)
		in_len[i] = 0;
	for (int i = 0; i < n; i++) {
		pkts[i] = weir_pkt_alloc(pool);
		check(pkts[i] != NULL);
		memcpy(weir_pkt_put(pkts[i], (uint16_t)in_len[i]), in[i], in_len[i]);
		pkts[i]->ol_flags = in_valid[i] ? WEIR_PKT_OL_CSUM_VALID : 0;
	}
	out = weir_gro_burst(pkts, (uint16_t)n, &st);
	check(out <= n && st.csum_bad <= st.csum_verified);
	check(st.segs >= 2 * st.frames && n - out == (int)(st.segs - st.frames));
	for (uint16_t i = 0; i < out; i++)
		check_out(pkts[i]);
	for (int i = 0; i < n; i++)
		check(used[i]);
	check(weir_pool_in_use(pool) == 0);
	return 0;
}
