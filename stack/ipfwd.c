// SPDX-License-Identifier: BSD-3-Clause
/*
 * IPv4 forwarding decisions (include/weir/ipfwd.h): the checks RFC 1812
 * asks of a router before it forwards (§5.2.2 header validation, §5.3.7
 * martian addresses, §5.3.5.2 directed broadcasts off by default as RFC
 * 2644 says, §5.3.1 TTL), and fragmentation of what it forwards (RFC 791
 * §3.2), with the payload never copied: each fragment is a fresh header
 * segment chained in front of indirect slices of the original, as the
 * stack's own output fragments are (ipv4.c).
 */
#include <errno.h>

#include "stack_internal.h"
#include "weir/ipfwd.h"
#include "weir/offload.h"

#define IPOPT_END 0
#define IPOPT_NOP 1
#define IPOPT_COPIED 0x80

int weir_ipfwd_addrs_add(struct weir_ipfwd_addrs *a, uint32_t addr, uint8_t prefix)
{
	if (prefix > 32 || !addr)
		return -EINVAL;
	if (a->n >= WEIR_IPFWD_ADDRS_MAX)
		return -ENOSPC;
	a->addr[a->n] = addr;
	a->bcast[a->n] = prefix < 31 ? addr | ~weir_route_mask(prefix) : 0;
	a->n++;
	return 0;
}

static bool is_ours(const struct weir_ipfwd_addrs *a, uint32_t x)
{
	for (uint16_t i = 0; i < a->n; i++)
		if (a->addr[i] == x)
			return true;
	return false;
}

static bool is_bcast(const struct weir_ipfwd_addrs *a, uint32_t x)
{
	for (uint16_t i = 0; i < a->n; i++)
		if (a->bcast[i] && a->bcast[i] == x)
			return true;
	return false;
}

static bool martian_src(const struct weir_ipfwd_addrs *a, uint32_t s)
{
	return (s >> 24) == 0 || (s >> 24) == 127 || s == 0xffffffffu || sk_addr_is_mcast(s) ||
	       is_bcast(a, s) || is_ours(a, s);
}

enum weir_ipfwd_verdict weir_ipfwd_classify(const struct weir_ipfwd_addrs *a, const uint8_t *ip,
					    uint32_t hdr_avail, uint32_t ip_len,
					    struct weir_ipfwd_hdr *h)
{
	unsigned ihl, tot;
	uint32_t s, d;

	if (hdr_avail < WEIR_IPV4_HDR_LEN || ip[0] >> 4 != 4)
		return WEIR_IPFWD_BAD_HDR;
	ihl = (ip[0] & 0xfu) * 4;
	tot = (unsigned)ip[2] << 8 | ip[3];
	if (ihl < WEIR_IPV4_HDR_LEN || ihl > hdr_avail || tot < ihl || tot > ip_len)
		return WEIR_IPFWD_BAD_HDR;
	/* A valid header sums to ones'-complement zero, 0xffff folded. */
	if (weir_csum_fold(weir_csum_add(0, ip, ihl)) != 0xffff)
		return WEIR_IPFWD_BAD_HDR;
	s = (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
	d = (uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
	*h = (struct weir_ipfwd_hdr){.saddr = s, .daddr = d, .tot_len = (uint16_t)tot,
				     .ihl = (uint8_t)ihl, .ttl = ip[8],
				     .df = (ip[6] & (WEIR_IPV4_DF >> 8)) != 0};
	if (d == 0xffffffffu || sk_addr_is_mcast(d) || is_ours(a, d))
		return WEIR_IPFWD_LOCAL;
	if (martian_src(a, s))
		return WEIR_IPFWD_MARTIAN_SRC;
	if ((d >> 24) == 0 || (d >> 24) == 127)
		return WEIR_IPFWD_MARTIAN_DST;
	if (is_bcast(a, d))
		return WEIR_IPFWD_BCAST;
	if (h->ttl <= 1)
		return WEIR_IPFWD_TTL_EXCEEDED;
	return WEIR_IPFWD_FORWARD;
}

const char *weir_ipfwd_verdict_name(enum weir_ipfwd_verdict v)
{
	static const char *const names[] = {
		[WEIR_IPFWD_FORWARD] = "forward",
		[WEIR_IPFWD_LOCAL] = "local",
		[WEIR_IPFWD_BAD_HDR] = "bad_header",
		[WEIR_IPFWD_MARTIAN_SRC] = "martian_source",
		[WEIR_IPFWD_MARTIAN_DST] = "martian_destination",
		[WEIR_IPFWD_BCAST] = "directed_broadcast",
		[WEIR_IPFWD_TTL_EXCEEDED] = "ttl_exceeded",
	};

	return (unsigned)v < WEIR_ARRAY_SIZE(names) ? names[v] : "unknown";
}

/* --- fragmentation ------------------------------------------------------ */

/* RFC 791 §3.1: options without the copied flag go in the first fragment
 * only. They become NOPs in the others (as Linux's ip_options_fragment),
 * so every fragment has the same header length. A malformed option list
 * is left as it is from there on (the header was valid for the sender). */
static void strip_uncopied(uint8_t *h, unsigned ihl)
{
	unsigned i = WEIR_IPV4_HDR_LEN;

	while (i < ihl && h[i] != IPOPT_END) {
		unsigned len;

		if (h[i] == IPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= ihl || (len = h[i + 1]) < 2 || i + len > ihl)
			return;
		if (!(h[i] & IPOPT_COPIED))
			memset(h + i, IPOPT_NOP, len);
		i += len;
	}
}

static void free_list(struct weir_pkt **out, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++)
		weir_pkt_free(out[i]);
}

/* Fragment k: its header (copied from hdr), then a slice of p. */
static struct weir_pkt *make_one(struct weir_pkt *p, struct weir_pool *pool, const uint8_t *hdr,
				 unsigned ihl, uint32_t off, uint32_t len, uint16_t frag,
				 int *err)
{
	struct weir_pkt *h = weir_pkt_alloc(pool), *slice;
	uint16_t tot = htons((uint16_t)(ihl + len)), fo = htons(frag);
	uint8_t *d;

	if (!h || !(d = weir_pkt_put(h, (uint16_t)ihl))) {
		weir_pkt_free(h);
		*err = -ENOBUFS;
		return NULL;
	}
	slice = sk_clone_range(p, ihl + off, len, pool, err);
	if (!slice || weir_pkt_chain(h, slice)) {
		if (slice)
			*err = -E2BIG; /* more than WEIR_PKT_MAX_SEGS segments */
		weir_pkt_free(slice);
		weir_pkt_free(h);
		return NULL;
	}
	memcpy(d, hdr, ihl);
	memcpy(d + 2, &tot, 2);
	memcpy(d + 6, &fo, 2);
	sk_ipv4_set_csum(d, ihl);
	sk_copy_meta(h, p);
	h->ol_flags &= (uint16_t)~(WEIR_PKT_OL_CSUM_PARTIAL | WEIR_PKT_OL_CSUM_VALID);
	h->gso_type = WEIR_PKT_GSO_NONE;
	h->gso_size = h->hdr_len = 0;
	h->l2_len = 0;
	h->l3_len = (uint16_t)ihl;
	return h;
}

int weir_ipfwd_fragment(struct weir_pkt *p, uint32_t mtu, struct weir_pool *pool,
			struct weir_pkt **out, uint16_t max)
{
	uint8_t first[WEIR_IPV4_HDR_MAX], rest[WEIR_IPV4_HDR_MAX];
	uint32_t payload, chunk, off;
	unsigned ihl;
	uint16_t fo, n = 0;
	int err = 0;

	if (mtu < 68 || weir_pkt_copy_out(p, 0, WEIR_IPV4_HDR_LEN, first) ||
	    (ihl = (first[0] & 0xfu) * 4) < WEIR_IPV4_HDR_LEN || ihl > p->pkt_len ||
	    weir_pkt_copy_out(p, 0, ihl, first) || weir_pkt_is_gso(p))
		return -EINVAL;
	payload = p->pkt_len - ihl;
	chunk = (mtu - ihl) & ~7u;
	if (mtu <= ihl || chunk < 8 || !payload)
		return -EINVAL;
	if ((payload + chunk - 1) / chunk > max)
		return -E2BIG;
	memcpy(rest, first, ihl);
	strip_uncopied(rest, ihl);
	fo = (uint16_t)((uint16_t)first[6] << 8 | first[7]);
	for (off = 0; off < payload; off += chunk) {
		uint32_t len = WEIR_MIN(chunk, payload - off);
		bool more = off + len < payload || (fo & WEIR_IPV4_MF);
		uint16_t frag = (uint16_t)(((fo & WEIR_IPV4_OFFMASK) + off / 8) |
					   (more ? WEIR_IPV4_MF : 0));

		out[n] = make_one(p, pool, off ? rest : first, ihl, off, len, frag, &err);
		if (!out[n]) {
			free_list(out, n);
			return err;
		}
		n++;
	}
	weir_pkt_free(p); /* the slices hold what they need of it */
	return n;
}
