// SPDX-License-Identifier: BSD-3-Clause
/*
 * The classic BPF evaluator (apps/common/cbpf.c): the same answers as
 * libpcap's bpf_filter on filters pcap_compile makes and on frames built
 * to match or miss them, short buffers, the programs it leaves to
 * bpf_filter (backward jumps, a fall-through past the end, unknown
 * opcodes), a jump into the second half of a fused pair, and
 * cbpf_select's list of a burst. tests/fuzz/fuzz_cbpf.c compares the two
 * on random frames.
 */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <string.h>

#include "common/cbpf.h"

/* IPv4 UDP 10.0.0.1:1000 -> 10.0.0.2:53, 60 bytes. */
static void udp_frame(uint8_t *f, uint16_t dport)
{
	static const uint8_t hdr[] = {
		2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
		0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x03, 0xe8, 0, 53, 0, 26, 0, 0};

	memset(f, 0, 60);
	memcpy(f, hdr, sizeof(hdr));
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
}

static struct cbpf *compile(const char *expr, struct bpf_program *prog)
{
	pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
	struct cbpf *f;

	cr_assert_not_null(p);
	cr_assert_eq(pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN), 0, "%s: %s", expr,
		     pcap_geterr(p));
	pcap_close(p);
	cr_assert_eq(cbpf_load(&f, prog->bf_insns, prog->bf_len), 0);
	cr_assert(cbpf_decoded(f), "%s: pcap_compile's program not decoded", expr);
	return f;
}

/* cbpf_run's answer on f[0..len), buflen bytes of it, after checking it
 * is bpf_filter's. */
static uint32_t both(const char *expr, const uint8_t *frame, uint32_t len, uint32_t buflen)
{
	struct bpf_program prog;
	struct cbpf *f = compile(expr, &prog);
	uint32_t want = bpf_filter(prog.bf_insns, frame, len, buflen);
	uint32_t got = cbpf_run(f, frame, len, buflen);

	cr_assert_eq(got, want, "%s: cbpf %u, bpf_filter %u", expr, got, want);
	cbpf_free(f);
	pcap_freecode(&prog);
	return got;
}

Test(cbpf, same_answers_as_bpf_filter_on_matches_and_misses)
{
	uint8_t f[60];

	udp_frame(f, 53);
	cr_assert_neq(both("udp port 53 and host 10.0.0.1", f, 60, 60), 0);
	cr_assert_neq(both("udp dst port 53", f, 60, 60), 0);
	cr_assert_neq(both("ip[2:2] = 46 and len = 60", f, 60, 60), 0);
	cr_assert_neq(both("portrange 50-60", f, 60, 60), 0);
	cr_assert_eq(both("udp port 1", f, 60, 60), 0);
	cr_assert_eq(both("tcp", f, 60, 60), 0);
	cr_assert_eq(both("ip6 or arp or vlan", f, 60, 60), 0);
	cr_assert_eq(both("host 10.0.0.3", f, 60, 60), 0);
	udp_frame(f, 54);
	cr_assert_eq(both("udp port 53", f, 60, 60), 0);
	cr_assert_neq(both("udp[2:2] - 1 = 53 and ip[8] * 2 / 4 = 32", f, 60, 60), 0);
}

Test(cbpf, a_load_past_buflen_is_no_match_like_bpf_filter)
{
	uint8_t f[60];

	udp_frame(f, 53);
	/* The port is at 36..37: 37 bytes hold only half of it. */
	cr_assert_neq(both("udp port 53", f, 60, 38), 0);
	cr_assert_eq(both("udp port 53", f, 60, 37), 0);
	cr_assert_eq(both("udp port 53", f, 60, 13), 0);
	cr_assert_eq(both("udp port 53", f, 60, 0), 0);
	/* len is the wire length, not buflen. */
	cr_assert_neq(both("greater 59", f, 60, 20), 0);
}

static uint32_t raw(const struct bpf_insn *in, unsigned n, bool decoded, const uint8_t *frame,
		    uint32_t len)
{
	struct cbpf *f;
	uint32_t v;

	cr_assert_eq(cbpf_load(&f, in, n), 0);
	cr_assert_eq(cbpf_decoded(f), decoded);
	v = cbpf_run(f, frame, len, len);
	cbpf_free(f);
	return v;
}

Test(cbpf, programs_it_cannot_prove_safe_go_to_bpf_filter)
{
	uint8_t f[60];
	/* ld #1; ja +0; ret a, then a backward ja: left to bpf_filter. */
	const struct bpf_insn back[] = {
		BPF_STMT(BPF_LD | BPF_IMM, 7), BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
		BPF_STMT(BPF_RET | BPF_A, 0), BPF_JUMP(BPF_JMP | BPF_JA, (uint32_t)-2, 0, 0)};
	const struct bpf_insn past[] = {BPF_STMT(BPF_LD | BPF_IMM, 7)};
	const struct bpf_insn jump_out[] = {BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0),
					    BPF_STMT(BPF_RET | BPF_K, 1)};
	const struct bpf_insn mem_out[] = {BPF_STMT(BPF_ST, 16), BPF_STMT(BPF_RET | BPF_K, 1)};
	const struct bpf_insn odd[] = {BPF_STMT(0xff, 0), BPF_STMT(BPF_RET | BPF_K, 1)};
	struct cbpf *c;

	udp_frame(f, 53);
	cr_assert_eq(raw(back, 4, false, f, 60), 7); /* bpf_filter ran it: ja +1, ja -2, ret a */
	cr_assert_eq(cbpf_load(&c, past, 1), 0);
	cr_assert_not(cbpf_decoded(c)); /* would run off the end: not even run here */
	cbpf_free(c);
	cr_assert_eq(cbpf_load(&c, jump_out, 2), 0);
	cr_assert_not(cbpf_decoded(c));
	cbpf_free(c);
	cr_assert_eq(cbpf_load(&c, mem_out, 2), 0);
	cr_assert_not(cbpf_decoded(c));
	cbpf_free(c);
	cr_assert_eq(cbpf_load(&c, odd, 2), 0);
	cr_assert_not(cbpf_decoded(c));
	cbpf_free(c);
	cr_assert_eq(cbpf_load(&c, past, 0), -EINVAL);
}

Test(cbpf, a_jump_into_a_fused_pair_runs_its_second_half)
{
	uint8_t f[60];
	/* 0: ld #0x800; 1: ja 3 (to 5); 2: ldh [12] (fused with 3); 3: jeq #0x800
	 * jt 4 jf 5... entered at 3 with A from 0 whatever [12] holds. */
	const struct bpf_insn in[] = {
		BPF_STMT(BPF_LD | BPF_IMM, 0x0800),
		BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),
		BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 12),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 11),
		BPF_STMT(BPF_RET | BPF_K, 22)};

	udp_frame(f, 53);
	f[12] = 0x86, f[13] = 0xdd; /* [12] would say no */
	cr_assert_eq(raw(in, 6, true, f, 60), 11);
	cr_assert_eq(bpf_filter(in, f, 60, 60), 11);
}

Test(cbpf, division_by_zero_and_long_shifts)
{
	uint8_t f[60];
	const struct bpf_insn div[] = {
		BPF_STMT(BPF_LD | BPF_IMM, 9), BPF_STMT(BPF_LDX | BPF_IMM, 0),
		BPF_STMT(BPF_ALU | BPF_DIV | BPF_X, 0), BPF_STMT(BPF_RET | BPF_K, 1)};
	const struct bpf_insn mem[] = {
		BPF_STMT(BPF_LD | BPF_IMM, 5), BPF_STMT(BPF_ST, 3), BPF_STMT(BPF_LD | BPF_IMM, 0),
		BPF_STMT(BPF_LDX | BPF_MEM, 3), BPF_STMT(BPF_MISC | BPF_TXA, 0),
		BPF_STMT(BPF_ALU | BPF_LSH | BPF_K, 2), BPF_STMT(BPF_RET | BPF_A, 0)};

	udp_frame(f, 53);
	cr_assert_eq(raw(div, 4, true, f, 60), 0);
	cr_assert_eq(bpf_filter(div, f, 60, 60), 0);
	cr_assert_eq(raw(mem, 7, true, f, 60), 20);
	cr_assert_eq(bpf_filter(mem, f, 60, 60), 20);
}

Test(cbpf, select_lists_matches_and_short_chains_in_order)
{
	static uint8_t bufs[5][64];
	struct weir_pkt pk[5], *pp[5];
	struct bpf_program prog;
	struct cbpf *f = compile("udp port 53", &prog);
	uint16_t idx[5];
	const uint16_t ports[5] = {53, 9, 53, 9, 9};

	for (int i = 0; i < 5; i++) {
		udp_frame(bufs[i], ports[i]);
		pk[i] = (struct weir_pkt){.buf = bufs[i], .pkt_len = 60, .data_len = 60};
		pp[i] = &pk[i];
	}
	pk[3].data_len = 20; /* a chain with a short head: listed, not run */
	cr_assert_eq(cbpf_select(f, pp, 5, 65535, idx), 3);
	cr_assert_eq(idx[0], 0);
	cr_assert_eq(idx[1], 2);
	cr_assert_eq(idx[2], 3);
	/* snaplen cuts what the program sees: the port is past 30 bytes. */
	pk[3].data_len = 60;
	cr_assert_eq(cbpf_select(f, pp, 5, 30, idx), 0);
	cr_assert_eq(cbpf_select(f, pp, 0, 65535, idx), 0);
	cbpf_free(f);
	pcap_freecode(&prog);
}
