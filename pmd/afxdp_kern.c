// SPDX-License-Identifier: (GPL-2.0-only OR BSD-3-Clause)
/*
 * weir's XDP steering program for the AF_XDP driver (pmd/afxdp.c): sends
 * to the queue's AF_XDP socket only the frames weir asked for and passes
 * every other frame to the kernel's stack, so the host keeps answering
 * ping, ARP and its own sockets on an interface weir also uses.
 *
 * The match is set from user space through the one-entry `weir_steer`
 * array (no recompilation): an EtherType, a UDP destination port (IPv4 or
 * IPv6, after at most one VLAN tag), or neither (everything goes to weir).
 * Both given means either matches. Counters per CPU in `weir_steer_stats`.
 *
 * Built with clang -target bpf at build time and embedded in libweir;
 * section "xdp.frags" marks it safe for multi-buffer frames: it reads only
 * the headers, which are always in the first buffer.
 *
 * With gso_rx (skb mode), frames longer than `pass_over` are passed to the
 * kernel whatever they hold: they are GSO super-frames, and the driver's
 * packet socket takes them with the kernel's metadata (afxdp_gso.c). So are
 * the short frames of a TCP or UDP flow that sent a super-frame in the last
 * second (weir_gso_flows), so that one flow's frames keep one channel and
 * their order: without steering every frame the program passes is weir's,
 * and the packet socket takes them all (with steering, it takes only the
 * super-frames, and short frames keep the XDP ring).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "afxdp_steer.h"

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct weir_steer_cfg);
} weir_steer SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STEER_STAT_NR);
	__type(key, __u32);
	__type(value, __u64);
} weir_steer_stats SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* gso_rx: the flows that sent a super-frame lately, by flow key: their
 * short frames are passed too, so that a flow's frames all take one
 * channel (the packet socket) and keep their order. */
struct flow_key {
	__u32 src, dst; /* IPv6 addresses folded */
	__u32 ports;
	__u32 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct flow_key);
	__type(value, __u64);
} weir_gso_flows SEC(".maps");

/* When the last super-frame was seen, of any flow: while none was lately,
 * short frames skip the flow lookup (a 64-byte flood pays one clock read). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} weir_gso_last SEC(".maps");

/* A flow stays on the packet socket this long after its last super-frame. */
#define GSO_FLOW_NS (1000ull * 1000 * 1000)

static __always_inline void count(__u32 what)
{
	__u64 *c = bpf_map_lookup_elem(&weir_steer_stats, &what);

	if (c)
		*c += 1;
}

static __always_inline int udp_dport_matches(void *l4, void *end, __u16 port)
{
	struct udphdr *udp = l4;

	if ((void *)(udp + 1) > end)
		return 0;
	return udp->dest == bpf_htons(port);
}

/* The frame's network header and EtherType after at most one VLAN tag
 * into *l3 and *proto: 1, or 0 when the frame is too short. */
static __always_inline int l3_of(struct xdp_md *ctx, void **l3, __u16 *proto)
{
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = (void *)(long)ctx->data;

	if ((void *)(eth + 1) > end)
		return 0;
	*proto = bpf_ntohs(eth->h_proto);
	*l3 = eth + 1;
	if (*proto == ETH_P_8021Q || *proto == ETH_P_8021AD) {
		struct vlan_hdr *vh = *l3;

		if ((void *)(vh + 1) > end)
			return 0;
		*proto = bpf_ntohs(vh->proto);
		*l3 = vh + 1;
	}
	return 1;
}

static __always_inline int wanted(struct xdp_md *ctx, const struct weir_steer_cfg *cfg)
{
	void *end = (void *)(long)ctx->data_end;
	void *l3;
	__u16 proto;

	if (!l3_of(ctx, &l3, &proto))
		return 0;
	if (cfg->ethertype && proto == cfg->ethertype)
		return 1;
	if (!cfg->udp_port)
		return 0;
	if (proto == ETH_P_IP) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP || ip->ihl < 5)
			return 0;
		/* Only first fragments carry the UDP header. */
		if (ip->frag_off & bpf_htons(0x1fff))
			return 0;
		return udp_dport_matches((__u8 *)ip + ip->ihl * 4, end, cfg->udp_port);
	}
	if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
			return 0;
		return udp_dport_matches(ip6 + 1, end, cfg->udp_port);
	}
	return 0;
}

/* The frame's TCP or UDP flow into *k (IPv4 or IPv6, after at most one
 * VLAN tag): 1, or 0 for anything else. */
static __always_inline int flow_of(struct xdp_md *ctx, struct flow_key *k)
{
	void *end = (void *)(long)ctx->data_end;
	__u32 *l4;
	void *l3;
	__u16 proto;

	if (!l3_of(ctx, &l3, &proto))
		return 0;
	if (proto == ETH_P_IP) {
		struct iphdr *ip = l3;

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return 0;
		k->src = ip->saddr;
		k->dst = ip->daddr;
		k->proto = ip->protocol;
		l4 = (void *)((__u8 *)ip + ip->ihl * 4);
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = l3;

		if ((void *)(ip6 + 1) > end)
			return 0;
		k->src = ip6->saddr.in6_u.u6_addr32[0] ^ ip6->saddr.in6_u.u6_addr32[1] ^
			 ip6->saddr.in6_u.u6_addr32[2] ^ ip6->saddr.in6_u.u6_addr32[3];
		k->dst = ip6->daddr.in6_u.u6_addr32[0] ^ ip6->daddr.in6_u.u6_addr32[1] ^
			 ip6->daddr.in6_u.u6_addr32[2] ^ ip6->daddr.in6_u.u6_addr32[3];
		k->proto = ip6->nexthdr;
		l4 = (void *)(ip6 + 1);
	} else {
		return 0;
	}
	if ((k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP) || (void *)(l4 + 1) > end)
		return 0;
	k->ports = *l4;
	return 1;
}

/* gso_rx: 1 when the frame goes to the kernel's stack (the packet socket):
 * a super-frame, or (flows) a frame of a flow that sent one lately. */
static __always_inline int gso_pass(struct xdp_md *ctx, __u32 pass_over, int flows)
{
	struct flow_key k = {0};
	__u32 zero = 0;
	__u64 now, *seen, *last = bpf_map_lookup_elem(&weir_gso_last, &zero);

	if (bpf_xdp_get_buff_len(ctx) > pass_over) {
		count(STEER_STAT_PASS_BIG);
		if (!flows || !last || !flow_of(ctx, &k))
			return 1;
		/* Written at most 16 times per period: every CPU reads them. */
		now = bpf_ktime_get_ns();
		if (now - *last > GSO_FLOW_NS / 16)
			*last = now;
		seen = bpf_map_lookup_elem(&weir_gso_flows, &k);
		if (!seen || now - *seen > GSO_FLOW_NS / 16)
			bpf_map_update_elem(&weir_gso_flows, &k, &now, BPF_ANY);
		return 1;
	}
	if (!flows || !last)
		return 0;
	now = bpf_ktime_get_ns();
	if (now - *last > GSO_FLOW_NS || !flow_of(ctx, &k))
		return 0;
	seen = bpf_map_lookup_elem(&weir_gso_flows, &k);
	if (!seen || now - *seen > GSO_FLOW_NS)
		return 0;
	count(STEER_STAT_PASS_FLOW);
	return 1;
}

SEC("xdp.frags")
int weir_xsk_steer(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct weir_steer_cfg *cfg = bpf_map_lookup_elem(&weir_steer, &zero);

	/* Steering passes the host's frames too: the packet socket then
	 * takes only super-frames, and flows do not stick. */
	if (cfg && cfg->pass_over && gso_pass(ctx, cfg->pass_over, !cfg->enabled))
		return XDP_PASS;
	if (!cfg || (cfg->enabled && !wanted(ctx, cfg))) {
		count(STEER_STAT_PASS);
		return XDP_PASS;
	}
	count(STEER_STAT_REDIRECT);
	/* No socket bound on this queue: the kernel keeps the frame. */
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "Dual BSD/GPL";
