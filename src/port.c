// SPDX-License-Identifier: BSD-3-Clause
/*
 * Ports: the driver registry, spec parsing (driver:name?key=value&...),
 * argument helpers for drivers, and the calls applications make. Every
 * error names the spec, the problem and what would be valid.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weir/log.h"
#include "weir/port.h"

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
	if (port->rxq) {
		for (uint16_t i = 0; i < port->nb_rxq; i++)
			free(port->rxq[i]);
		free(port->rxq);
	}
	if (port->txq) {
		for (uint16_t i = 0; i < port->nb_txq; i++)
			free(port->txq[i]);
		free(port->txq);
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
	if (!port->nb_rxq && !port->nb_txq) {
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

int weir_port_alloc_queues(struct weir_port *port, uint16_t nb_rxq, uint16_t nb_txq)
{
	size_t rs = port->drv->rxq_size ? port->drv->rxq_size : sizeof(struct weir_rxq);
	size_t ts = port->drv->txq_size ? port->drv->txq_size : sizeof(struct weir_txq);

	if (port->rxq || port->txq)
		return -EEXIST;
	port->rxq = calloc(nb_rxq ? nb_rxq : 1, sizeof(*port->rxq));
	port->txq = calloc(nb_txq ? nb_txq : 1, sizeof(*port->txq));
	if (!port->rxq || !port->txq)
		return -ENOMEM;
	for (uint16_t i = 0; i < nb_rxq; i++) {
		port->rxq[i] = aligned_alloc(WEIR_CACHE_LINE, (rs + WEIR_CACHE_LINE - 1) &
								      ~(size_t)(WEIR_CACHE_LINE - 1));
		if (!port->rxq[i])
			return -ENOMEM;
		memset(port->rxq[i], 0, rs);
		port->rxq[i]->port = port;
		port->rxq[i]->id = i;
		port->nb_rxq = i + 1;
	}
	for (uint16_t i = 0; i < nb_txq; i++) {
		port->txq[i] = aligned_alloc(WEIR_CACHE_LINE, (ts + WEIR_CACHE_LINE - 1) &
								      ~(size_t)(WEIR_CACHE_LINE - 1));
		if (!port->txq[i])
			return -ENOMEM;
		memset(port->txq[i], 0, ts);
		port->txq[i]->port = port;
		port->txq[i]->id = i;
		port->nb_txq = i + 1;
	}
	return 0;
}

void weir_port_stats_get(struct weir_port *port, struct weir_port_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (uint16_t i = 0; i < port->nb_rxq; i++) {
		const struct weir_rxq *q = port->rxq[i];

		st->ipackets += q->stats.packets;
		st->ibytes += q->stats.bytes;
		st->imissed += q->stats.drops;
		st->ierrors += q->stats.errors;
		st->rx_nombuf += q->nombuf;
	}
	for (uint16_t i = 0; i < port->nb_txq; i++) {
		const struct weir_txq *q = port->txq[i];

		st->opackets += q->stats.packets;
		st->obytes += q->stats.bytes;
		st->odropped += q->stats.drops;
		st->oerrors += q->stats.errors;
	}
	weir_port_stats_add_driver(port, st);
}

void weir_port_stats_add_driver(struct weir_port *port, struct weir_port_stats *st)
{
	if (port->ops->stats)
		port->ops->stats(port, st);
}

int weir_port_xstats_get(struct weir_port *port, struct weir_xstat *xs, int n)
{
	return port->ops->xstats ? port->ops->xstats(port, xs, n) : 0;
}

const char *weir_port_label(const struct weir_port *port)
{
	return port->label;
}

uint16_t weir_port_nb_rxq(const struct weir_port *port)
{
	return port->nb_rxq;
}

uint16_t weir_port_nb_txq(const struct weir_port *port)
{
	return port->nb_txq;
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
		port->txq[q]->stats.drops += (uint64_t)(n - sent);
		weir_pkt_free_bulk(pkts + sent, n - sent);
	}
	return (uint16_t)(n - sent);
}

int weir_port_iface_driver(const char *ifname, char *buf, size_t len)
{
	struct ethtool_drvinfo info = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr;
	int fd, err = 0;

	if (!len)
		return -EINVAL;
	buf[0] = '\0';
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		err = -errno;
	else
		snprintf(buf, len, "%s", info.driver);
	close(fd);
	return err;
}

bool weir_port_iface_is_virtual_peer(const char *ifname)
{
	char drv[32];

	return weir_port_iface_driver(ifname, drv, sizeof(drv)) == 0 &&
	       (!strcmp(drv, "veth") || !strcmp(drv, "tun"));
}
