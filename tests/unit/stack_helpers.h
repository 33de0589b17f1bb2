/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the stack's test suites (test_stack_*.c): frames built by
 * hand, byte by byte (Ethernet with an optional 802.1Q tag, ARP, IPv4 with
 * options and fragment fields, UDP, ICMP echo), a reference Internet
 * checksum written the plain way (16-bit big-endian words, nothing shared
 * with src/csum.c), packets made of a frame cut into segments, and a stack
 * with one interface (10.0.0.1/24 on port 0) whose output tests drain.
 *
 * Every suite's fini fails when a packet buffer is still out.
 */
#ifndef TEST_STACK_HELPERS_H
#define TEST_STACK_HELPERS_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/route.h"
#include "weir/stack.h"
#include "weir/udp.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define IP_US IP(10, 0, 0, 1)
#define IP_PEER IP(10, 0, 0, 2)

static const uint8_t mac_us[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_peer[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define SEC WEIR_NS_PER_SEC
#define MS WEIR_NS_PER_MS

static struct weir_pool *pool;

static inline void t_pool_init(uint32_t n)
{
	int err;

	err = weir_pool_create(&(struct weir_pool_conf){.name = "stack", .n = n, .huge = 2}, &pool);
	cr_assert_not_null(pool, "pool: %d", err);
}

static inline void t_pool_fini(void)
{
	uint32_t n = weir_pool_in_use(pool);

	weir_pool_destroy(pool);
	if (n) {
		cr_log_error("leaked %u packet buffers", n);
		abort();
	}
}

/* --- bytes ----------------------------------------------------------- */

static inline uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

static inline uint64_t ref_sum(uint64_t s, const uint8_t *d, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(d[i] << 8 | d[i + 1]);
	if (len & 1)
		s += (uint32_t)d[len - 1] << 8;
	return s;
}

static inline uint16_t ref_fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Checksum to store (big-endian number) over len bytes. */
static inline uint16_t ref_csum(const uint8_t *d, size_t len)
{
	return (uint16_t)~ref_fold(ref_sum(0, d, len));
}

static inline uint8_t pattern(uint32_t seed, uint32_t i)
{
	return (uint8_t)(seed * 31 + i * 7 + (i >> 8) * 13);
}

/* --- frames ------------------------------------------------------------ */

/* Ethernet header (with an 802.1Q tag when vlan != 0): its length. */
static inline size_t t_eth(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint16_t vlan,
			   uint16_t type)
{
	size_t off = 12;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (vlan) {
		put16(f + 12, 0x8100);
		put16(f + 14, vlan);
		off = 16;
	}
	put16(f + off, type);
	return off + 2;
}

/* IPv4 header with optlen bytes of options (a multiple of 4), for a
 * payload of plen bytes; its length. */
static inline size_t t_ipv4(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
			    uint16_t frag, size_t optlen, size_t plen)
{
	size_t ihl = 20 + optlen;

	memset(ip, 0, ihl);
	ip[0] = (uint8_t)(0x40 | ihl / 4);
	put16(ip + 2, (uint16_t)(ihl + plen));
	put16(ip + 4, id);
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	for (size_t i = 20; i < ihl; i++)
		ip[i] = 1; /* NOP */
	put16(ip + 10, ref_csum(ip, ihl));
	return ihl;
}

/* UDP header + payload (already at u + 8) with its checksum. */
static inline size_t t_udp(uint8_t *u, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
			   size_t plen)
{
	size_t len = 8 + plen;
	uint64_t s = 17 + len;
	uint16_t ck;

	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)len);
	put16(u + 6, 0);
	s += (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff);
	ck = (uint16_t)~ref_fold(ref_sum(s, u, len));
	put16(u + 6, ck ? ck : 0xffff);
	return len;
}

/* A whole UDP frame peer -> us with payload pattern(seed); its length. */
static inline size_t t_udp_frame(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport,
				 uint16_t dport, size_t plen, uint32_t seed)
{
	size_t l2 = t_eth(f, mac_us, mac_peer, 0, 0x0800);
	uint8_t *u = f + l2 + 20;

	for (size_t i = 0; i < plen; i++)
		u[8 + i] = pattern(seed, (uint32_t)i);
	t_udp(u, src, dst, sport, dport, plen);
	t_ipv4(f + l2, src, dst, 17, 1, 0, 0, 8 + plen);
	return l2 + 28 + plen;
}

/* ICMP echo (type 8 or 0) with plen bytes of pattern(seed) data. */
static inline size_t t_icmp_echo(uint8_t *c, uint8_t type, uint16_t id, uint16_t seq, size_t plen,
				 uint32_t seed)
{
	c[0] = type;
	c[1] = 0;
	put16(c + 2, 0);
	put16(c + 4, id);
	put16(c + 6, seq);
	for (size_t i = 0; i < plen; i++)
		c[8 + i] = pattern(seed, (uint32_t)i);
	put16(c + 2, ref_csum(c, 8 + plen));
	return 8 + plen;
}

/* ARP over Ethernet (28 bytes at a). */
static inline size_t t_arp(uint8_t *a, uint16_t op, const uint8_t sha[6], uint32_t spa,
			   const uint8_t tha[6], uint32_t tpa)
{
	put16(a, 1);
	put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put32(a + 24, tpa);
	return 28;
}

/* A frame: Ethernet from src to dst + ARP. */
static inline size_t t_arp_frame(uint8_t *f, const uint8_t edst[6], const uint8_t esrc[6],
				 uint16_t op, const uint8_t sha[6], uint32_t spa,
				 const uint8_t tha[6], uint32_t tpa)
{
	size_t l2 = t_eth(f, edst, esrc, 0, 0x0806);

	return l2 + t_arp(f + l2, op, sha, spa, tha, tpa);
}

/* --- packets ----------------------------------------------------------- */

/* A packet of the frame, cut into segments of seg bytes (0: as few as the
 * buffers allow). */
static inline struct weir_pkt *t_pkt(const uint8_t *f, size_t len, size_t seg)
{
	struct weir_pkt *head = NULL;
	size_t off = 0;

	do {
		struct weir_pkt *p = weir_pkt_alloc(pool);
		size_t n = len - off;

		cr_assert_not_null(p, "pool empty");
		if (n > weir_pkt_tailroom(p))
			n = weir_pkt_tailroom(p);
		if (seg && n > seg)
			n = seg;
		memcpy(weir_pkt_put(p, (uint16_t)n), f + off, n);
		off += n;
		if (!head)
			head = p;
		else
			cr_assert_eq(weir_pkt_chain(head, p), 0);
	} while (off < len);
	head->port = 0; /* the port of the stack's eth0 */
	return head;
}

/* The whole packet's bytes into out; returns pkt_len. */
static inline uint32_t t_flat(const struct weir_pkt *p, uint8_t *out)
{
	cr_assert_eq(weir_pkt_copy_out(p, 0, p->pkt_len, out), 0);
	return p->pkt_len;
}

/* Sum of data_len over the chain (must equal pkt_len). */
static inline void t_check_chain(const struct weir_pkt *p)
{
	uint32_t n = 0, segs = 0;

	for (const struct weir_pkt *s = p; s; s = s->next, segs++)
		n += s->data_len;
	cr_assert_eq(n, p->pkt_len, "chain holds %u, pkt_len %u", n, p->pkt_len);
	cr_assert_eq(segs, p->nb_segs, "chain has %u segments, nb_segs %u", segs, p->nb_segs);
}

/* IPv4 header checksum of the header at ip is valid. */
static inline bool t_ip_ok(const uint8_t *ip)
{
	return ref_fold(ref_sum(0, ip, (size_t)(ip[0] & 0xf) * 4)) == 0xffff;
}

/* UDP checksum of the datagram whose IP header is at ip is valid. */
static inline bool t_udp_ok(const uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	const uint8_t *u = ip + ihl;
	uint16_t len = get16(u + 4);
	uint64_t s = 17 + len;

	s = ref_sum(s, ip + 12, 8);
	return ref_fold(ref_sum(s, u, len)) == 0xffff;
}

/* --- a stack ----------------------------------------------------------- */

static inline struct weir_stack *t_stack_conf(struct weir_stack_conf c)
{
	char why[256] = "";
	struct weir_stack *st;
	int err;

	c.pool = pool;
	if (!c.seed)
		c.seed = 42;
	st = weir_stack_create(&c, &err);
	cr_assert_not_null(st, "stack: %d", err);
	err = weir_stack_iface_add(st,
				   &(struct weir_stack_iface_conf){.name = "eth0",
								  .mac = {0x02, 0, 0, 0, 0, 1},
								  .addr = IP_US,
								  .prefix = 24,
								  .no_garp = true},
				   why, sizeof(why));
	cr_assert_eq(err, 0, "iface: %s", why);
	return st;
}

static inline struct weir_stack *t_stack(void)
{
	return t_stack_conf((struct weir_stack_conf){0});
}

static inline uint64_t t_xstat(const struct weir_stack *st, const char *name)
{
	uint64_t v = 0;

	cr_assert_eq(weir_stack_xstat(st, name, &v), 0, "no xstat %s", name);
	return v;
}

/* Feeds one frame. */
static inline void t_in(struct weir_stack *st, const uint8_t *f, size_t len, weir_ns_t now)
{
	struct weir_pkt *p = t_pkt(f, len, 0);

	weir_stack_input(st, &p, 1, now);
}

/* Takes the one frame the stack queued on iface (asserting there is
 * exactly one) into out; returns its length. */
static inline uint32_t t_out1(struct weir_stack *st, uint16_t iface, uint8_t *out)
{
	struct weir_pkt *p[2];
	uint16_t n = weir_stack_drain(st, iface, p, 2);
	uint32_t len;

	cr_assert_eq(n, 1, "expected one frame out, got %u", n);
	t_check_chain(p[0]);
	len = t_flat(p[0], out);
	weir_pkt_free(p[0]);
	return len;
}

/* Frees whatever is queued on iface; returns how many. */
static inline uint32_t t_out_free(struct weir_stack *st, uint16_t iface)
{
	struct weir_pkt *p[64];
	uint32_t total = 0;
	uint16_t n;

	while ((n = weir_stack_drain(st, iface, p, 64))) {
		weir_pkt_free_bulk(p, n);
		total += n;
	}
	return total;
}

/* Makes the peer known (REACHABLE) by feeding its request for our address. */
static inline void t_learn_peer(struct weir_stack *st, weir_ns_t now)
{
	uint8_t f[64];
	size_t len = t_arp_frame(f, mac_bcast, mac_peer, 1, mac_peer, IP_PEER,
				 (const uint8_t[6]){0}, IP_US);

	t_in(st, f, len, now);
	cr_assert_eq(t_out_free(st, 0), 1, "our ARP reply");
	cr_assert_eq(weir_stack_neigh_get(st, 0, IP_PEER, NULL), WEIR_NEIGH_REACHABLE);
}

#endif
