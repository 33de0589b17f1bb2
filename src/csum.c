// SPDX-License-Identifier: BSD-3-Clause
/*
 * The Internet checksum (RFC 1071) over buffers and packet chains, the
 * TCP/UDP pseudo-headers, and completing a partial checksum.
 *
 * One pass, 64-bit accumulators: the ones'-complement sum of 16-bit words
 * equals the sum of 64-bit words with end-around carry, folded (RFC 1071
 * §2(C), "parallel summation"), so the loop adds 8 bytes per step with an
 * add-with-carry and never looks at single bytes except the last < 8. Two
 * accumulators let two carry chains run side by side. Words are loaded in
 * host order (byte-order independence, §2(B)); see weir/offload.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "offload_internal.h"
#include "weir/offload.h"

static inline uint64_t add64(uint64_t a, uint64_t b)
{
	uint64_t s;

	/* Compiles to add + adc: the carry goes back in at the bottom. */
	return __builtin_add_overflow(a, b, &s) ? s + 1 : s;
}

/* An unaligned 8-byte load; one mov on hosts that allow it. */
static inline uint64_t load64(const uint8_t *b)
{
	uint64_t w;

	memcpy(&w, b, 8);
	return w;
}

static inline uint32_t fold64(uint64_t s)
{
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffffffffu) + (s >> 32);
	return (uint32_t)s;
}

uint32_t weir_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint64_t s0 = sum, s1 = 0;

	for (; len >= 32; len -= 32, b += 32) {
		s0 = add64(s0, load64(b));
		s1 = add64(s1, load64(b + 8));
		s0 = add64(s0, load64(b + 16));
		s1 = add64(s1, load64(b + 24));
	}
	for (; len >= 8; len -= 8, b += 8)
		s0 = add64(s0, load64(b));
	if (len) {
		/* The tail in the low addresses of a zeroed word: zero padding
		 * after it, in memory order, whatever the host's byte order. */
		uint64_t w = 0;

		memcpy(&w, b, len);
		s1 = add64(s1, w);
	}
	return fold64(add64(s0, s1));
}

uint32_t weir_csum_pseudo_ipv4(const void *saddr, const void *daddr, uint8_t proto,
			       uint32_t l4_len)
{
	uint32_t s, d;
	uint64_t sum;

	memcpy(&s, saddr, 4);
	memcpy(&d, daddr, 4);
	/* zero, proto, 16-bit length (RFC 793 §3.1). As two 32-bit words
	 * (0, 0, 0, proto) and the length in 32 bits they sum the same while
	 * the length fits 16 bits, and the code is IPv6's. */
	sum = (uint64_t)s + d + htonl(proto) + htonl(l4_len);
	return fold64(sum);
}

uint32_t weir_csum_pseudo_ipv6(const void *saddr, const void *daddr, uint8_t proto,
			       uint32_t l4_len)
{
	uint64_t sum;

	/* source, destination, 32-bit length, 24 zero bits, next header
	 * (RFC 8200 §8.1). */
	sum = weir_csum_add(0, saddr, 16);
	sum += weir_csum_add(0, daddr, 16);
	sum += htonl(proto);
	sum += htonl(l4_len);
	return fold64(sum);
}

uint32_t weir_pkt_csum(const struct weir_pkt *p, uint32_t off, uint32_t len, uint32_t sum)
{
	const struct weir_pkt *s = p;
	uint32_t pos = 0; /* bytes summed so far: their parity places the next */

	if ((uint64_t)off + len > p->pkt_len)
		len = off < p->pkt_len ? p->pkt_len - off : 0;
	for (uint32_t seg = 0; s && off >= s->data_len && seg <= WEIR_PKT_MAX_SEGS; seg++) {
		off -= s->data_len;
		s = s->next;
	}
	for (; len && s; s = s->next, off = 0) {
		uint32_t n = WEIR_MIN((uint32_t)s->data_len - off, len);

		sum = weir_csum_block_add(sum, weir_csum_add(0, weir_pkt_data(s) + off, n), pos);
		pos += n;
		len -= n;
	}
	return sum;
}

/* The segment holding byte off of p, and off within it; NULL past the end. */
static struct weir_pkt *seg_at(struct weir_pkt *p, uint32_t *off)
{
	for (uint32_t seg = 0; p && *off >= p->data_len && seg <= WEIR_PKT_MAX_SEGS; seg++) {
		*off -= p->data_len;
		p = p->next;
	}
	return p;
}

/* Bytes another packet sees are not ours to change (the rule
 * qd_ecn_set_ce() follows as well). */
static bool seg_writable(const struct weir_pkt *s)
{
	return !(s->flags & WEIR_PKT_F_INDIRECT) && weir_pkt_refcnt(s) == 1;
}

int ol_csum_store(struct weir_pkt *p, uint32_t start, uint32_t end, uint32_t field, bool udp)
{
	uint32_t o0 = field, o1 = field + 1;
	struct weir_pkt *s0 = seg_at(p, &o0), *s1 = seg_at(p, &o1);
	uint16_t ck;

	if (!s0 || !s1)
		return -EINVAL;
	if (!seg_writable(s0) || !seg_writable(s1))
		return -EPERM; /* before paying for the pass over the payload */
	ck = (uint16_t)~weir_csum_fold(weir_pkt_csum(p, start, end - start, 0));
	if (ck == 0 && udp)
		ck = 0xffff;
	/* Memory order, byte by byte: the field may straddle two segments. */
	weir_pkt_data(s0)[o0] = ((const uint8_t *)&ck)[0];
	weir_pkt_data(s1)[o1] = ((const uint8_t *)&ck)[1];
	return 0;
}

int weir_pkt_csum_complete(struct weir_pkt *p)
{
	uint32_t start = p->csum_start, field = start + p->csum_offset;
	int err;

	if (!(p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) || field + 2 > p->pkt_len)
		return -EINVAL;
	err = ol_csum_store(p, start, p->pkt_len, field, p->csum_offset == 6);
	if (err)
		return err;
	p->ol_flags = (uint16_t)((p->ol_flags & ~WEIR_PKT_OL_CSUM_PARTIAL) |
				 WEIR_PKT_OL_CSUM_VALID);
	return 0;
}
