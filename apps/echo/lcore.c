// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-echo's lcore: receives a burst on its queue, hands it to its stack
 * (which answers ARP and ping itself), takes what the UDP sockets received
 * and sends each datagram back to its source as it is (the payload stays
 * in the buffer it arrived in; headers are pushed in front), runs the
 * stack's timers, and transmits what the stack queued. With nothing to do
 * it sleeps on the port, the route-command mailbox and the stop flag.
 *
 * With several lcores, ARP replies are copied to every other lcore's
 * stack (see echo.h): the fanout hash that picks a queue knows nothing of
 * which stack asked.
 */
#include <string.h>

#include "weir/lcore.h"
#include "weir/port.h"
#include "weir/proto/ether.h"
#include "weir/ring.h"
#include "weir/stack.h"
#include "weir/udp.h"

#include "common/fastpath.h"
#include "common/route_cmds.h"
#include "echo/echo.h"

#define ARP_COPY_MAX 64 /* an ARP frame with a VLAN tag and padding */

/* True for an ARP reply (opcode 2), with or without one VLAN tag. */
static bool is_arp_reply(const struct weir_pkt *p)
{
	const uint8_t *d = weir_pkt_data(p);
	uint16_t off = 12, type, op;

	if (p->data_len < off + 2 + 8)
		return false;
	type = (uint16_t)(d[off] << 8 | d[off + 1]);
	if (type == WEIR_ETHER_TYPE_VLAN) {
		off += 4;
		if (p->data_len < off + 2 + 8)
			return false;
		type = (uint16_t)(d[off] << 8 | d[off + 1]);
	}
	if (type != WEIR_ETHER_TYPE_ARP)
		return false;
	op = (uint16_t)(d[off + 2 + 6] << 8 | d[off + 2 + 7]);
	return op == 2;
}

/* Copies the ARP replies among pkts to every other lcore's ring. */
static void share_arp(struct echo_lcore *lc, struct weir_pkt **pkts, uint16_t n)
{
	struct echo *e = lc->e;

	for (uint16_t i = 0; i < n; i++) {
		uint16_t len = pkts[i]->data_len < ARP_COPY_MAX ? pkts[i]->data_len : ARP_COPY_MAX;

		if (!is_arp_reply(pkts[i]))
			continue;
		for (uint16_t q = 0; q < e->base.queues; q++) {
			/* An array, not &c: the ring copies pointers 8 at a time. */
			struct weir_pkt *c[8];

			if (q == lc->q)
				continue;
			if (!(c[0] = weir_pkt_alloc(e->base.pool))) {
				ctr_add(&lc->arp_copy_drops, 1);
				continue;
			}
			memcpy(weir_pkt_put(c[0], len), weir_pkt_data(pkts[i]), len);
			c[0]->port = pkts[i]->port;
			c[0]->queue = q;
			if (weir_ring_enqueue_burst(e->lcores[q].arp_in, (void **)c, 1) != 1) {
				weir_pkt_free(c[0]);
				ctr_add(&lc->arp_copy_drops, 1);
				continue;
			}
			ctr_add(&lc->arp_copied, 1);
		}
	}
}

/* Every socket's datagrams back to their sources; returns how many. */
static uint32_t echo_socks(struct echo_lcore *lc, struct weir_pkt **pkts, struct weir_udp_addr *from)
{
	struct echo *e = lc->e;
	uint32_t work = 0;
	uint16_t k, sent;

	for (int i = 0; i < e->nudp; i++) {
		while ((k = weir_udp_recv_burst(lc->socks[i], pkts, from, e->base.burst))) {
			uint64_t bytes = 0;

			/* Read before the send: the stack owns what it takes. */
			for (uint16_t j = 0; j < k; j++)
				bytes += pkts[j]->pkt_len;
			sent = weir_udp_send_burst(lc->socks[i], pkts, from, k);
			for (uint16_t j = sent; j < k; j++)
				bytes -= pkts[j]->pkt_len;
			if (sent < k) {
				/* No route back, or no buffer for headers: the socket
				 * counted it (tx_errors); the payload is ours to free. */
				weir_pkt_free_bulk(pkts + sent, (uint32_t)(k - sent));
				ctr_add(&lc->echo_refused, k - sent);
			}
			ctr_add(&lc->echoed, sent);
			ctr_add(&lc->echoed_bytes, bytes);
			work += k;
		}
	}
	return work;
}

/* What the stack queued, to the port. */
static uint32_t transmit(struct echo_lcore *lc, struct weir_pkt **pkts)
{
	struct echo *e = lc->e;
	uint32_t work = 0;
	uint16_t k;

	while ((k = weir_stack_drain(lc->st, 0, pkts, e->base.burst))) {
		weir_port_tx_burst_or_free(e->port, lc->q, pkts, k);
		work += k;
	}
	weir_port_tx_done(e->port, lc->q);
	return work;
}

/* The stack's counters and the sockets', for the other threads. */
static void publish(struct echo_lcore *lc)
{
	struct weir_udp_sock_stats ss;

	/* Outside the lock; the names in snap.xs, set at setup, never change. */
	weir_stack_xstats(lc->st, lc->snap.scratch, lc->snap.n);
	pthread_mutex_lock(&lc->mu);
	for (int i = 0; i < lc->snap.n; i++)
		lc->snap.xs[i].value = lc->snap.scratch[i].value;
	for (int i = 0; i < lc->e->nudp; i++) {
		weir_udp_sock_stats(lc->socks[i], &ss);
		lc->snap.sock_rx[i] = ss.rx_datagrams;
		lc->snap.sock_full[i] = ss.rx_queue_full;
	}
	pthread_mutex_unlock(&lc->mu);
}

static int idle_setup(struct echo_lcore *lc, struct weir_idle *idle)
{
	int err = app_idle_init(idle), fd;

	if (err < 0)
		return err;
	if ((fd = weir_port_wait_fd(lc->e->port, lc->q)) >= 0)
		weir_idle_add_fd(idle, fd);
	weir_idle_cap(idle, weir_port_idle_poll_ns(lc->e->port));
	if (lc->e->spin_max_ns)
		weir_idle_adaptive(idle, lc->e->spin_min_ns, lc->e->spin_max_ns);
	if ((fd = app_route_cmds_fd(lc->e->rcmds, lc->q)) >= 0)
		weir_idle_add_fd(idle, fd);
	return 0;
}

/* One turn of the loop at now: returns the work it did. */
static uint32_t turn(struct echo_lcore *lc, struct weir_pkt **pkts, struct weir_udp_addr *from,
		     weir_ns_t now)
{
	struct echo *e = lc->e;
	uint16_t n = weir_port_rx_burst(e->port, lc->q, pkts, e->base.burst);
	uint32_t work = n;

	if (n) {
		if (lc->arp_in)
			share_arp(lc, pkts, n);
		weir_stack_input(lc->st, pkts, n, now);
	}
	if (lc->arp_in && (n = (uint16_t)weir_ring_dequeue_burst(lc->arp_in, (void **)pkts,
								    e->base.burst))) {
		weir_stack_input(lc->st, pkts, n, now);
		work += n;
	}
	work += echo_socks(lc, pkts, from);
	work += (uint32_t)app_route_cmds_poll(e->rcmds, lc->q, lc->st);
	return work;
}

int echo_lcore_main(void *arg)
{
	struct echo_lcore *lc = arg;
	struct weir_pkt *pkts[APP_MAX_BURST];
	struct weir_udp_addr from[APP_MAX_BURST];
	struct weir_idle idle;
	weir_ns_t last_timer = 0, last_pub = 0;
	bool dirty = true;
	int err = idle_setup(lc, &idle);

	if (err < 0)
		return err;
	while (!weir_should_stop()) {
		weir_ns_t now = weir_clock_now();
		uint32_t work = turn(lc, pkts, from, now);

		if (now - last_timer >= ECHO_TIMER_NS) {
			weir_stack_timer(lc->st, now);
			last_timer = now;
		}
		work += transmit(lc, pkts);
		dirty = dirty || work;
		if (dirty && now - last_pub >= ECHO_PUBLISH_NS) {
			publish(lc);
			last_pub = now;
			dirty = false;
		}
		if (!weir_idle_should_sleep_at(&idle, work, now))
			continue;
		/* Asleep until a frame or a route command comes, the stop flag,
		 * or the next publish or timer round (ARP retries are 1 s). */
		weir_idle_sleep(&idle, dirty ? ECHO_PUBLISH_NS : ECHO_IDLE_NS);
	}
	transmit(lc, pkts);
	publish(lc);
	weir_idle_fini(&idle);
	return 0;
}
