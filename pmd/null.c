// SPDX-License-Identifier: BSD-3-Clause
/*
 * null: a port with no device. RX hands out fresh packets of a fixed size
 * from the port's pool (contents are whatever the buffer held, as DPDK's
 * net_null does without copy=1); TX frees what it is given. Isolates the
 * framework's own per-packet cost from any kernel's.
 */
#include <errno.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/port_driver.h"

struct null_priv {
	uint16_t size;
};

static uint16_t null_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n)
{
	struct weir_port *port = rxq->port;
	uint16_t size = ((struct null_priv *)port->priv)->size;

	if (weir_pkt_alloc_bulk(port->pool, pkts, n) < 0) {
		weir_port_ctr_add(&rxq->stats.nombuf, n);
		return 0;
	}
	for (uint16_t i = 0; i < n; i++) {
		pkts[i]->data_len = size;
		pkts[i]->pkt_len = size;
		pkts[i]->port = port->id;
		pkts[i]->queue = rxq->id;
	}
	weir_port_ctr_add(&rxq->stats.packets, n);
	weir_port_ctr_add(&rxq->stats.bytes, (uint64_t)n * size);
	return n;
}

static uint16_t null_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n)
{
	uint64_t bytes = 0;

	for (uint16_t i = 0; i < n; i++)
		bytes += pkts[i]->pkt_len;
	weir_pkt_free_bulk(pkts, n);
	weir_port_ctr_add(&txq->stats.packets, n);
	weir_port_ctr_add(&txq->stats.bytes, bytes);
	weir_port_ctr_add(&txq->done_pkts, n);
	weir_port_ctr_add(&txq->done_bytes, bytes);
	return n;
}

static int null_open(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct null_priv *priv = port->priv;
	uint64_t nq, size;
	int err;

	if ((err = weir_port_arg_u64(port, "queues", conf->nb_rxq ? conf->nb_rxq : 1, 1, 64,
				     &nq)) ||
	    (err = weir_port_arg_u64(port, "size", 64, 14, 65535, &size)))
		return err;
	if (!conf->pool)
		return weir_port_fail(port, -EINVAL, "needs a packet pool to receive from");
	if (size > conf->pool->buf_size - conf->pool->headroom)
		return weir_port_fail(port, -EINVAL,
				      "size=%llu does not fit the pool's %u-byte buffers",
				      (unsigned long long)size,
				      conf->pool->buf_size - conf->pool->headroom);
	priv->size = (uint16_t)size;
	err = weir_port_alloc_queues(port, (uint16_t)nq, (uint16_t)nq);
	if (err)
		return weir_port_fail(port, err, "out of memory");
	memcpy(port->mac, (uint8_t[]){0x02, 0x6e, 0x75, 0x6c, 0x6c, 0x00}, 6);
	/* It drops what it is given: anything goes. */
	port->tx_offloads = WEIR_PORT_OFFLOAD_CSUM | WEIR_PORT_OFFLOAD_GSO_TCP |
			    WEIR_PORT_OFFLOAD_GSO_UDP;
	port->rx_offloads = 0; /* whole frames of size= bytes, checksums as built */
	return 0;
}

static void null_close(struct weir_port *port)
{
	(void)port;
}

static const struct weir_port_param null_params[] = {
	{"queues", "queue pairs, default 1", NULL},
	{"size", "bytes per received packet, default 64", NULL},
	{NULL, NULL, NULL},
};

static const struct weir_port_ops null_ops = {
	.open = null_open,
	.rx_burst = null_rx_burst,
	.tx_burst = null_tx_burst,
	.close = null_close,
};

static struct weir_port_driver null_driver = {
	.name = "null",
	.help = "null: — receives generated packets, drops what it sends",
	.ops = &null_ops,
	.params = null_params,
	.priv_size = sizeof(struct null_priv),
};

WEIR_PORT_DRIVER_REGISTER(null_driver)
