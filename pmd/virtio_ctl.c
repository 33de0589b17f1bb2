// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio: surviving a backend restart (reconnect=1, the default with
 * server=1). A control thread per port watches the vhost-user connection.
 * When the backend goes away it takes the queues from the lcores (the
 * guard in virtio_internal.h: bursts return 0 meanwhile, so senders keep
 * their packets), gives every buffer the rings held back to the pool (RX
 * buffers are posted again later; TX frames in flight are lost with the
 * backend: counted as dropped and completed), empties the rings, and
 * waits for a backend to come back: accepting on the socket it keeps
 * listening on (server), or connecting every 100 ms (client). Then the
 * whole session is set up again (same features required) and the queues
 * are handed back. Counters: xstats reconnects, rx_reposted,
 * tx_lost_in_flight.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "weir/log.h"

#include "virtio_internal.h"

#define VT_RETRY_MS 100

/* Blocks until the connection ends (true) or close asks to stop (false). */
static bool wait_lost(struct vt_priv *v)
{
	for (;;) {
		struct pollfd pf[2] = {{.fd = v->conn.fd, .events = POLLIN | POLLRDHUP},
				       {.fd = v->stop_fd, .events = POLLIN}};
		char buf[256];
		ssize_t r;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;
		}
		if (pf[1].revents)
			return false;
		/* Nothing is due from a backend between requests: bytes are
		 * read and dropped, the end of the stream is the news. */
		r = recv(v->conn.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return true;
	}
}

/* Takes every queue from the lcores (see struct vt_guard). */
static void pause_queues(struct weir_port *port)
{
	struct vt_priv *v = port->priv;

	atomic_store_explicit(&v->pause, true, memory_order_seq_cst);
	for (uint16_t i = 0; i < v->nq; i++) {
		struct vt_rxq *rx = (struct vt_rxq *)port->fp.rxq[i];
		struct vt_txq *tx = (struct vt_txq *)port->fp.txq[i];

		while (atomic_load_explicit(&rx->guard.busy, memory_order_seq_cst) ||
		       atomic_load_explicit(&tx->guard.busy, memory_order_seq_cst))
			usleep(20);
	}
}

/* Release: the queues' new state is seen by a burst that reads pause. */
static void resume_queues(struct vt_priv *v)
{
	atomic_store_explicit(&v->pause, false, memory_order_release);
}

static void reset_queues(struct weir_port *port, uint32_t *reposted, uint32_t *lost)
{
	struct vt_priv *v = port->priv;

	*reposted = *lost = 0;
	for (uint16_t i = 0; i < v->nq; i++) {
		*reposted += vt_rxq_reset((struct vt_rxq *)port->fp.rxq[i]);
		*lost += vt_txq_reset((struct vt_txq *)port->fp.txq[i]);
	}
	weir_port_ctr_add(&v->rx_reposted, *reposted);
	weir_port_ctr_add(&v->tx_lost, *lost);
}

/* Waits for a backend and sets the session up on it: 0, -ECANCELED
 * (close asked), or another -errno the port dies of (other features). */
static int reconnect(struct weir_port *port)
{
	struct vt_priv *v = port->priv;

	for (;;) {
		int err = vhu_connect(&v->conn, v->path, v->server, v->server ? -1 : VT_RETRY_MS,
				      v->stop_fd);
		struct pollfd pf = {.fd = v->stop_fd, .events = POLLIN};

		if (err == -ECANCELED)
			return err;
		if (!err) {
			err = vt_session(port, false);
			if (!err)
				return 0;
			vhu_close(&v->conn);
			if (err == -EPROTO && strstr(port->err, "features"))
				return err;
			WEIR_WARN("%s", port->err);
		}
		/* Client: nobody listens yet; try again shortly. */
		if (poll(&pf, 1, VT_RETRY_MS) > 0)
			return -ECANCELED;
	}
}

static void *ctl_main(void *arg)
{
	struct weir_port *port = arg;
	struct vt_priv *v = port->priv;
	uint32_t reposted, lost;
	int err;

	while (wait_lost(v)) {
		if (weir_port_is_dead(port))
			break; /* it broke the rules before it left: stay dead */
		pause_queues(port);
		vhu_close(&v->conn);
		reset_queues(port, &reposted, &lost);
		WEIR_WARN("%s: the vhost-user backend went away (%u RX buffers back to the pool, "
			  "%u TX frames in flight lost); waiting for it to come back on %s",
			  port->label, reposted, lost, v->path);
		err = reconnect(port);
		if (err == -ECANCELED)
			break; /* close: the queues stay paused, close frees them */
		if (err) {
			weir_port_died(port, "%s", port->err);
			resume_queues(v);
			break;
		}
		weir_port_ctr_add(&v->reconnects, 1);
		WEIR_INFO("%s: the vhost-user backend is back (reconnect %llu)", port->label,
			  (unsigned long long)weir_port_ctr_read(&v->reconnects));
		resume_queues(v);
	}
	return NULL;
}

int vt_ctl_start(struct weir_port *port)
{
	struct vt_priv *v = port->priv;
	int err;

	v->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (v->stop_fd < 0)
		return weir_port_fail(port, -errno, "eventfd: %s", strerror(errno));
	err = pthread_create(&v->ctl, NULL, ctl_main, port);
	if (err)
		return weir_port_fail(port, -err, "cannot start the reconnect thread: %s",
				      strerror(err));
	v->ctl_started = true;
	return 0;
}

void vt_ctl_stop(struct weir_port *port)
{
	struct vt_priv *v = port->priv;
	uint64_t one = 1;

	if (v->ctl_started) {
		if (write(v->stop_fd, &one, sizeof(one)) < 0)
			WEIR_WARN("%s: cannot stop the reconnect thread: %s", port->label,
				  strerror(errno));
		pthread_join(v->ctl, NULL);
		v->ctl_started = false;
	}
	if (v->stop_fd >= 0)
		close(v->stop_fd);
	v->stop_fd = -1;
}
