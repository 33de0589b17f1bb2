// SPDX-License-Identifier: BSD-3-Clause
/*
 * afxdp's statistics: the sockets' XDP_STATISTICS, the steering program's
 * per-CPU counters and the driver's own, as weir_port_stats and xstats
 * (the ops stats and xstats of afxdp.c's table).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "weir/port_driver.h"

#include "afxdp_internal.h"
static int xsk_stats(const struct afxdp_priv *priv, uint16_t i, struct xdp_statistics *xs)
{
	socklen_t len = sizeof(*xs);

	memset(xs, 0, sizeof(*xs));
	if (!priv->xsk[i])
		return -ENOENT;
	return getsockopt(xsk_socket__fd(priv->xsk[i]), SOL_XDP, XDP_STATISTICS, xs, &len) ? -errno
											       : 0;
}

void afxdp_stats(struct weir_port *port, struct weir_port_stats *st)
{
	struct afxdp_priv *priv = port->priv;
	struct xdp_statistics xs;

	for (uint16_t i = 0; i < priv->nq; i++) {
		if (xsk_stats(priv, i, &xs))
			continue;
		st->imissed += xs.rx_dropped + xs.rx_ring_full;
		st->ierrors += xs.rx_invalid_descs;
		st->oerrors += xs.tx_invalid_descs;
	}
}

/* The steering program's per-CPU counters, summed (by STEER_STAT_*). */
static void steer_counts(const struct afxdp_priv *priv, uint64_t out[STEER_STAT_NR])
{
	int ncpu = libbpf_num_possible_cpus();

	memset(out, 0, STEER_STAT_NR * sizeof(*out));
	if (priv->stats_map_fd < 0 || ncpu <= 0)
		return;
	for (uint32_t k = 0; k < STEER_STAT_NR; k++) {
		uint64_t *v = calloc((size_t)ncpu, sizeof(*v));

		if (!v)
			return;
		if (!bpf_map_lookup_elem(priv->stats_map_fd, &k, v))
			for (int c = 0; c < ncpu; c++)
				out[k] += v[c];
		free(v);
	}
}

int afxdp_xstats(struct weir_port *port, struct weir_xstat *x, int n)
{
	struct afxdp_priv *priv = port->priv;
	struct xdp_statistics xs, sum = {0};
	uint64_t copies = 0, tkicks = 0, fkicks = 0, multi = 0, big = 0, kerr = 0, bad = 0, bad_comp = 0;
	uint64_t rx_csum = 0, tx_csum = 0, gso_sent = 0, gso_again = 0, gso_waits = 0;
	uint64_t gso_rx = 0, gso_rx_nombuf = 0, gso_rx_err = 0;
	uint64_t steer[STEER_STAT_NR];
	int k = 0;

	for (uint16_t i = 0; i < priv->nq; i++) {
		const struct afxdp_rxq *r = (const struct afxdp_rxq *)port->fp.rxq[i];
		const struct afxdp_txq *t = (const struct afxdp_txq *)port->fp.txq[i];

		if (!xsk_stats(priv, i, &xs)) {
			sum.rx_dropped += xs.rx_dropped;
			sum.rx_invalid_descs += xs.rx_invalid_descs;
			sum.tx_invalid_descs += xs.tx_invalid_descs;
			sum.rx_ring_full += xs.rx_ring_full;
			sum.rx_fill_ring_empty_descs += xs.rx_fill_ring_empty_descs;
			sum.tx_ring_empty_descs += xs.tx_ring_empty_descs;
		}
		copies += weir_port_ctr_read(&t->tx_copies);
		tkicks += weir_port_ctr_read(&t->tx_kicks);
		kerr += weir_port_ctr_read(&t->tx_kick_errors);
		big += weir_port_ctr_read(&t->tx_too_big);
		multi += weir_port_ctr_read(&r->rx_multibuf) + weir_port_ctr_read(&t->tx_multibuf);
		fkicks += weir_port_ctr_read(&r->fill_kicks) + weir_port_ctr_read(&r->rx_kicks);
		bad += weir_port_ctr_read(&r->rx_bad_desc);
		bad_comp += weir_port_ctr_read(&t->tx_bad_comp);
		rx_csum += weir_port_ctr_read(&r->rx_csum_completed);
		tx_csum += weir_port_ctr_read(&t->tx_csum_completed);
		gso_sent += weir_port_ctr_read(&t->tx_gso_sent);
		gso_again += weir_port_ctr_read(&t->tx_gso_again);
		gso_waits += weir_port_ctr_read(&t->tx_gso_waits);
		gso_rx += weir_port_ctr_read(&r->rx_gso_frames);
		gso_rx_nombuf += weir_port_ctr_read(&r->rx_gso_nombuf);
		gso_rx_err += weir_port_ctr_read(&r->rx_gso_errors);
	}
	steer_counts(priv, steer);
#define XS(nm, val)                                                                  \
	do {                                                                         \
		if (k < n) {                                                         \
			snprintf(x[k].name, sizeof(x[k].name), "%s", nm);            \
			x[k].value = (val);                                          \
		}                                                                    \
		k++;                                                                 \
	} while (0)
	XS("rx_dropped", sum.rx_dropped);
	XS("rx_invalid_descs", sum.rx_invalid_descs);
	XS("tx_invalid_descs", sum.tx_invalid_descs);
	XS("rx_ring_full", sum.rx_ring_full);
	XS("rx_fill_ring_empty_descs", sum.rx_fill_ring_empty_descs);
	XS("tx_ring_empty_descs", sum.tx_ring_empty_descs);
	XS("tx_copies", copies);
	XS("tx_kicks", tkicks);
	XS("tx_kick_errors", kerr);
	XS("tx_too_big", big);
	XS("rx_fill_kicks", fkicks);
	XS("multibuf_frames", multi);
	XS("rx_bad_desc", bad);
	XS("tx_bad_completions", bad_comp);
	XS("rx_csum_completed", rx_csum);
	XS("tx_csum_completed", tx_csum);
	XS("tx_gso_sent", gso_sent);
	XS("tx_gso_again", gso_again);
	XS("tx_gso_waits", gso_waits);
	XS("steer_redirected", steer[STEER_STAT_REDIRECT]);
	XS("steer_passed", steer[STEER_STAT_PASS]);
	XS("steer_passed_big", steer[STEER_STAT_PASS_BIG]);
	XS("steer_passed_flow", steer[STEER_STAT_PASS_FLOW]);
	XS("rx_gso_frames", gso_rx);
	XS("rx_gso_nombuf", gso_rx_nombuf);
	XS("rx_gso_errors", gso_rx_err);
	XS("zerocopy", priv->got_zc);
	XS("native_mode", priv->got_mode == XDP_MODE_NATIVE);
#undef XS
	return k;
}
