// SPDX-License-Identifier: BSD-3-Clause
/*
 * Port taps (weir/port.h): mirroring a port's bursts to a callback while a
 * capture is active, and nothing at all while none is. A tap swaps the
 * port's fast-path burst pointers (struct weir_port_fp, which every inline
 * burst reads afresh) for the wrappers below; stopping puts the driver's
 * back. A wrapper that an lcore entered just before the swap back may still
 * be running, so stop also clears the tap pointer and waits until no
 * wrapper that may have seen it is still inside. Each queue says so
 * itself (tap_inside, written by its own lcore only, plain stores): a
 * wrapper sets it, then reads the tap. That store-then-load needs a full
 * barrier between them for stop's view to be right; instead of one per
 * burst (a locked add and sub per burst on a shared count was 1 ns of the
 * 7 a frame costs forwarding between null ports), stop issues it on every
 * CPU the process runs on with membarrier(2) (PRIVATE_EXPEDITED, as
 * liburcu's membarrier flavour does), so the wrappers need only keep the
 * compiler from reordering. Without membarrier the wrappers fence.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "weir/port_driver.h"

static int membarrier(int cmd)
{
	return (int)syscall(__NR_membarrier, cmd, 0, 0);
}

static const struct weir_port_tap *tap_enter(struct weir_port *port, _Atomic uint8_t *inside)
{
	atomic_store_explicit(inside, 1, memory_order_relaxed);
	/* inside is stored before the tap is loaded: pairs with the
	 * membarrier (or, without it, the seq_cst fence) in stop between its
	 * clear of the tap and its reads of inside. */
	if (port->tap_fence)
		atomic_thread_fence(memory_order_seq_cst);
	else
		atomic_signal_fence(memory_order_seq_cst);
	/* Acquire: the tap's fields, written before start published it. */
	return atomic_load_explicit(&port->tap, memory_order_acquire);
}

static void tap_leave(_Atomic uint8_t *inside)
{
	/* Release: the tap's last reads happen before stop sees 0. */
	atomic_store_explicit(inside, 0, memory_order_release);
}

static uint16_t tap_rx_burst(struct weir_rxq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct weir_port *port = q->port;
	const struct weir_port_tap *t = tap_enter(port, &q->tap_inside);
	uint16_t got = port->ops->rx_burst(q, pkts, n);

	if (t && t->rx && got)
		t->rx(t->arg, q->id, pkts, got);
	tap_leave(&q->tap_inside);
	return got;
}

static uint16_t tap_tx_burst(struct weir_txq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct weir_port *port = q->port;
	const struct weir_port_tap *t = tap_enter(port, &q->tap_inside);
	uint16_t sent;

	if (t && t->tx_pre && n)
		t->tx_pre(t->arg, q->id, pkts, n);
	sent = port->ops->tx_burst(q, pkts, n);
	if (t && t->tx_post && n)
		t->tx_post(t->arg, q->id, sent);
	tap_leave(&q->tap_inside);
	return sent;
}

int weir_port_tap_start(struct weir_port *port, const struct weir_port_tap *tap)
{
	const struct weir_port_tap *none = NULL;

	/* Once a process; registering again is a no-op. Before the tap is
	 * published: the wrappers read tap_fence. */
	port->tap_fence = membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) < 0;
	if (!atomic_compare_exchange_strong(&port->tap, &none, tap))
		return -EBUSY;
	/* The lcores read these plain words on every burst; an aligned
	 * pointer store is single-copy atomic, and a burst sees either the
	 * driver's function or the wrapper, both right. */
	if (tap->rx && port->ops->rx_burst)
		__atomic_store_n(&port->fp.rx_burst, tap_rx_burst, __ATOMIC_RELEASE);
	if ((tap->tx_pre || tap->tx_post) && port->ops->tx_burst)
		__atomic_store_n(&port->fp.tx_burst, tap_tx_burst, __ATOMIC_RELEASE);
	return 0;
}

void weir_port_tap_stop(struct weir_port *port)
{
	if (!atomic_load(&port->tap))
		return;
	__atomic_store_n(&port->fp.rx_burst, port->ops->rx_burst, __ATOMIC_RELEASE);
	__atomic_store_n(&port->fp.tx_burst, port->ops->tx_burst, __ATOMIC_RELEASE);
	atomic_store(&port->tap, NULL);
	/* A full barrier on every CPU running this process: a wrapper either
	 * loads the tap after it (and sees NULL) or its inside store is seen
	 * below. Pairs with tap_enter's compiler barrier. */
	if (port->tap_fence || membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) < 0)
		atomic_thread_fence(memory_order_seq_cst);
	for (uint16_t i = 0; i < port->fp.nb_rxq; i++)
		while (port->fp.rxq[i] &&
		       atomic_load_explicit(&port->fp.rxq[i]->tap_inside, memory_order_acquire))
			sched_yield();
	for (uint16_t i = 0; i < port->fp.nb_txq; i++)
		while (port->fp.txq[i] &&
		       atomic_load_explicit(&port->fp.txq[i]->tap_inside, memory_order_acquire))
			sched_yield();
}

const struct weir_port_tap *weir_port_tap_get(const struct weir_port *port)
{
	return atomic_load_explicit(&((struct weir_port *)port)->tap, memory_order_relaxed);
}
