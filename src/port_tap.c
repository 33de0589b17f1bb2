// SPDX-License-Identifier: BSD-3-Clause
/*
 * Port taps (weir/port.h): mirroring a port's bursts to a callback while a
 * capture is active, and nothing at all while none is. A tap swaps the
 * port's fast-path burst pointers (struct weir_port_fp, which every inline
 * burst reads afresh) for the wrappers below; stopping puts the driver's
 * back. A wrapper that an lcore entered just before the swap back may still
 * be running, so stop also clears the tap pointer and waits until no
 * wrapper is inside (tap_busy): the wrappers count themselves in before
 * they load the tap, so one that saw the tap is counted when stop looks.
 * The count is only touched inside the wrappers: only while tapping.
 */
#include <errno.h>
#include <sched.h>

#include "weir/port_driver.h"

static const struct weir_port_tap *tap_enter(struct weir_port *port)
{
	/* seq_cst: the count is visible before the tap is read; pairs with
	 * weir_port_tap_stop's clear of the tap and read of the count. */
	atomic_fetch_add(&port->tap_busy, 1);
	return atomic_load(&port->tap);
}

static void tap_leave(struct weir_port *port)
{
	/* Release: the tap's last reads happen before stop sees 0. */
	atomic_fetch_sub_explicit(&port->tap_busy, 1, memory_order_release);
}

static uint16_t tap_rx_burst(struct weir_rxq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct weir_port *port = q->port;
	const struct weir_port_tap *t = tap_enter(port);
	uint16_t got = port->ops->rx_burst(q, pkts, n);

	if (t && t->rx && got)
		t->rx(t->arg, q->id, pkts, got);
	tap_leave(port);
	return got;
}

static uint16_t tap_tx_burst(struct weir_txq *q, struct weir_pkt **pkts, uint16_t n)
{
	struct weir_port *port = q->port;
	const struct weir_port_tap *t = tap_enter(port);
	uint16_t sent;

	if (t && t->tx_pre && n)
		t->tx_pre(t->arg, q->id, pkts, n);
	sent = port->ops->tx_burst(q, pkts, n);
	if (t && t->tx_post && n)
		t->tx_post(t->arg, q->id, sent);
	tap_leave(port);
	return sent;
}

int weir_port_tap_start(struct weir_port *port, const struct weir_port_tap *tap)
{
	const struct weir_port_tap *none = NULL;

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
	while (atomic_load_explicit(&port->tap_busy, memory_order_acquire))
		sched_yield();
}

const struct weir_port_tap *weir_port_tap_get(const struct weir_port *port)
{
	return atomic_load_explicit(&((struct weir_port *)port)->tap, memory_order_relaxed);
}
