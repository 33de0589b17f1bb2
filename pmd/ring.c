// SPDX-License-Identifier: BSD-3-Clause
/*
 * ring: two ports joined back to back in memory. The first open of
 * ring:NAME is end A, the second end B; what A transmits on queue q, B
 * receives on queue q, and the other way round. With loopback=1 one port
 * receives what it transmits. Packets move as pointers through one SPSC
 * ring per direction and queue: no copy, no kernel. For tests, benchmarks
 * and pipelines inside one process.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/port_driver.h"

#define RING_MAX_QUEUES 64

struct ring_pair {
	char name[64];
	struct ring_pair *next;
	uint16_t nb_queues;
	uint32_t size;
	int ends;         /* open ends (1 or 2) */
	bool taken[2];
	struct weir_ring **dir[2]; /* dir[d][q]: frames sent by end d */
};

struct ring_rxq {
	struct weir_rxq q;
	struct weir_ring *r;
};

struct ring_txq {
	struct weir_txq q;
	struct weir_ring *r;
};

struct ring_priv {
	struct ring_pair *pair;
	int end;
	bool loop;
};

static pthread_mutex_t pairs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ring_pair *pairs;

static void pair_destroy(struct ring_pair *p)
{
	for (int d = 0; d < 2; d++) {
		if (!p->dir[d])
			continue;
		for (uint16_t q = 0; q < p->nb_queues; q++) {
			struct weir_ring *r = p->dir[d][q];
			void *obj;

			if (!r)
				continue;
			/* Frames nobody received are freed, not leaked. */
			while (weir_ring_dequeue(r, &obj) == 0)
				weir_pkt_free(obj);
			weir_ring_destroy(r);
		}
		free(p->dir[d]);
	}
	free(p);
}

static struct ring_pair *pair_create(const char *name, uint16_t nq, uint32_t size, int *err)
{
	struct ring_pair *p = calloc(1, sizeof(*p));

	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->nb_queues = nq;
	p->size = size;
	for (int d = 0; d < 2; d++) {
		p->dir[d] = calloc(nq, sizeof(*p->dir[d]));
		if (!p->dir[d])
			goto nomem;
		for (uint16_t q = 0; q < nq; q++) {
			*err = weir_ring_create(name, size, WEIR_RING_SP_ENQ | WEIR_RING_SC_DEQ,
						&p->dir[d][q]);
			if (*err < 0) {
				pair_destroy(p);
				return NULL;
			}
		}
	}
	return p;
nomem:
	pair_destroy(p);
	*err = -ENOMEM;
	return NULL;
}

static uint16_t ring_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n)
{
	struct ring_rxq *q = (struct ring_rxq *)rxq;
	uint32_t got = weir_ring_dequeue_burst(q->r, (void **)pkts, n);
	uint64_t bytes = 0;

	for (uint32_t i = 0; i < got; i++) {
		pkts[i]->port = rxq->port->id;
		pkts[i]->queue = rxq->id;
		bytes += pkts[i]->pkt_len;
	}
	weir_port_ctr_add(&rxq->stats.packets, got);
	weir_port_ctr_add(&rxq->stats.bytes, bytes);
	return (uint16_t)got;
}

static uint16_t ring_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n)
{
	struct ring_txq *q = (struct ring_txq *)txq;
	uint32_t sent = weir_ring_enqueue_burst(q->r, (void *const *)pkts, n);
	uint64_t bytes = 0;

	for (uint32_t i = 0; i < sent; i++)
		bytes += pkts[i]->pkt_len;
	weir_port_ctr_add(&txq->stats.packets, sent);
	weir_port_ctr_add(&txq->stats.bytes, bytes);
	/* A ring "completes" at once: the frame is the peer's now. */
	weir_port_ctr_add(&txq->done_pkts, sent);
	weir_port_ctr_add(&txq->done_bytes, bytes);
	return (uint16_t)sent;
}

static void ring_close(struct weir_port *port);

static int ring_open(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct ring_priv *priv = port->priv;
	uint64_t nq, size, loop;
	struct ring_pair *p;
	int err, end;

	if (!port->ifname[0])
		return weir_port_fail(port, -EINVAL, "needs a name: ring:NAME (both ends use it)");
	if ((err = weir_port_arg_u64(port, "queues", conf->nb_rxq ? conf->nb_rxq : 1, 1,
				     RING_MAX_QUEUES, &nq)) ||
	    (err = weir_port_arg_u64(port, "size", conf->rx_size ? conf->rx_size : 1024, 2,
				     1 << 20, &size)) ||
	    (err = weir_port_arg_u64(port, "loopback", 0, 0, 1, &loop)))
		return err;
	if (!weir_is_pow2(size))
		return weir_port_fail(port, -EINVAL, "size=%llu is not a power of two",
				      (unsigned long long)size);

	pthread_mutex_lock(&pairs_lock);
	for (p = pairs; p; p = p->next)
		if (!strcmp(p->name, port->ifname))
			break;
	if (p && (loop || p->ends == 2 || p->nb_queues != nq)) {
		uint16_t other_nq = p->nb_queues;
		int ends = p->ends;

		/* Copy what the message needs: p may go once unlocked. */
		pthread_mutex_unlock(&pairs_lock);
		if (ends == 2)
			return weir_port_fail(port, -EBUSY,
					      "both ends are open already (a ring has two ends)");
		if (loop)
			return weir_port_fail(port, -EBUSY,
					      "loopback=1 takes both ends, but one is open already");
		return weir_port_fail(port, -EINVAL,
				      "the other end has queues=%u; both ends need the same",
				      other_nq);
	}
	if (!p) {
		p = pair_create(port->ifname, (uint16_t)nq, (uint32_t)size, &err);
		if (!p) {
			pthread_mutex_unlock(&pairs_lock);
			return weir_port_fail(port, err, "cannot create rings: %s", strerror(-err));
		}
		p->next = pairs;
		pairs = p;
	}
	end = p->taken[0] ? 1 : 0;
	p->taken[end] = true;
	p->ends++;
	if (loop) {
		p->taken[1] = true;
		p->ends = 2;
	}
	pthread_mutex_unlock(&pairs_lock);

	priv->pair = p;
	priv->end = end;
	priv->loop = loop;
	err = weir_port_alloc_queues(port, (uint16_t)nq, (uint16_t)nq);
	if (err) {
		/* weir_port_open() does not call close after a failed open. */
		ring_close(port);
		return weir_port_fail(port, err, "out of memory");
	}
	for (uint16_t q = 0; q < nq; q++) {
		((struct ring_txq *)port->fp.txq[q])->r = p->dir[end][q];
		((struct ring_rxq *)port->fp.rxq[q])->r = p->dir[loop ? end : !end][q];
	}
	/* Locally administered MAC derived from the end. */
	memcpy(port->mac, (uint8_t[]){0x02, 0x77, 0x65, 0x69, 0x72, (uint8_t)end}, 6);
	/* Packets cross in memory with their metadata: the other end's
	 * application sees partial checksums and super-frames as they are. */
	port->tx_offloads = WEIR_PORT_OFFLOAD_CSUM | WEIR_PORT_OFFLOAD_GSO_TCP |
			    WEIR_PORT_OFFLOAD_GSO_UDP;
	return 0;
}

static void ring_close(struct weir_port *port)
{
	struct ring_priv *priv = port->priv;
	struct ring_pair *p = priv->pair, **pp;

	if (!p)
		return;
	pthread_mutex_lock(&pairs_lock);
	p->taken[priv->end] = false;
	if (priv->loop)
		p->ends = 0; /* one port held both ends */
	else
		p->ends--;
	if (p->ends == 0) {
		for (pp = &pairs; *pp; pp = &(*pp)->next) {
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		}
		pair_destroy(p);
	}
	pthread_mutex_unlock(&pairs_lock);
	priv->pair = NULL;
}

static const struct weir_port_param ring_params[] = {
	{"queues", "queue pairs (both ends alike), default 1", NULL},
	{"size", "slots per queue and direction, a power of two, default 1024", NULL},
	{"loopback", "1: receive what this port sends (one end only)", "0|1"},
	{NULL, NULL, NULL},
};

static const struct weir_port_ops ring_ops = {
	.open = ring_open,
	.rx_burst = ring_rx_burst,
	.tx_burst = ring_tx_burst,
	.close = ring_close,
};

static struct weir_port_driver ring_driver = {
	.name = "ring",
	.help = "ring:NAME — two ports joined back to back in memory",
	.ops = &ring_ops,
	.params = ring_params,
	.priv_size = sizeof(struct ring_priv),
	.rxq_size = sizeof(struct ring_rxq),
	.txq_size = sizeof(struct ring_txq),
};

WEIR_PORT_DRIVER_REGISTER(ring_driver)
