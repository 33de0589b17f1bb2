// SPDX-License-Identifier: BSD-3-Clause
/*
 * ICMP (RFC 792, RFC 1122 §3.2.2): echo replies and the errors a host
 * sends (port and protocol unreachable, reassembly time exceeded) or a
 * router asks for through weir_stack_icmp_error().
 *
 * An echo reply is the request itself: the type is rewritten in place and
 * the checksum updated incrementally (RFC 1624), the addresses swapped by
 * building a fresh IP header in front, so a 64 KiB reassembled ping goes
 * back as fragments of its own buffers. Only when the ICMP header's bytes
 * are shared or split across segments is the request copied first.
 *
 * Errors are never sent about ICMP errors, broadcasts, multicasts,
 * non-first fragments, or to addresses no host has (RFC 1122 §3.2.2), and
 * are rate-limited by a token bucket (icmp_rate, icmp_burst) as Linux's
 * icmp_ratelimit; echo replies have their own bucket, unlimited unless
 * echo_rate is set. No reply goes to a broadcast or multicast echo.
 */
#include <errno.h>

#include "stack_internal.h"
#include "weir/offload.h"
#include "weir/proto/icmp.h"

/* Bytes of the offending datagram quoted in an error: what fits a 576-byte
 * datagram with our IP and ICMP headers, as Linux sends. */
#define ICMP_QUOTE_MAX (576 - WEIR_IPV4_HDR_LEN - WEIR_ICMP_HDR_LEN)

static bool is_error_type(uint8_t type)
{
	return type == WEIR_ICMP_DEST_UNREACH || type == WEIR_ICMP_SOURCE_QUENCH ||
	       type == WEIR_ICMP_REDIRECT || type == WEIR_ICMP_TIME_EXCEEDED ||
	       type == WEIR_ICMP_PARAM_PROBLEM;
}

/* p: data at the ICMP header, ours to change. Sends it back to ip->saddr. */
static void echo_reply(struct weir_stack *st, struct weir_pkt *p, const struct sk_ip_info *ip)
{
	struct sk_iface *ifc;
	uint16_t old, new, ck;
	uint32_t nexthop;
	bool bcast;
	uint8_t *h = weir_pkt_data(p);

	/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), on the type/code word. */
	memcpy(&old, h, 2);
	h[0] = WEIR_ICMP_ECHO_REPLY;
	memcpy(&new, h, 2);
	memcpy(&ck, h + 2, 2);
	ck = (uint16_t)~weir_csum_fold((uint32_t)(uint16_t)~ck + (uint16_t)~old + new);
	memcpy(h + 2, &ck, 2);
	p->ol_flags &= (uint16_t)~(WEIR_PKT_OL_CSUM_PARTIAL | WEIR_PKT_OL_CSUM_VALID);
	p->gso_type = WEIR_PKT_GSO_NONE;
	if (sk_ipv4_route(st, ip->saddr, &ifc, &nexthop, &bcast)) {
		st->st.ip_drop_no_route++;
		weir_pkt_free(p);
		return;
	}
	if (sk_ipv4_output(st, ifc, p, ip->daddr, ip->saddr, nexthop, WEIR_IPPROTO_ICMP, bcast)) {
		st->st.icmp_drop_nobufs++;
		weir_pkt_free(p);
		return;
	}
	st->st.icmp_tx_echo_replies++;
}

static void echo_request(struct weir_stack *st, struct weir_pkt *p, const struct sk_ip_info *ip)
{
	int err;

	st->st.icmp_rx_echo_requests++;
	if (ip->bcast) {
		st->st.icmp_rx_echo_bcast++;
		goto drop;
	}
	if (!sk_bucket_take(&st->echo_tb, st->now)) {
		st->st.icmp_drop_rate_limited++;
		goto drop;
	}
	sk_pull(&p, ip->ihl); /* the caller checked ihl + 8 <= pkt_len */
	if (p->data_len < WEIR_ICMP_HDR_LEN || !sk_seg_writable(p)) {
		struct weir_pkt *c = NULL;

		err = weir_pkt_copy(p, st->pool, &c);
		weir_pkt_free(p);
		if (err) {
			st->st.icmp_drop_nobufs++;
			return;
		}
		p = c;
	}
	echo_reply(st, p, ip);
	return;
drop:
	weir_pkt_free(p);
}

void sk_icmp_input(struct weir_stack *st, struct weir_pkt *p, const struct sk_ip_info *ip)
{
	uint32_t len = p->pkt_len - ip->ihl;
	struct weir_icmp_hdr h;

	st->st.icmp_rx_packets++;
	if (len < WEIR_ICMP_HDR_LEN || weir_pkt_copy_out(p, ip->ihl, sizeof(h), &h)) {
		st->st.icmp_rx_short++;
		goto drop;
	}
	if (weir_csum_fold(weir_pkt_csum(p, ip->ihl, len, 0)) != 0xffff) {
		st->st.icmp_rx_csum++;
		goto drop;
	}
	if (h.type == WEIR_ICMP_ECHO_REQUEST) {
		echo_request(st, p, ip);
		return;
	}
	if (is_error_type(h.type))
		st->st.icmp_rx_errors++;
	else
		st->st.icmp_rx_other++;
drop:
	weir_pkt_free(p);
}

/* RFC 1122 §3.2.2's list of what must not trigger an error. */
static bool error_allowed(const struct weir_pkt *orig, const struct weir_ipv4_hdr *ip,
			  unsigned ihl, uint32_t saddr, uint32_t daddr)
{
	uint8_t type;

	if (!saddr || saddr == 0xffffffffu || sk_addr_is_mcast(saddr) || (saddr >> 24) == 127 ||
	    (saddr >> 24) == 0 || daddr == 0xffffffffu || sk_addr_is_mcast(daddr))
		return false;
	if (ntohs(ip->frag_off) & WEIR_IPV4_OFFMASK)
		return false;
	if (ip->proto == WEIR_IPPROTO_ICMP &&
	    (weir_pkt_copy_out(orig, ihl, 1, &type) || is_error_type(type)))
		return false;
	return true;
}

static struct weir_pkt *build_error(struct weir_stack *st, const struct weir_pkt *orig,
				    uint8_t type, uint8_t code, uint32_t word)
{
	uint32_t quote = WEIR_MIN(orig->pkt_len, ICMP_QUOTE_MAX);
	struct weir_pkt *p = sk_alloc(st->pool, (uint16_t)(WEIR_ICMP_HDR_LEN + quote));
	struct weir_icmp_hdr h = {.type = type, .code = code, .un.unused = word};
	uint8_t *d;

	if (!p)
		return NULL;
	d = weir_pkt_data(p);
	memcpy(d, &h, sizeof(h));
	weir_pkt_copy_out(orig, 0, quote, d + sizeof(h));
	h.check = (uint16_t)~weir_csum_fold(weir_csum_add(0, d, WEIR_ICMP_HDR_LEN + quote));
	memcpy(d + offsetof(struct weir_icmp_hdr, check), &h.check, 2);
	return p;
}

int sk_icmp_error(struct weir_stack *st, const struct weir_pkt *orig, uint8_t type, uint8_t code)
{
	return sk_icmp_error_word(st, orig, type, code, 0);
}

int sk_icmp_error_word(struct weir_stack *st, const struct weir_pkt *orig, uint8_t type,
		       uint8_t code, uint32_t word)
{
	struct weir_ipv4_hdr ip;
	struct sk_iface *ifc;
	struct weir_pkt *p;
	uint32_t saddr, daddr, nexthop, src;
	unsigned ihl;
	bool bcast;
	int err;

	if (weir_pkt_copy_out(orig, 0, sizeof(ip), &ip) || ip.ver_ihl >> 4 != 4 ||
	    (ihl = weir_ipv4_hdr_len(&ip)) < WEIR_IPV4_HDR_LEN || ihl > orig->pkt_len)
		return -EINVAL;
	memcpy(&saddr, ip.saddr, 4);
	memcpy(&daddr, ip.daddr, 4);
	saddr = ntohl(saddr);
	daddr = ntohl(daddr);
	if (!error_allowed(orig, &ip, ihl, saddr, daddr))
		return -EPERM;
	if (sk_ipv4_route(st, saddr, &ifc, &nexthop, &bcast)) {
		st->st.ip_drop_no_route++;
		return -ENETUNREACH;
	}
	if (bcast || sk_addr_is_bcast(ifc, daddr))
		return -EPERM;
	if (!sk_bucket_take(&st->icmp_tb, st->now)) {
		st->st.icmp_drop_rate_limited++;
		return -EAGAIN;
	}
	p = build_error(st, orig, type, code, word);
	if (!p) {
		st->st.icmp_drop_nobufs++;
		return -ENOBUFS;
	}
	/* From the address the offender was sent to when it is ours (so the
	 * sender can match it), else from the interface's. */
	src = sk_addr_is_local(st, daddr) ? daddr : ifc->addr;
	err = sk_ipv4_output(st, ifc, p, src, saddr, nexthop, WEIR_IPPROTO_ICMP, false);
	if (err) {
		st->st.icmp_drop_nobufs++;
		weir_pkt_free(p);
		return err;
	}
	st->st.icmp_tx_errors++;
	return 0;
}

int weir_stack_icmp_error(struct weir_stack *st, const struct weir_pkt *orig, uint8_t type,
			  uint8_t code)
{
	return sk_icmp_error(st, orig, type, code);
}

int weir_stack_icmp_frag_needed(struct weir_stack *st, const struct weir_pkt *orig, uint16_t mtu)
{
	struct weir_icmp_hdr h = {.un.frag.mtu = htons(mtu)};

	return sk_icmp_error_word(st, orig, WEIR_ICMP_DEST_UNREACH, WEIR_ICMP_FRAG_NEEDED,
				  h.un.unused);
}
