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

static struct weir_port_driver *drivers;
static _Atomic uint16_t next_port_id;

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

static const struct weir_port_param *find_param(const struct weir_port_driver *drv,
						const char *key)
{
	for (const struct weir_port_param *p = drv->params; p && p->key; p++)
		if (!strcmp(p->key, key))
			return p;
	return NULL;
}

static void list_params(const struct weir_port_driver *drv, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (const struct weir_port_param *p = drv->params; p && p->key && off < len; p++) {
		int n = snprintf(buf + off, len - off, "%s%s", off ? ", " : "", p->key);

		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (!off)
		snprintf(buf, len, "none");
}

/* Splits "k=v&k=v" in place into port->kv, checking keys and choices. */
static int parse_args(struct weir_port *port, char *args)
{
	char valid[160];
	char *next;

	/* Split by hand: strtok_r would skip empty fields ("a=1&&b=2",
	 * "a=1&") that are typos a person wants to hear about. */
	for (char *tok = args; tok; tok = next) {
		char *eq, *amp = strchr(tok, '&');
		const struct weir_port_param *param;

		next = NULL;
		if (amp) {
			*amp = '\0';
			next = amp + 1;
		}
		eq = strchr(tok, '=');
		if (!*tok) {
			list_params(port->drv, valid, sizeof(valid));
			return weir_port_fail(port, -EINVAL,
					      "empty key=value field (a stray '&'; valid keys: %s)",
					      valid);
		}
		if (!eq || eq == tok) {
			list_params(port->drv, valid, sizeof(valid));
			return weir_port_fail(port, -EINVAL,
					      "'%s' is not key=value (valid keys: %s)", tok, valid);
		}
		*eq = '\0';
		param = find_param(port->drv, tok);
		if (!param) {
			list_params(port->drv, valid, sizeof(valid));
			return weir_port_fail(port, -EINVAL, "unknown key '%s' (valid keys: %s)", tok,
					      valid);
		}
		for (int i = 0; i < port->nkv; i++)
			if (!strcmp(port->kv[i].key, tok))
				return weir_port_fail(port, -EINVAL, "key '%s' given twice", tok);
		if (port->nkv == WEIR_PORT_MAX_KV)
			return weir_port_fail(port, -EINVAL, "too many keys (at most %d)",
					      WEIR_PORT_MAX_KV);
		port->kv[port->nkv].key = tok;
		port->kv[port->nkv].value = eq + 1;
		port->nkv++;
		if (param->choices) {
			int r = weir_port_arg_choice(port, tok, 0);

			port->kv[port->nkv - 1].used = false;
			if (r < 0)
				return r;
		}
	}
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
		if (!isgraph((unsigned char)*c) || *c == '&' || *c == '=')
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

void weir_port_close(struct weir_port *port)
{
	if (!port)
		return;
	port->ops->close(port);
	port_free(port);
}

const char *weir_port_arg(struct weir_port *port, const char *key)
{
	for (int i = 0; i < port->nkv; i++) {
		if (!strcmp(port->kv[i].key, key)) {
			port->kv[i].used = true;
			return port->kv[i].value;
		}
	}
	return NULL;
}

/*
 * Port spec integers are decimal: base 0 made queues=010 mean 8 and
 * 0x10 mean 16, which nobody typing a queue count means. A leading zero
 * is just a zero (010 is 10); a hex value is refused with its decimal
 * spelling, so ethertype=0x88b5 is answered with 35061.
 */
int weir_port_arg_u64(struct weir_port *port, const char *key, uint64_t def, uint64_t min,
		      uint64_t max, uint64_t *out)
{
	const char *v = weir_port_arg(port, key);
	unsigned long long x;
	unsigned shift = 0;
	char *end;

	if (!v) {
		*out = def;
		return 0;
	}
	if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X') && isxdigit((unsigned char)v[2])) {
		errno = 0;
		x = strtoull(v + 2, &end, 16);
		if (!*end && !errno)
			return weir_port_fail(port, -EINVAL,
					      "%s=%s: numbers in a port spec are decimal (write "
					      "%s=%llu; valid: %llu..%llu)",
					      key, v, key, x, (unsigned long long)min,
					      (unsigned long long)max);
		goto bad;
	}
	/* strtoull alone would take " 5", "+5" and wrap "-5" around. */
	if (!isdigit((unsigned char)*v))
		goto bad;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (end == v || errno)
		goto bad;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end)
		goto bad;
	if (x > (ULLONG_MAX >> shift))
		return weir_port_fail(port, -EINVAL, "%s=%s is out of range (valid: %llu..%llu)",
				      key, v, (unsigned long long)min, (unsigned long long)max);
	x <<= shift;
	if (x < min || x > max)
		return weir_port_fail(port, -EINVAL, "%s=%s is out of range (valid: %llu..%llu)",
				      key, v, (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return 0;
bad:
	return weir_port_fail(port, -EINVAL, "%s=%s is not a number (valid: %llu..%llu)", key,
			      v, (unsigned long long)min, (unsigned long long)max);
}

int weir_port_arg_choice(struct weir_port *port, const char *key, int def)
{
	const struct weir_port_param *param;
	const char *v, *c;
	size_t vlen;
	int idx = 0;

	if (!key)
		return 0;
	param = find_param(port->drv, key);
	v = weir_port_arg(port, key);
	if (!v)
		return def;
	if (!param || !param->choices)
		return weir_port_fail(port, -EINVAL, "%s has no fixed choices", key);
	vlen = strlen(v);
	for (c = param->choices; *c; idx++) {
		size_t n = strcspn(c, "|");

		if (n == vlen && !strncmp(c, v, n))
			return idx;
		c += n;
		if (*c == '|')
			c++;
	}
	return weir_port_fail(port, -EINVAL, "%s=%s is not valid (valid: %s)", key, v,
			      param->choices);
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
