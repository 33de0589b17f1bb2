// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the stack's whole receive path (stack/eth.c, arp.c, ipv4.c,
 * frag.c, icmp.c, udp.c) fed what any host on the link can send, and what
 * it answers with.
 *
 * Input: byte 0 configures the stack (bit 0: the interface offloads
 * checksums; bit 1: tiny reassembly budgets; bit 2: echo what the UDP
 * socket receives back to its sender). Then records, each
 *     len (2 bytes, big-endian, at most 9000) | ctl (1 byte) | len bytes
 * a frame for port 0 (an untagged interface 10.0.0.1/24 and VLAN 10 with
 * 192.168.1.1/24; a UDP socket on port 7; a default route via 10.0.0.254).
 * ctl bits 0-5 cut the frame into segments of that many bytes (0: one
 * segment), bit 6 marks the checksum as verified (CSUM_VALID), bit 7 as
 * partial; each frame advances the clock by 10 ms. A record of length 0
 * advances it by ctl x 100 ms and runs the timers.
 *
 * Properties beyond "no crash, no out-of-bounds access": every frame the
 * stack sends is well-formed (chain lengths, our source MAC, ARP fields,
 * IPv4 header checksum and total length, complete UDP and ICMP checksums
 * where not partial or fragmented); the budgets hold after every frame
 * (reassembly memory, packets waiting for ARP, output queues); and once
 * the timers have run far enough everything is released: no packet buffer
 * is left out of the pool.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/stack.h"
#include "weir/udp.h"

#define FRAME_MAX 9000
#define TXQ_LEN 256

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct weir_pool *pool;
static uint8_t flat[70000];
static const uint8_t mac0[6] = {0x02, 0, 0, 0, 0, 1};

#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "fuzz_stack_rx: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                          \
		}                                                                         \
	} while (0)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err;

	(void)argc, (void)argv;
	err = weir_pool_create(&(struct weir_pool_conf){.name = "fuzz", .n = 4096, .huge = 2}, &pool);
	if (err || !pool)
		abort();
	return 0;
}

static uint32_t sum16(uint32_t s, const uint8_t *b, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* The L4 checks of an unfragmented IPv4 datagram at ip (tot bytes). */
static void check_l4(const struct weir_pkt *p, const uint8_t *ip, unsigned ihl, uint32_t tot,
		     uint32_t l2)
{
	const uint8_t *l4 = ip + ihl;
	uint32_t len = tot - ihl;

	if (ip[9] == 17) {
		CHECK(len >= 8 && rd16(l4 + 4) == len);
		if (p->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) {
			CHECK(p->csum_start == l2 + ihl && p->csum_offset == 6);
			return;
		}
		CHECK(rd16(l4 + 6) != 0);
		CHECK(fold(sum16(17 + len, ip + 12, 8) + sum16(0, l4, len)) == 0xffff);
	} else if (ip[9] == 1) {
		CHECK(len >= 8);
		CHECK(fold(sum16(0, l4, len)) == 0xffff);
	}
}

/* A frame the stack wants sent, checked and freed. */
static void check_out(struct weir_pkt *p)
{
	uint32_t n = 0, segs = 0, len = p->pkt_len, l2 = 14;
	uint16_t type;

	for (const struct weir_pkt *s = p; s; s = s->next, segs++)
		n += s->data_len;
	CHECK(n == len && segs == p->nb_segs && segs <= WEIR_PKT_MAX_SEGS);
	CHECK(len >= 14 && len <= sizeof(flat));
	CHECK(weir_pkt_copy_out(p, 0, len, flat) == 0);
	CHECK(!memcmp(flat + 6, mac0, 6));
	type = rd16(flat + 12);
	if (type == 0x8100) {
		CHECK((rd16(flat + 14) & 0xfff) == 10);
		type = rd16(flat + 16);
		l2 = 18;
	}
	if (type == 0x0806) {
		CHECK(len >= l2 + 28 && rd16(flat + l2) == 1 && rd16(flat + l2 + 2) == 0x0800);
		CHECK(!memcmp(flat + l2 + 8, mac0, 6));
	} else {
		const uint8_t *ip = flat + l2;
		unsigned ihl;

		CHECK(type == 0x0800 && len >= l2 + 20);
		ihl = (ip[0] & 0xfu) * 4;
		CHECK(ip[0] >> 4 == 4 && ihl >= 20 && len >= l2 + ihl);
		CHECK(fold(sum16(0, ip, ihl)) == 0xffff);
		CHECK(rd16(ip + 2) == len - l2);
		CHECK(len - l2 <= 1500);
		if (!(rd16(ip + 6) & 0x3fff))
			check_l4(p, ip, ihl, len - l2, l2);
	}
	weir_pkt_free(p);
}

static void drain(struct weir_stack *st)
{
	struct weir_pkt *p[64];

	for (uint16_t i = 0; i < weir_stack_nb_ifaces(st); i++) {
		uint16_t n;

		while ((n = weir_stack_drain(st, i, p, 64)))
			for (uint16_t k = 0; k < n; k++)
				check_out(p[k]);
	}
}

static uint64_t xstat(const struct weir_stack *st, const char *name)
{
	uint64_t v = 0;

	CHECK(weir_stack_xstat(st, name, &v) == 0);
	return v;
}

static void check_budgets(const struct weir_stack *st)
{
	CHECK(xstat(st, "frag_mem_bytes") <= xstat(st, "frag_budget_bytes"));
	CHECK(xstat(st, "neigh_queued") <= 32);
	for (uint16_t i = 0; i < weir_stack_nb_ifaces(st); i++)
		CHECK(weir_stack_pending(st, i) <= TXQ_LEN);
}

static struct weir_stack *make_stack(uint8_t cfg)
{
	struct weir_stack *st;
	char why[256];
	int err;
	uint32_t off = cfg & 1 ? WEIR_PORT_OFFLOAD_CSUM : 0;

	st = weir_stack_create(&(struct weir_stack_conf){
				       .pool = pool,
				       .seed = 1,
				       .tx_queue_len = TXQ_LEN,
				       .neigh_max = 16,
				       .neigh_queue = 8,
				       .neigh_queue_total = 32,
				       .frag_budget = cfg & 2 ? 16 << 10 : 512 << 10,
				       .frag_budget_source = cfg & 2 ? 4 << 10 : 256 << 10,
			       },
			       &err);
	CHECK(st);
	CHECK(weir_stack_iface_add(st,
				   &(struct weir_stack_iface_conf){.mac = {0x02, 0, 0, 0, 0, 1},
								  .addr = 0x0a000001,
								  .prefix = 24,
								  .tx_offloads = off},
				   why, sizeof(why)) == 0);
	CHECK(weir_stack_iface_add(st,
				   &(struct weir_stack_iface_conf){.mac = {0x02, 0, 0, 0, 0, 1},
								  .addr = 0xc0a80101,
								  .prefix = 24,
								  .vlan = 10,
								  .tx_offloads = off},
				   why, sizeof(why)) == 1);
	CHECK(weir_stack_route_cmd(st, "add default via 10.0.0.254", why, sizeof(why)) == 0);
	return st;
}

/* One frame of the input into the stack. */
static void feed(struct weir_stack *st, const uint8_t *f, size_t len, uint8_t ctl, weir_ns_t now)
{
	size_t seg = ctl & 0x3f, off = 0;
	struct weir_pkt *head = NULL;

	if (seg && (len + seg - 1) / seg > 200)
		seg = 0;
	do {
		struct weir_pkt *p = weir_pkt_alloc(pool);
		size_t n = len - off;

		CHECK(p);
		n = WEIR_MIN(n, weir_pkt_tailroom(p));
		if (seg)
			n = WEIR_MIN(n, seg);
		if (n)
			memcpy(weir_pkt_put(p, (uint16_t)n), f + off, n);
		off += n;
		if (!head)
			head = p;
		else
			CHECK(weir_pkt_chain(head, p) == 0);
	} while (off < len);
	head->port = 0;
	if (ctl & 0x40)
		head->ol_flags |= WEIR_PKT_OL_CSUM_VALID;
	if (ctl & 0x80)
		head->ol_flags |= WEIR_PKT_OL_CSUM_PARTIAL;
	weir_stack_input(st, &head, 1, now);
}

/* What the socket got: checked, echoed or freed. */
static void serve(struct weir_udp_sock *s, bool echo)
{
	struct weir_pkt *p[32];
	struct weir_udp_addr from[32];
	uint16_t n;

	while ((n = weir_udp_recv_burst(s, p, from, 32))) {
		for (uint16_t i = 0; i < n; i++) {
			uint32_t segs = 0, bytes = 0;

			for (const struct weir_pkt *q = p[i]; q; q = q->next, segs++)
				bytes += q->data_len;
			CHECK(bytes == p[i]->pkt_len && segs == p[i]->nb_segs);
			CHECK(p[i]->pkt_len <= 65507);
			if (!echo || weir_udp_sendto(s, p[i], &from[i]))
				weir_pkt_free(p[i]);
		}
	}
}

/* WEIR_FUZZ_VERBOSE=1: the non-zero counters of each input, to see what a
 * seed reaches. */
static void print_counters(const struct weir_stack *st)
{
	struct weir_xstat xs[256];
	int n = weir_stack_xstats(st, xs, 256);

	for (int i = 0; i < n && i < 256; i++)
		if (xs[i].value)
			fprintf(stderr, " %s=%llu", xs[i].name, (unsigned long long)xs[i].value);
	fprintf(stderr, "\n");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weir_stack *st;
	struct weir_udp_sock *s;
	weir_ns_t now = WEIR_NS_PER_SEC;
	size_t pos = 1;
	uint8_t cfg;
	int err;

	if (!size)
		return 0;
	cfg = data[0];
	st = make_stack(cfg);
	s = weir_udp_open(st, NULL, &err);
	CHECK(s && weir_udp_bind(s, 0, 7) == 0);
	while (pos + 3 <= size) {
		size_t len = (size_t)data[pos] << 8 | data[pos + 1];
		uint8_t ctl = data[pos + 2];

		pos += 3;
		len = WEIR_MIN(WEIR_MIN(len, (size_t)FRAME_MAX), size - pos);
		if (!len) {
			now += ctl * 100 * WEIR_NS_PER_MS;
			weir_stack_timer(st, now);
		} else {
			now += 10 * WEIR_NS_PER_MS;
			feed(st, data + pos, len, ctl, now);
		}
		pos += len;
		check_budgets(st);
		serve(s, cfg & 4);
		check_budgets(st);
		if (weir_stack_pending(st, 0) > TXQ_LEN / 2)
			drain(st);
	}
	drain(st);
	/* Long enough for every ARP retry, stale entry and reassembly. */
	for (int i = 0; i < 6; i++) {
		now += 40 * WEIR_NS_PER_SEC;
		weir_stack_timer(st, now);
		drain(st);
	}
	CHECK(xstat(st, "frag_mem_bytes") == 0);
	CHECK(xstat(st, "neigh_queued") == 0);
	if (getenv("WEIR_FUZZ_VERBOSE"))
		print_counters(st);
	weir_udp_close(s);
	weir_stack_destroy(st);
	CHECK(weir_pool_in_use(pool) == 0);
	return 0;
}
