// SPDX-License-Identifier: BSD-3-Clause
/*
 * The router's decisions (include/weir/ipfwd.h), which weir-fwd's l3
 * engine takes for every frame: header checks, martian sources and
 * destinations, directed broadcasts, TTL; the TTL decrement's incremental
 * checksum against a checksum recomputed from scratch (stack_helpers.h's
 * reference, nothing shared with src/csum.c) over many random headers;
 * fragmentation of forwarded datagrams (offsets, MF, options copied only
 * where RFC 791 says, payload intact, fragments of fragments, errors that
 * leave the packet alone). Buffers are checked for leaks at the end.
 */
#include "stack_helpers.h"
#include "weir/ipfwd.h"

#define R0 IP(10, 1, 0, 1) /* the router: 10.1.0.1/24, 10.2.0.1/24, 10.3.0.1/31 */
#define R1 IP(10, 2, 0, 1)
#define R2 IP(10, 3, 0, 0)
#define H1 IP(10, 1, 0, 2) /* a host on 0, one behind 1 */
#define H2 IP(10, 9, 7, 5)

static struct weir_ipfwd_addrs addrs;

static void setup(void)
{
	memset(&addrs, 0, sizeof(addrs));
	cr_assert_eq(weir_ipfwd_addrs_add(&addrs, R0, 24), 0);
	cr_assert_eq(weir_ipfwd_addrs_add(&addrs, R1, 24), 0);
	cr_assert_eq(weir_ipfwd_addrs_add(&addrs, R2, 31), 0);
	t_pool_init(512);
}

static void teardown(void)
{
	t_pool_fini();
}

TestSuite(ipfwd, .init = setup, .fini = teardown);

/* A 20-byte header (plus plen bytes said by tot_len) from src to dst. */
static void hdr(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t ttl, size_t plen)
{
	t_ipv4(ip, src, dst, 17, 0x1234, 0, 0, plen);
	ip[8] = ttl;
	put16(ip + 10, 0);
	put16(ip + 10, ref_csum(ip, 20));
}

static enum weir_ipfwd_verdict verdict(uint32_t src, uint32_t dst, uint8_t ttl)
{
	uint8_t ip[64];
	struct weir_ipfwd_hdr h;

	hdr(ip, src, dst, ttl, 8);
	return weir_ipfwd_classify(&addrs, ip, 28, 28, &h);
}

Test(ipfwd, forward_fills_the_header)
{
	uint8_t ip[64];
	struct weir_ipfwd_hdr h;

	hdr(ip, H1, H2, 64, 8);
	ip[6] = 0x40; /* DF */
	put16(ip + 10, 0);
	put16(ip + 10, ref_csum(ip, 20));
	cr_assert_eq(weir_ipfwd_classify(&addrs, ip, 28, 40, &h), WEIR_IPFWD_FORWARD);
	cr_assert_eq(h.saddr, H1);
	cr_assert_eq(h.daddr, H2);
	cr_assert_eq(h.tot_len, 28, "padding beyond tot_len is the frame's");
	cr_assert_eq(h.ihl, 20);
	cr_assert_eq(h.ttl, 64);
	cr_assert(h.df);
	cr_assert_str_eq(weir_ipfwd_verdict_name(WEIR_IPFWD_FORWARD), "forward");
}

Test(ipfwd, bad_headers)
{
	uint8_t ip[64];
	struct weir_ipfwd_hdr h;

	hdr(ip, H1, H2, 64, 8);
	cr_assert_eq(weir_ipfwd_classify(&addrs, ip, 19, 28, &h), WEIR_IPFWD_BAD_HDR, "short");
	cr_assert_eq(weir_ipfwd_classify(&addrs, ip, 28, 27, &h), WEIR_IPFWD_BAD_HDR,
		     "tot_len beyond the frame");
	ip[10] ^= 1;
	cr_assert_eq(weir_ipfwd_classify(&addrs, ip, 28, 28, &h), WEIR_IPFWD_BAD_HDR, "checksum");
	hdr(ip, H1, H2, 64, 8);
	ip[0] = 0x44; /* IHL 4 */
	cr_assert_eq(weir_ipfwd_classify(&addrs, ip, 28, 28, &h), WEIR_IPFWD_BAD_HDR, "IHL < 5");
	hdr(ip, H1, H2, 64, 8);
	ip[0] = 0x65; /* version 6 */
	cr_assert_eq(weir_ipfwd_classify(&addrs, ip, 28, 28, &h), WEIR_IPFWD_BAD_HDR, "version");
	hdr(ip, H1, H2, 64, 8);
	ip[0] = 0x46; /* IHL 6: 24 bytes, only 20 readable here */
	put16(ip + 10, 0);
	put16(ip + 10, ref_csum(ip, 24));
	cr_assert_eq(weir_ipfwd_classify(&addrs, ip, 20, 28, &h), WEIR_IPFWD_BAD_HDR,
		     "options past the readable bytes");
	hdr(ip, H1, H2, 64, 0);
	put16(ip + 2, 19); /* tot_len below the header */
	put16(ip + 10, 0);
	put16(ip + 10, ref_csum(ip, 20));
	cr_assert_eq(weir_ipfwd_classify(&addrs, ip, 20, 20, &h), WEIR_IPFWD_BAD_HDR, "tot_len < ihl");
}

Test(ipfwd, local_any_ttl)
{
	cr_assert_eq(verdict(H1, R0, 64), WEIR_IPFWD_LOCAL);
	cr_assert_eq(verdict(H1, R1, 1), WEIR_IPFWD_LOCAL, "our other address, TTL 1: ours");
	cr_assert_eq(verdict(H1, R2, 0), WEIR_IPFWD_LOCAL);
	cr_assert_eq(verdict(H1, 0xffffffffu, 64), WEIR_IPFWD_LOCAL, "limited broadcast");
	cr_assert_eq(verdict(H1, IP(224, 0, 0, 251), 1), WEIR_IPFWD_LOCAL, "multicast");
	cr_assert_eq(verdict(H1, IP(239, 1, 2, 3), 64), WEIR_IPFWD_LOCAL);
}

Test(ipfwd, martian_sources)
{
	cr_assert_eq(verdict(IP(0, 0, 0, 0), H2, 64), WEIR_IPFWD_MARTIAN_SRC);
	cr_assert_eq(verdict(IP(0, 1, 2, 3), H2, 64), WEIR_IPFWD_MARTIAN_SRC, "0/8");
	cr_assert_eq(verdict(IP(127, 0, 0, 1), H2, 64), WEIR_IPFWD_MARTIAN_SRC, "127/8");
	cr_assert_eq(verdict(IP(127, 9, 9, 9), H2, 64), WEIR_IPFWD_MARTIAN_SRC);
	cr_assert_eq(verdict(0xffffffffu, H2, 64), WEIR_IPFWD_MARTIAN_SRC, "limited broadcast");
	cr_assert_eq(verdict(IP(224, 0, 0, 1), H2, 64), WEIR_IPFWD_MARTIAN_SRC, "multicast");
	cr_assert_eq(verdict(IP(239, 255, 255, 255), H2, 64), WEIR_IPFWD_MARTIAN_SRC);
	cr_assert_eq(verdict(IP(10, 1, 0, 255), H2, 64), WEIR_IPFWD_MARTIAN_SRC,
		     "a directed broadcast of ours");
	cr_assert_eq(verdict(R1, H2, 64), WEIR_IPFWD_MARTIAN_SRC, "our own address, spoofed");
	/* Neighbours of those that are fine. */
	cr_assert_eq(verdict(IP(1, 0, 0, 0), H2, 64), WEIR_IPFWD_FORWARD);
	cr_assert_eq(verdict(IP(126, 255, 255, 255), H2, 64), WEIR_IPFWD_FORWARD);
	cr_assert_eq(verdict(IP(223, 255, 255, 255), H2, 64), WEIR_IPFWD_FORWARD);
	cr_assert_eq(verdict(IP(10, 1, 0, 254), H2, 64), WEIR_IPFWD_FORWARD);
	cr_assert_eq(verdict(IP(10, 3, 0, 1), H2, 64), WEIR_IPFWD_FORWARD,
		     "a /31 has no broadcast (RFC 3021)");
}

Test(ipfwd, martian_destinations_and_broadcasts)
{
	cr_assert_eq(verdict(H1, IP(0, 0, 0, 0), 64), WEIR_IPFWD_MARTIAN_DST);
	cr_assert_eq(verdict(H1, IP(0, 200, 0, 1), 64), WEIR_IPFWD_MARTIAN_DST, "0/8");
	cr_assert_eq(verdict(H1, IP(127, 0, 0, 1), 64), WEIR_IPFWD_MARTIAN_DST, "127/8");
	cr_assert_eq(verdict(H1, IP(10, 2, 0, 255), 64), WEIR_IPFWD_BCAST,
		     "the other subnet's directed broadcast (RFC 2644)");
	cr_assert_eq(verdict(H1, IP(10, 1, 0, 255), 64), WEIR_IPFWD_BCAST);
	cr_assert_eq(verdict(IP(127, 0, 0, 1), IP(127, 0, 0, 2), 64), WEIR_IPFWD_MARTIAN_SRC,
		     "the source is judged first");
}

Test(ipfwd, ttl)
{
	cr_assert_eq(verdict(H1, H2, 0), WEIR_IPFWD_TTL_EXCEEDED);
	cr_assert_eq(verdict(H1, H2, 1), WEIR_IPFWD_TTL_EXCEEDED);
	cr_assert_eq(verdict(H1, H2, 2), WEIR_IPFWD_FORWARD);
	cr_assert_eq(verdict(IP(127, 0, 0, 1), H2, 1), WEIR_IPFWD_MARTIAN_SRC,
		     "a martian gets no time exceeded");
}

Test(ipfwd, addrs_bounds)
{
	struct weir_ipfwd_addrs a = {0};

	cr_assert_eq(weir_ipfwd_addrs_add(&a, 0, 24), -EINVAL);
	cr_assert_eq(weir_ipfwd_addrs_add(&a, H1, 33), -EINVAL);
	for (int i = 0; i < WEIR_IPFWD_ADDRS_MAX; i++)
		cr_assert_eq(weir_ipfwd_addrs_add(&a, IP(10, i, 0, 1), 24), 0);
	cr_assert_eq(weir_ipfwd_addrs_add(&a, H2, 24), -ENOSPC);
}

/* RFC 1624's update against the checksum recomputed from scratch, over
 * random headers (options included) and every TTL. */
Test(ipfwd, ttl_dec_matches_recomputed_checksum)
{
	uint64_t s = 0x243f6a8885a308d3ULL;
	uint8_t ip[60], ref[60];

	for (int n = 0; n < 200000; n++) {
		size_t ihl = 20 + 4 * (n % 11);

		for (size_t i = 0; i < ihl; i++) {
			s = s * 6364136223846793005ULL + 1442695040888963407ULL;
			ip[i] = (uint8_t)(s >> 56);
		}
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		if (n < 256)
			ip[8] = (uint8_t)n; /* every TTL, then random ones */
		if (ip[8] == 0)
			ip[8] = 1;
		put16(ip + 10, 0);
		put16(ip + 10, ref_csum(ip, ihl));
		memcpy(ref, ip, ihl);
		weir_ipfwd_ttl_dec(ip);
		ref[8]--;
		put16(ref + 10, 0);
		put16(ref + 10, ref_csum(ref, ihl));
		cr_assert_eq(ip[8], ref[8]);
		cr_assert_eq(get16(ip + 10), get16(ref + 10),
			     "header %d: incremental 0x%04x, recomputed 0x%04x", n, get16(ip + 10),
			     get16(ref + 10));
		cr_assert(t_ip_ok(ip));
		cr_assert_eq(memcmp(ip, ref, ihl), 0);
	}
}

/* The checksum word's edge values: 0x0000 and 0xffff before the update. */
Test(ipfwd, ttl_dec_checksum_edges)
{
	uint8_t ip[20];
	int seen0 = 0, seenf = 0;

	/* Search the id field for headers whose checksum is each edge. */
	for (uint32_t id = 0; id < 65536 && (!seen0 || !seenf); id++) {
		hdr(ip, H1, H2, 64, 8);
		put16(ip + 4, (uint16_t)id);
		put16(ip + 10, 0);
		put16(ip + 10, ref_csum(ip, 20));
		if (get16(ip + 10) != 0 && get16(ip + 10) != 0xfeff)
			continue;
		seen0 += get16(ip + 10) == 0;
		seenf += get16(ip + 10) == 0xfeff;
		weir_ipfwd_ttl_dec(ip);
		cr_assert(t_ip_ok(ip), "id %u: checksum 0x%04x invalid after the update", id,
			  get16(ip + 10));
	}
	cr_assert(seen0 && seenf, "edge headers found: 0x0000 %d, 0xfeff %d", seen0, seenf);
}

/* --- fragmentation ------------------------------------------------------ */

/* A datagram with a copied option (router alert, 0x94) and one that is
 * not (record route, 0x07), plen bytes of pattern; its IP bytes in d. */
static struct weir_pkt *opt_datagram(uint8_t *d, size_t plen, uint16_t frag)
{
	size_t ihl = t_ipv4(d, H1, H2, 17, 0x4242, frag, 12, plen);

	d[20] = 0x94; /* router alert, 4 bytes */
	d[21] = 4;
	d[22] = d[23] = 0;
	d[24] = 0x07; /* record route, 7 bytes */
	d[25] = 7;
	d[26] = 4;
	memset(d + 27, 0, 4);
	d[31] = 0; /* end of options */
	put16(d + 10, 0);
	put16(d + 10, ref_csum(d, ihl));
	for (size_t i = 0; i < plen; i++)
		d[ihl + i] = pattern(3, (uint32_t)i);
	return t_pkt(d, ihl + plen, 0);
}

Test(ipfwd, fragments_keep_the_header_and_copy_only_copied_options)
{
	static uint8_t d[4096], got[4096], back[4096];
	struct weir_pkt *out[16];
	struct weir_pkt *p = opt_datagram(d, 3000, 0);
	int n = weir_ipfwd_fragment(p, 1000, pool, out, 16);
	uint32_t chunk = (1000 - 32) & ~7u, seen = 0;

	cr_assert_eq(n, (int)((3000 + chunk - 1) / chunk), "%d fragments", n);
	for (int i = 0; i < n; i++) {
		uint32_t len = t_flat(out[i], got);
		uint16_t fo = get16(got + 6);

		t_check_chain(out[i]);
		cr_assert_leq(len, 1000);
		cr_assert_eq(get16(got + 2), len, "tot_len");
		cr_assert(t_ip_ok(got), "fragment %d: header checksum", i);
		cr_assert_eq(got[0], 0x48, "every fragment keeps IHL 8");
		cr_assert_eq(get16(got + 4), 0x4242, "id kept");
		cr_assert_eq(got[8], 64, "TTL as given");
		cr_assert_eq((fo & 0x1fff) * 8u, seen, "offset");
		cr_assert_eq(!!(fo & 0x2000), i < n - 1, "MF on all but the last");
		cr_assert_eq(got[20], 0x94, "the copied option in every fragment");
		if (i == 0)
			cr_assert_eq(got[24], 0x07, "the first fragment keeps every option");
		else
			for (int k = 24; k < 31; k++)
				cr_assert_eq(got[k], 1, "fragment %d: record route became NOPs", i);
		memcpy(back + seen, got + 32, len - 32);
		seen += len - 32;
		if (i < n - 1)
			cr_assert_eq((len - 32) % 8, 0);
		weir_pkt_free(out[i]);
	}
	cr_assert_eq(seen, 3000);
	cr_assert_eq(memcmp(back, d + 32, 3000), 0, "payload intact");
}

Test(ipfwd, fragment_of_a_fragment_keeps_offset_and_mf)
{
	static uint8_t d[4096], got[4096];
	struct weir_pkt *out[8];
	uint8_t *ip = d;
	struct weir_pkt *p;
	int n;

	t_ipv4(ip, H1, H2, 17, 7, 0x2000 | 100, 0, 1600); /* offset 800, MF */
	for (int i = 0; i < 1600; i++)
		ip[20 + i] = pattern(5, (uint32_t)i);
	p = t_pkt(d, 1620, 300); /* a chain of 300-byte segments */
	n = weir_ipfwd_fragment(p, 576, pool, out, 8);
	cr_assert_eq(n, 3, "%d", n);
	for (int i = 0; i < n; i++) {
		uint16_t fo;

		t_flat(out[i], got);
		fo = get16(got + 6);
		cr_assert_eq(fo & 0x1fff, 100 + i * (552 / 8), "fragment %d offset %u", i,
			     fo & 0x1fff);
		cr_assert(fo & 0x2000, "the original's MF stays on the last piece too");
		cr_assert_eq(memcmp(got + 20, ip + 20 + i * 552, get16(got + 2) - 20u), 0);
		weir_pkt_free(out[i]);
	}
}

Test(ipfwd, fragment_errors_leave_the_packet)
{
	static uint8_t d[4096];
	struct weir_pkt *out[4];
	struct weir_pkt *p = opt_datagram(d, 3000, 0);
	uint32_t before = weir_pool_in_use(pool);

	cr_assert_eq(weir_ipfwd_fragment(p, 1000, pool, out, 3), -E2BIG);
	cr_assert_eq(weir_ipfwd_fragment(p, 67, pool, out, 4), -EINVAL);
	cr_assert_eq(weir_pool_in_use(pool), before, "nothing allocated on failure");
	cr_assert_eq(p->pkt_len, 3032, "p untouched");
	weir_pkt_free(p);
}
