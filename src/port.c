// SPDX-License-Identifier: BSD-3-Clause
/*
 * Ports: the driver registry, spec parsing (driver:name?key=value&...),
 * argument helpers for drivers, and the calls applications make (those
 * that are not inline in weir/port.h). Every error names the spec, the
 * problem and what would be valid. Linux interface helpers for drivers are
 * in port_iface.c.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/log.h"
#include "weir/port_driver.h"
#include "weir/spec.h"

static struct weir_port_driver *drivers;
static _Atomic uint16_t next_port_id;
static _Atomic uint64_t caps_kept; /* drivers' caps_kept of every port opened */

void weir_port_driver_register(struct weir_port_driver *drv)
{
	drv->next = drivers;
	drivers = drv;
}

const struct weir_port_driver *weir_port_driver_find(const char *name)
{
	for (struct weir_port_driver *d = drivers; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

bool weir_port_spec_shares_pool(const char *spec)
{
	size_t n = strcspn(spec, ":?");

	for (struct weir_port_driver *d = drivers; d; d = d->next)
		if (strlen(d->name) == n && !strncmp(d->name, spec, n))
			return d->shares_pool;
	return false;
}

void weir_port_driver_list(char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (struct weir_port_driver *d = drivers; d && off < len; d = d->next) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", d->name);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

int weir_port_fail(struct weir_port *port, int err, const char *fmt, ...)
{
	char msg[WEIR_PORT_ERRSIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(port->err, sizeof(port->err), "%s: %s", port->label ? port->label : "port", msg);
	return err;
}

void weir_port_died(struct weir_port *port, const char *fmt, ...)
{
	char msg[WEIR_PORT_ERRSIZE];
	va_list ap;

	/* The exchange picks the one caller that logs. */
	if (atomic_exchange_explicit(&port->fp.dead, true, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	WEIR_ERR("%s: %s", port->label, msg);
}

/* Splits "k=v&k=v" in place into port->kv, checking keys and choices. */
static int parse_args(struct weir_port *port, char *args)
{
	char msg[WEIR_PORT_ERRSIZE];

	if (weir_spec_split(args, port->drv->params, false, port->kv, &port->nkv, WEIR_PORT_MAX_KV,
			    msg, sizeof(msg)) < 0)
		return weir_port_fail(port, -EINVAL, "%s", msg);
	return 0;
}

static int parse_spec(struct weir_port *port, const char *spec)
{
	char list[256];
	char *colon, *q;

	port->spec = strdup(spec);
	port->label = strdup(spec);
	if (!port->spec || !port->label)
		return -ENOMEM;
	q = strchr(port->label, '?');
	if (q)
		*q = '\0';
	colon = strchr(port->label, ':');
	if (!colon || colon == port->label) {
		weir_port_driver_list(list, sizeof(list));
		snprintf(port->err, sizeof(port->err),
			 "'%s': a port spec is driver:name[?key=value&...] (drivers: %s)", spec,
			 list);
		return -EINVAL;
	}
	*colon = '\0';
	port->drv = weir_port_driver_find(port->label);
	if (!port->drv) {
		weir_port_driver_list(list, sizeof(list));
		snprintf(port->err, sizeof(port->err), "'%s': unknown driver '%s' (drivers: %s)",
			 spec, port->label, list);
		return -ENOENT;
	}
	*colon = ':';
	port->ifname = colon + 1;
	for (const char *c = port->ifname; *c; c++) {
		if (!isgraph((unsigned char)*c) || *c == '&' || (*c == '=' && !port->drv->name_has_eq))
			return weir_port_fail(port, -EINVAL, "bad character '%c' in the name", *c);
	}
	if (q) {
		/* Split the tail of the label's copy (cut off at the '?'
		 * above), so port->spec stays as given; kv points into it. */
		char *args = q + 1;

		if (!*args)
			return weir_port_fail(port, -EINVAL,
					      "'?' with no key=value after it");
		return parse_args(port, args);
	}
	return 0;
}

static void port_free(struct weir_port *port)
{
	if (!port)
		return;
	if (port->fp.rxq) {
		for (uint16_t i = 0; i < port->fp.nb_rxq; i++)
			free(port->fp.rxq[i]);
		free(port->fp.rxq);
	}
	if (port->fp.txq) {
		for (uint16_t i = 0; i < port->fp.nb_txq; i++)
			free(port->fp.txq[i]);
		free(port->fp.txq);
	}
	free(port->priv);
	free(port->spec);
	free(port->label);
	free(port);
}

int weir_port_open(const char *spec, const struct weir_port_conf *conf, struct weir_port **out,
		   char *why, size_t whylen)
{
	static const struct weir_port_conf no_conf;
	struct weir_port *port;
	int err;

	if (!conf)
		conf = &no_conf;
	port = calloc(1, sizeof(*port));
	if (!port) {
		snprintf(why, whylen, "%s: out of memory", spec);
		return -ENOMEM;
	}
	err = spec ? parse_spec(port, spec) : -EINVAL;
	if (err)
		goto fail;
	port->ops = port->drv->ops;
	/* The bursts' view, fixed from here on (alloc_queues adds the queues). */
	port->fp.rx_burst = port->ops->rx_burst;
	port->fp.tx_burst = port->ops->tx_burst;
	port->fp.tx_done = port->ops->tx_done;
	port->pool = conf->pool;
	port->mtu = 1500;
	port->rx_offloads = WEIR_PORT_OFFLOAD_CSUM | WEIR_PORT_OFFLOAD_GSO_TCP |
			    WEIR_PORT_OFFLOAD_GSO_UDP;
	if (port->drv->priv_size) {
		port->priv = calloc(1, port->drv->priv_size);
		if (!port->priv) {
			err = weir_port_fail(port, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	err = port->ops->open(port, conf);
	if (err)
		goto fail;
	if (!port->fp.nb_rxq && !port->fp.nb_txq) {
		err = weir_port_fail(port, -EINVAL, "driver opened no queues");
		port->ops->close(port);
		goto fail;
	}
	port->id = atomic_fetch_add(&next_port_id, 1);
	atomic_fetch_or(&caps_kept, port->drv->caps_kept);
	*out = port;
	return 0;
fail:
	if (!port->err[0])
		snprintf(port->err, sizeof(port->err), "%s: %s", spec ? spec : "(null)",
			 strerror(-err));
	snprintf(why, whylen, "%s", port->err);
	port_free(port);
	return err;
}

uint64_t weir_port_caps_kept(void)
{
	return atomic_load(&caps_kept);
}

void weir_port_close(struct weir_port *port)
{
	if (!port)
		return;
	port->ops->close(port);
	port_free(port);
}

const char *weir_port_arg(struct weir_port *port, const char *key)
{
	return weir_spec_get(port->kv, port->nkv, key);
}

int weir_port_arg_u64(struct weir_port *port, const char *key, uint64_t def, uint64_t min,
		      uint64_t max, uint64_t *out)
{
	const char *v = weir_port_arg(port, key);
	char msg[WEIR_PORT_ERRSIZE];

	*out = def;
	if (v && weir_spec_u64(key, v, min, max, out, msg, sizeof(msg)) < 0)
		return weir_port_fail(port, -EINVAL, "%s", msg);
	return 0;
}

int weir_port_arg_choice(struct weir_port *port, const char *key, int def)
{
	const char *v = key ? weir_port_arg(port, key) : NULL;
	char msg[WEIR_PORT_ERRSIZE];
	int idx;

	if (!key)
		return 0;
	if (!v)
		return def;
	idx = weir_spec_choice(weir_spec_param_find(port->drv->params, key), key, v, msg,
			       sizeof(msg));
	return idx < 0 ? weir_port_fail(port, -EINVAL, "%s", msg) : idx;
}

/* A zeroed driver queue struct of size bytes on its own cache lines (two
 * queues' lcores never share one). */
static void *queue_alloc(size_t size)
{
	void *q = aligned_alloc(WEIR_CACHE_LINE, (size + WEIR_CACHE_LINE - 1) &
							 ~(size_t)(WEIR_CACHE_LINE - 1));

	if (q)
		memset(q, 0, size);
	return q;
}

int weir_port_alloc_queues(struct weir_port *port, uint16_t nb_rxq, uint16_t nb_txq)
{
	size_t rs = port->drv->rxq_size ? port->drv->rxq_size : sizeof(struct weir_rxq);
	size_t ts = port->drv->txq_size ? port->drv->txq_size : sizeof(struct weir_txq);

	struct weir_port_fp *fp = &port->fp;

	if (fp->rxq || fp->txq)
		return -EEXIST;
	fp->rxq = calloc(nb_rxq ? nb_rxq : 1, sizeof(*fp->rxq));
	fp->txq = calloc(nb_txq ? nb_txq : 1, sizeof(*fp->txq));
	if (!fp->rxq || !fp->txq)
		return -ENOMEM;
	for (uint16_t i = 0; i < nb_rxq; i++) {
		fp->rxq[i] = queue_alloc(rs);
		if (!fp->rxq[i])
			return -ENOMEM;
		fp->rxq[i]->port = port;
		fp->rxq[i]->id = i;
		fp->nb_rxq = i + 1;
	}
	for (uint16_t i = 0; i < nb_txq; i++) {
		fp->txq[i] = queue_alloc(ts);
		if (!fp->txq[i])
			return -ENOMEM;
		fp->txq[i]->port = port;
		fp->txq[i]->id = i;
		fp->nb_txq = i + 1;
	}
	return 0;
}

/* A queue's counters, each loaded once (relaxed: see port_driver.h). */
static void queue_stats_read(const struct weir_queue_stats *c, struct weir_queue_stats *out)
{
	out->packets = weir_port_ctr_read(&c->packets);
	out->bytes = weir_port_ctr_read(&c->bytes);
	out->drops = weir_port_ctr_read(&c->drops);
	out->errors = weir_port_ctr_read(&c->errors);
	out->nombuf = weir_port_ctr_read(&c->nombuf);
}

void weir_port_stats_get(struct weir_port *port, struct weir_port_stats *st)
{
	struct weir_queue_stats c;

	memset(st, 0, sizeof(*st));
	for (uint16_t i = 0; i < port->fp.nb_rxq; i++) {
		queue_stats_read(&port->fp.rxq[i]->stats, &c);
		st->ipackets += c.packets;
		st->ibytes += c.bytes;
		st->imissed += c.drops;
		st->ierrors += c.errors;
		st->rx_nombuf += c.nombuf;
	}
	for (uint16_t i = 0; i < port->fp.nb_txq; i++) {
		queue_stats_read(&port->fp.txq[i]->stats, &c);
		st->opackets += c.packets;
		st->obytes += c.bytes;
		st->odropped += c.drops;
		st->oerrors += c.errors;
	}
	weir_port_stats_add_driver(port, st);
}

void weir_port_stats_add_driver(struct weir_port *port, struct weir_port_stats *st)
{
	if (port->ops->stats)
		port->ops->stats(port, st);
}

void weir_port_queue_stats(const struct weir_port *port, uint16_t q, struct weir_queue_stats *rx,
			   struct weir_queue_stats *tx)
{
	if (rx) {
		memset(rx, 0, sizeof(*rx));
		if (q < port->fp.nb_rxq)
			queue_stats_read(&port->fp.rxq[q]->stats, rx);
	}
	if (tx) {
		memset(tx, 0, sizeof(*tx));
		if (q < port->fp.nb_txq)
			queue_stats_read(&port->fp.txq[q]->stats, tx);
	}
}

void weir_port_tx_completed(const struct weir_port *port, uint16_t q, uint64_t *pkts,
			    uint64_t *bytes)
{
	const struct weir_txq *txq = q < port->fp.nb_txq ? port->fp.txq[q] : NULL;

	if (pkts)
		*pkts = txq ? weir_port_ctr_read(&txq->done_pkts) : 0;
	if (bytes)
		*bytes = txq ? weir_port_ctr_read(&txq->done_bytes) : 0;
}

int weir_port_xstats_get(struct weir_port *port, struct weir_xstat *xs, int n)
{
	return port->ops->xstats ? port->ops->xstats(port, xs, n) : 0;
}

int weir_port_wait_fd(struct weir_port *port, uint16_t q)
{
	return port->ops->wait_fd && q < port->fp.nb_rxq ? port->ops->wait_fd(port->fp.rxq[q]) : -1;
}

const char *weir_port_label(const struct weir_port *port)
{
	return port->label;
}

const char *weir_port_spec(const struct weir_port *port)
{
	return port->spec;
}

uint16_t weir_port_nb_rxq(const struct weir_port *port)
{
	return port->fp.nb_rxq;
}

uint16_t weir_port_nb_txq(const struct weir_port *port)
{
	return port->fp.nb_txq;
}

uint16_t weir_port_id(const struct weir_port *port)
{
	return port->id;
}

void weir_port_mac(const struct weir_port *port, uint8_t mac[6])
{
	memcpy(mac, port->mac, 6);
}

uint32_t weir_port_mtu(const struct weir_port *port)
{
	return port->mtu;
}

uint32_t weir_port_tx_offloads(const struct weir_port *port)
{
	return port->tx_offloads;
}

uint32_t weir_port_rx_offloads(const struct weir_port *port)
{
	return port->rx_offloads;
}

uint64_t weir_port_idle_poll_ns(const struct weir_port *port)
{
	return port->idle_poll_ns;
}

bool weir_port_tx_takes_gso(const struct weir_port *port, const struct weir_pkt *p)
{
	switch (p->gso_type & ~WEIR_PKT_GSO_ECN) {
	case WEIR_PKT_GSO_TCPV4:
	case WEIR_PKT_GSO_TCPV6:
		return port->tx_offloads & WEIR_PORT_OFFLOAD_GSO_TCP;
	case WEIR_PKT_GSO_UDP_L4:
		return port->tx_offloads & WEIR_PORT_OFFLOAD_GSO_UDP;
	default:
		return false;
	}
}

uint16_t weir_port_tx_burst_or_free(struct weir_port *port, uint16_t q, struct weir_pkt **pkts,
				    uint16_t n)
{
	uint16_t sent = weir_port_tx_burst(port, q, pkts, n);

	if (sent < n) {
		weir_port_ctr_add(&port->fp.txq[q]->stats.drops, (uint64_t)(n - sent));
		weir_pkt_free_bulk(pkts + sent, n - sent);
	}
	return (uint16_t)(n - sent);
}
