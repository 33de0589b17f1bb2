// SPDX-License-Identifier: BSD-3-Clause
/*
 * afxdp's UMEMs: a pool's data area registered with the kernel once and
 * shared by every AF_XDP socket opened on that pool (XDP_SHARED_UMEM), so
 * two ports on one pool forward without a copy. The list of UMEMs and
 * their reference counts live here, under one lock that the control path
 * holds while it creates sockets; the owner map (which socket holds which
 * buffer) lets a closing socket give back exactly what the kernel still
 * had.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/pool.h"

#include "afxdp_internal.h"

static pthread_mutex_t umem_lock = PTHREAD_MUTEX_INITIALIZER;
static struct umem_share *umem_list;

void afxdp_umem_lock(void)
{
	pthread_mutex_lock(&umem_lock);
}

void afxdp_umem_unlock(void)
{
	pthread_mutex_unlock(&umem_lock);
}

static int umem_register(struct umem_share *us)
{
	struct weir_pool *pool = us->pool;
	struct xsk_umem_config cfg = {
		.fill_size = us->fill_size,
		.comp_size = us->comp_size,
		.frame_size = pool->buf_size,
		.frame_headroom = pool->headroom,
		.flags = 0,
	};

	return xsk_umem__create(&us->umem, pool->data, (uint64_t)pool->n * pool->buf_size,
				&us->fill0, &us->comp0, &cfg);
}

/* A first socket that bound but then failed (e.g. the XDP program would
 * not attach in native mode) leaves libxdp's UMEM socket bound to the
 * queue; only closing it frees the queue for the next attempt. */
int afxdp_umem_renew(struct umem_share *us)
{
	xsk_umem__delete(us->umem);
	us->umem = NULL;
	return umem_register(us);
}

struct umem_share *afxdp_umem_get(struct weir_port *port, uint32_t fill_size,
				  uint32_t comp_size, int *err)
{
	struct weir_pool *pool = port->pool;
	struct umem_share *us;
	int e;

	for (us = umem_list; us; us = us->next) {
		if (us->pool == pool) {
			us->ports++;
			return us;
		}
	}
	us = calloc(1, sizeof(*us));
	if (!us) {
		*err = weir_port_fail(port, -ENOMEM, "out of memory");
		return NULL;
	}
	us->owner = calloc(pool->n, sizeof(*us->owner));
	if (!us->owner) {
		free(us);
		*err = weir_port_fail(port, -ENOMEM, "out of memory");
		return NULL;
	}
	us->pool = pool;
	us->fill_size = fill_size;
	us->comp_size = comp_size;
	e = umem_register(us);
	if (e) {
		free(us->owner);
		free(us);
		if (e == -EPERM)
			*err = weir_port_fail(port, e,
					      "cannot register the pool as a UMEM: not permitted "
					      "(needs CAP_NET_RAW and CAP_IPC_LOCK, or root)");
		else
			*err = weir_port_fail(port, e,
					      "cannot register pool '%s' (%u x %u B) as a UMEM: %s "
					      "(chunks must be 2048..4096 B, a power of two)",
					      pool->name, pool->n, pool->buf_size, strerror(-e));
		return NULL;
	}
	us->ports = 1;
	us->next = umem_list;
	umem_list = us;
	return us;
}

void afxdp_umem_reclaim(struct umem_share *us, uint16_t id)
{
	struct weir_pool *pool = us->pool;

	for (uint32_t i = 0; i < pool->n; i++) {
		if (us->owner[i] == id) {
			struct weir_pkt *p = weir_pool_pkt_at(pool, i);

			us->owner[i] = 0;
			p->next = NULL;
			weir_pkt_free_seg(p);
		}
	}
}

void afxdp_umem_put(struct umem_share *us)
{
	struct umem_share **pp;

	if (--us->ports > 0)
		return;
	for (pp = &umem_list; *pp; pp = &(*pp)->next) {
		if (*pp == us) {
			*pp = us->next;
			break;
		}
	}
	xsk_umem__delete(us->umem);
	free(us->owner);
	free(us);
}

uint16_t afxdp_umem_sock_id(struct umem_share *us)
{
	if (++us->next_id == 0)
		us->next_id = 1;
	return us->next_id;
}
