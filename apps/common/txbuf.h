/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A TX buffer per port and queue, after DPDK's rte_eth_tx_buffer: an engine
 * that produces frames one at a time (a reflector, a router, a responder)
 * adds them here and they go to the driver in bursts, when the buffer is
 * full or when the oldest has waited `timeout` (app_txbuf_flush_due, from
 * the lcore loop). What the driver will not take is offered again up to
 * `retries` times in a row (testpmd's burst_tx_retry_num), then handed to
 * the unsent callback; the default one frees the frames and counts them in
 * `unsent`, a relaxed-atomic counter the telemetry thread may read.
 *
 * A buffer belongs to the one lcore that owns its TX queue. Everything but
 * init is inline: a flush is one tx burst, adding a frame is a store.
 */
#ifndef WEIR_APP_TXBUF_H
#define WEIR_APP_TXBUF_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "weir/clock.h"
#include "weir/pkt.h"
#include "weir/port.h"

#include "common/fastpath.h"

#define APP_TXBUF_MAX 256

struct app_txbuf;

/* Takes the n frames the driver would not take (they are the callback's
 * now: free, count, or keep them). Runs on the buffer's lcore. */
typedef void (*app_txbuf_unsent_fn)(struct app_txbuf *tb, struct weir_pkt **pkts, uint16_t n,
				    void *arg);

struct app_txbuf {
	struct weir_port *port;
	uint16_t queue;
	uint16_t size;    /* flush when this many are buffered */
	uint16_t length;  /* buffered now */
	uint16_t retries; /* extra tx bursts before frames count as unsent */
	weir_ns_t timeout, first; /* flush when the oldest (first) waited timeout */
	app_txbuf_unsent_fn unsent_cb;
	void *unsent_arg;
	_Atomic uint64_t unsent; /* frames the default callback freed */
	struct weir_pkt *pkts[APP_TXBUF_MAX];
};

/* The default unsent callback: frees the frames, adds them to tb->unsent. */
static inline void app_txbuf_drop(struct app_txbuf *tb, struct weir_pkt **pkts, uint16_t n,
				  void *arg)
{
	(void)arg;
	weir_pkt_free_bulk(pkts, n);
	ctr_add(&tb->unsent, n);
}

/*
 * Sets up an empty buffer for TX queue `queue` of port: flushes at `size`
 * frames (1..APP_TXBUF_MAX) or when the oldest waited `timeout` ns (0: only
 * when full or flushed), retrying a short burst `retries` times. Unsent
 * frames go to cb(tb, pkts, n, arg); cb NULL means app_txbuf_drop. 0, or
 * -EINVAL for a size out of range or a NULL port.
 */
static inline int app_txbuf_init(struct app_txbuf *tb, struct weir_port *port, uint16_t queue,
				 uint16_t size, weir_ns_t timeout, uint16_t retries,
				 app_txbuf_unsent_fn cb, void *arg)
{
	if (!port || size < 1 || size > APP_TXBUF_MAX)
		return -EINVAL;
	tb->port = port;
	tb->queue = queue;
	tb->size = size;
	tb->length = 0;
	tb->retries = retries;
	tb->timeout = timeout;
	tb->first = 0;
	tb->unsent_cb = cb ? cb : app_txbuf_drop;
	tb->unsent_arg = arg;
	atomic_init(&tb->unsent, 0);
	return 0;
}

/* Sends everything buffered; what the driver will not take after the
 * retries goes to the unsent callback. Returns frames sent. */
static inline uint16_t app_txbuf_flush(struct app_txbuf *tb)
{
	uint16_t n = tb->length, sent = 0;

	if (!n)
		return 0;
	for (uint32_t tries = 0; sent < n && tries <= tb->retries; tries++)
		sent += weir_port_tx_burst(tb->port, tb->queue, tb->pkts + sent, (uint16_t)(n - sent));
	tb->length = 0;
	if (sent < n)
		tb->unsent_cb(tb, tb->pkts + sent, (uint16_t)(n - sent), tb->unsent_arg);
	return sent;
}

/* Buffers p (now is when, for the timeout); flushes when the buffer is
 * full. Returns frames sent by that flush, usually 0. */
static inline uint16_t app_txbuf_add(struct app_txbuf *tb, struct weir_pkt *p, weir_ns_t now)
{
	if (!tb->length)
		tb->first = now;
	tb->pkts[tb->length++] = p;
	return tb->length < tb->size ? 0 : app_txbuf_flush(tb);
}

/* When a buffered frame's timeout runs out; 0 when nothing waits for one
 * (empty, or no timeout). For the lcore's sleep deadline. */
static inline weir_ns_t app_txbuf_due(const struct app_txbuf *tb)
{
	return tb->length && tb->timeout ? tb->first + tb->timeout : 0;
}

/* Flushes when the oldest buffered frame has waited the timeout. Returns
 * frames sent. */
static inline uint16_t app_txbuf_flush_due(struct app_txbuf *tb, weir_ns_t now)
{
	weir_ns_t due = app_txbuf_due(tb);

	return due && !weir_time_after(due, now) ? app_txbuf_flush(tb) : 0;
}

#endif
