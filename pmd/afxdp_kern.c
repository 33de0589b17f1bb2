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
 * packet socket takes them with the kernel's metadata (afxdp_gso.c).
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

static __always_inline int wanted(struct xdp_md *ctx, const struct weir_steer_cfg *cfg)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *l3;
	__u16 proto;

	if ((void *)(eth + 1) > end)
		return 0;
	proto = bpf_ntohs(eth->h_proto);
	l3 = eth + 1;
	if (proto == ETH_P_8021Q || proto == ETH_P_8021AD) {
		struct vlan_hdr *vh = l3;

		if ((void *)(vh + 1) > end)
			return 0;
		proto = bpf_ntohs(vh->proto);
		l3 = vh + 1;
	}
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

SEC("xdp.frags")
int weir_xsk_steer(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct weir_steer_cfg *cfg = bpf_map_lookup_elem(&weir_steer, &zero);

	if (cfg && cfg->pass_over && bpf_xdp_get_buff_len(ctx) > cfg->pass_over) {
		count(STEER_STAT_PASS_BIG);
		return XDP_PASS;
	}
	if (!cfg || (cfg->enabled && !wanted(ctx, cfg))) {
		count(STEER_STAT_PASS);
		return XDP_PASS;
	}
	count(STEER_STAT_REDIRECT);
	/* No socket bound on this queue: the kernel keeps the frame. */
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "Dual BSD/GPL";
