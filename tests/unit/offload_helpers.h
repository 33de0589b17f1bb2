/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the offload test suites (test_offload.c, test_gso.c): frames
 * built by hand (Ethernet with 0-2 VLAN tags, IPv4 with options or IPv6
 * with a destination-options header, TCP with options or UDP), a reference
 * Internet checksum written the straightforward way (16-bit big-endian
 * words, one at a time: nothing shared with src/csum.c), a reference parser
 * that checks a frame's IP and L4 checksums, and packets made of a frame
 * cut at chosen offsets.
 */
#ifndef TEST_OFFLOAD_HELPERS_H
#define TEST_OFFLOAD_HELPERS_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/pool.h"

/* --- reference checksum ------------------------------------------------ */

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

/* A folded weir sum as the two bytes it is stored as, big-endian number. */
static inline uint16_t stored(uint16_t v)
{
	uint8_t b[2];

	memcpy(b, &v, 2);
	return get16(b);
}

/* --- frames by hand ---------------------------------------------------- */

enum ck_mode { CK_VALID, CK_PARTIAL, CK_ZERO };

struct fspec {
	int ipv;           /* 4 or 6 */
	int proto;         /* 6 or 17 */
	int vlans;         /* 0..2 */
	int ip_opts;       /* IPv4 option bytes (x4) / IPv6 dest-options bytes (x8, >= 8) */
	int tcp_opts;      /* TCP option bytes (x4); 12 = NOP NOP timestamps */
	uint32_t payload;  /* L4 payload bytes */
	uint8_t tcp_flags; /* default ACK when 0 */
	uint32_t seq;
	uint16_t id;
	enum ck_mode ck;
	uint32_t pad;      /* Ethernet padding after the datagram (non-zero bytes) */
	uint8_t seed;      /* payload pattern */
	uint16_t saddr_lo; /* last 16 bits of the source, to steer the pseudo-header sum */
};

struct frame {
	uint32_t len, l3, l4, l4_len, hdr_len;
};

static inline uint8_t pattern(uint8_t seed, uint32_t i)
{
	return (uint8_t)(seed + i * 7 + (i >> 8) * 13);
}

static inline uint32_t put_l2(uint8_t *f, int vlans, uint16_t type)
{
	uint32_t off = 12;

	memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (int v = 0; v < vlans; v++) {
		put16(f + off, v == 0 && vlans == 2 ? 0x88a8 : 0x8100);
		put16(f + off + 2, (uint16_t)(100 + v));
		off += 4;
	}
	put16(f + off, type);
	return off + 2;
}

/* Reference pseudo-header sum (unfolded) of frame f for an L4 length. */
static inline uint64_t ref_pseudo(const uint8_t *f, uint32_t l3, int ipv, int proto, uint32_t len)
{
	uint64_t s = proto + (len >> 16) + (len & 0xffff);

	if (ipv == 4)
		return ref_sum(s, f + l3 + 12, 8);
	return ref_sum(s, f + l3 + 8, 32);
}

static inline uint32_t put_l3(uint8_t *f, uint32_t off, const struct fspec *s, uint32_t l4_len)
{
	if (s->ipv == 4) {
		uint8_t *ip = f + off;
		uint32_t ihl = 20 + (uint32_t)s->ip_opts;

		memset(ip, 0, ihl);
		ip[0] = (uint8_t)(0x40 | ihl / 4);
		put16(ip + 2, (uint16_t)(ihl + l4_len));
		put16(ip + 4, s->id);
		put16(ip + 6, 0x4000);
		ip[8] = 64;
		ip[9] = (uint8_t)s->proto;
		memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
		put16(ip + 14, s->saddr_lo ? s->saddr_lo : 1);
		for (uint32_t i = 20; i < ihl; i++)
			ip[i] = 1; /* NOP options */
		put16(ip + 10, (uint16_t)~ref_fold(ref_sum(0, ip, ihl)));
		return off + ihl;
	}
	uint8_t *ip = f + off;
	uint32_t ext = (uint32_t)s->ip_opts;

	memset(ip, 0, 40 + ext);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)(ext + l4_len));
	ip[6] = ext ? 60 : (uint8_t)s->proto;
	ip[7] = 64;
	ip[8] = 0xfd;
	put16(ip + 22, s->saddr_lo ? s->saddr_lo : 1);
	ip[24] = 0xfd;
	ip[39] = 2;
	if (ext) {
		ip[40] = (uint8_t)s->proto;
		ip[41] = (uint8_t)(ext / 8 - 1);
		ip[42] = 1; /* PadN */
		ip[43] = (uint8_t)(ext - 4);
	}
	return off + 40 + ext;
}

/* Builds the frame s describes into f; returns where everything is. */
static inline struct frame build(uint8_t *f, const struct fspec *s)
{
	struct frame fr;
	uint32_t l4h = s->proto == 6 ? 20 + (uint32_t)s->tcp_opts : 8;
	uint8_t *l4;
	uint16_t ck = 0;

	fr.l4_len = l4h + s->payload;
	fr.l3 = put_l2(f, s->vlans, s->ipv == 4 ? 0x0800 : 0x86dd);
	fr.l4 = put_l3(f, fr.l3, s, fr.l4_len);
	fr.hdr_len = fr.l4 + l4h;
	l4 = f + fr.l4;
	memset(l4, 0, l4h);
	put16(l4, 40000);
	put16(l4 + 2, 5201);
	if (s->proto == 6) {
		put32(l4 + 4, s->seq);
		put32(l4 + 8, 0x01020304);
		l4[12] = (uint8_t)((l4h / 4) << 4);
		l4[13] = s->tcp_flags ? s->tcp_flags : 0x10;
		put16(l4 + 14, 502);
		for (uint32_t i = 20; i < l4h; i++)
			l4[i] = 1;
		if (s->tcp_opts >= 12)
			memcpy(l4 + 22, "\x08\x0a\x00\x01\x02\x03\x04\x05\x06\x07", 10);
	} else {
		put16(l4 + 4, (uint16_t)fr.l4_len);
	}
	for (uint32_t i = 0; i < s->payload; i++)
		l4[l4h + i] = pattern(s->seed, i);
	uint64_t ps = ref_pseudo(f, fr.l3, s->ipv, s->proto, fr.l4_len);
	uint32_t field = s->proto == 6 ? 16 : 6;

	if (s->ck == CK_VALID) {
		ck = (uint16_t)~ref_fold(ref_sum(ps, l4, fr.l4_len));
		if (ck == 0 && s->proto == 17)
			ck = 0xffff;
	} else if (s->ck == CK_PARTIAL) {
		ck = ref_fold(ps);
	}
	put16(l4 + field, ck);
	fr.len = fr.l4 + fr.l4_len;
	for (uint32_t i = 0; i < s->pad; i++)
		f[fr.len + i] = (uint8_t)(0xa0 + i);
	fr.len += s->pad;
	return fr;
}

/* --- reference parser -------------------------------------------------- */

struct ref_hdrs {
	int ipv, proto;
	uint32_t l3, l4, l4_len, l4_hlen;
};

/* Parses a contiguous frame built as above; false if it is not one. */
static inline bool ref_parse(const uint8_t *f, uint32_t len, struct ref_hdrs *r)
{
	uint32_t off = 12;
	uint16_t type = get16(f + off);

	while (type == 0x8100 || type == 0x88a8) {
		off += 4;
		type = get16(f + off);
	}
	r->l3 = off + 2;
	if (type == 0x0800) {
		r->ipv = 4;
		r->proto = f[r->l3 + 9];
		r->l4 = r->l3 + (f[r->l3] & 0xfu) * 4;
		r->l4_len = get16(f + r->l3 + 2) - (r->l4 - r->l3);
	} else if (type == 0x86dd) {
		uint8_t next = f[r->l3 + 6];

		r->ipv = 6;
		r->l4 = r->l3 + 40;
		if (next == 60) {
			next = f[r->l4];
			r->l4 += (f[r->l4 + 1] + 1u) * 8;
		}
		r->proto = next;
		r->l4_len = get16(f + r->l3 + 4) - (r->l4 - r->l3 - 40);
	} else {
		return false;
	}
	r->l4_hlen = r->proto == 6 ? (f[r->l4 + 12] >> 4) * 4u : 8;
	return r->l4 + r->l4_len <= len;
}

static inline bool ref_ipv4_ok(const uint8_t *f, const struct ref_hdrs *r)
{
	return r->ipv != 4 || ref_fold(ref_sum(0, f + r->l3, r->l4 - r->l3)) == 0xffff;
}

static inline bool ref_l4_ok(const uint8_t *f, const struct ref_hdrs *r)
{
	uint64_t ps = ref_pseudo(f, r->l3, r->ipv, r->proto, r->l4_len);

	return ref_fold(ref_sum(ps, f + r->l4, r->l4_len)) == 0xffff;
}

/* The L4 checksum field of a parsed frame, as a big-endian number. */
static inline uint16_t ref_field(const uint8_t *f, const struct ref_hdrs *r)
{
	return get16(f + r->l4 + (r->proto == 6 ? 16 : 6));
}

/* --- packets of frames ------------------------------------------------- */

/* A packet of f[0..len) cut at the ascending offsets cuts[0..n-1] (cuts
 * outside (0, len) are skipped); segments come from pool in order. */
static inline struct weir_pkt *mkchain(struct weir_pool *pool, const uint8_t *f, uint32_t len,
				       const uint32_t *cuts, int n)
{
	struct weir_pkt *head = NULL;
	uint32_t from = 0;

	for (int i = 0; i <= n; i++) {
		uint32_t to = i < n ? cuts[i] : len;
		struct weir_pkt *s;

		if (i < n && (to <= from || to >= len))
			continue;
		s = weir_pkt_alloc(pool);
		cr_assert_not_null(s, "pool empty");
		cr_assert_leq(to - from, weir_pkt_tailroom(s), "segment too long for the pool");
		memcpy(weir_pkt_put(s, (uint16_t)(to - from)), f + from, to - from);
		if (!head)
			head = s;
		else
			cr_assert_eq(weir_pkt_chain(head, s), 0);
		from = to;
	}
	return head;
}

/* The whole packet's bytes (at most cap). */
static inline uint32_t flat(const struct weir_pkt *p, uint8_t *dst, uint32_t cap)
{
	cr_assert_leq(p->pkt_len, cap);
	cr_assert_eq(weir_pkt_copy_out(p, 0, p->pkt_len, dst), 0);
	return p->pkt_len;
}

#endif
