/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the files of the afxdp driver share: the queue, port and UMEM
 * structures, and the calls one file makes into another. afxdp.c is the
 * control path (options, sockets, open and close, statistics) with the ops
 * table and registration; afxdp_rxtx.c the data path; afxdp_umem.c the
 * UMEMs shared between ports; afxdp_prog.c the XDP program and the
 * libbpf/libxdp messages; afxdp_gso.c the packet sockets for super-frames; afxdp_stats.c the
 * statistics. The cross-file names are afxdp_*, never weir_*:
 * libweir exports weir_* only.
 */
#ifndef WEIR_PMD_AFXDP_INTERNAL_H
#define WEIR_PMD_AFXDP_INTERNAL_H

#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "weir/port_driver.h"

#include "afxdp_steer.h"

#define XDP_HEADROOM 256 /* XDP_PACKET_HEADROOM, in front of every RX frame */
/* Older uapi headers (Debian's 6.1) lack the multi-buffer names. */
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif
#define FILL_BATCH 64    /* refill granularity */
/* Segments of a super-frame received by gso_rx at most (2 KiB buffers). */
#define AFXDP_GSO_RX_SEGS 40
#define MAX_QUEUES 64
/* An RX queue with nothing to receive looks for a vanished device this often. */
#define AFXDP_DEAD_CHECK_NS (200 * WEIR_NS_PER_MS)
/* What weir_port_died says, with the reason. */
#define AFXDP_GONE "the interface went away (%s); the port is dead, close it"
/* Room for what libbpf/libxdp say during one open. */
#define AFXDP_LIB_MSGS_SIZE 4096

/* Indexes into the choices strings of afxdp_params. */
enum { MODE_NATIVE, MODE_SKB, MODE_AUTO };
enum { TRI_AUTO, TRI_ON, TRI_OFF };
enum { PROG_DEFAULT, PROG_WEIR, PROG_PATH };

/*
 * One UMEM: a pool's data area registered with the kernel, shared by every
 * socket opened on that pool. owner[i] says which socket holds buffer i
 * (in a fill ring, RX ring, TX ring or completion ring), 0 when weir does,
 * so closing a socket gives back exactly what the kernel still held.
 *
 * libxdp makes the UMEM's own socket the first XSK bound to it; when ports
 * share a pool, that socket (and its device queue) stays bound until the
 * last of them closes, so reopening the first port's queue 0 while another
 * port still uses the pool fails with "already in use".
 */
struct umem_share {
	struct weir_pool *pool;
	struct xsk_umem *umem;
	struct xsk_ring_prod fill0; /* rings made with the UMEM, for its first socket */
	struct xsk_ring_cons comp0;
	uint16_t *owner;
	uint16_t next_id;
	uint32_t fill_size, comp_size;
	bool sg, need_wakeup, zc;
	int ports;   /* ports using this UMEM */
	bool bound;  /* a socket has bound it: later ones share its flags */
	struct umem_share *next;
};

struct afxdp_rxq {
	struct weir_rxq q; /* first: the framework's view */
	struct xsk_ring_cons rx;
	struct xsk_ring_prod fill;
	struct weir_pool *pool;
	uint16_t *owner;
	uint16_t sock_id;
	int fd;
	bool busy_poll;
	bool csum_fix; /* csum=fix: complete partial checksums of received frames */
	bool warned_csum;
	bool skip_frame; /* dropping the rest of a multi-buffer frame (bad_desc) */
	uint32_t fill_target; /* buffers kept in the kernel for RX */
	uint32_t fill_held;
	uint32_t empty_polls;
	weir_ns_t dead_checked; /* when check_dead last ran */
	uint64_t fill_kicks, rx_kicks, rx_multibuf, rx_bad_desc, rx_csum_completed;
	/* gso_rx (afxdp_gso.c): the packet socket for super-frames, -1: none;
	 * wait_fd an epoll fd over it and fd (-1: fd alone). */
	int gso_rx_fd, wait_fd;
	bool gso_hot;      /* the last read of it found frames */
	uint32_t gso_cold; /* bursts since, while it was empty */
	uint16_t gso_stashed;
	struct weir_pkt *gso_stash[AFXDP_GSO_RX_SEGS]; /* buffers for the next frame */
	uint64_t rx_gso_frames, rx_gso_nombuf, rx_gso_errors;
};

struct afxdp_txq {
	struct weir_txq q;
	struct xsk_ring_prod tx;
	struct xsk_ring_cons comp;
	struct weir_pool *pool;
	uint16_t *owner;
	uint16_t sock_id;
	int fd;
	bool sg, busy_poll;
	uint32_t in_flight; /* descriptors on the TX or completion ring */
	bool warned_gso;
	uint64_t tx_copies, tx_kicks, tx_kick_errors, tx_too_big, tx_multibuf, tx_csum_completed;
	uint64_t tx_bad_comp; /* completion addresses of no buffer this socket sent */
	int gso_fd; /* afxdp_gso.c's packet socket for super-frames, -1: none */
	bool zc;    /* zero-copy: a super-frame waits for completions, not consumption */
	uint64_t tx_gso_sent, tx_gso_again, tx_gso_waits;
};

struct afxdp_priv {
	int ifindex;
	uint16_t nq, start_queue;
	struct umem_share *us;
	struct xsk_socket *xsk[MAX_QUEUES];
	int mode_req, zc_req, sg_req, prog_kind;
	bool busy_poll, csum_fix;
	int gso_req; /* gso_tx=: TRI_* */
	bool gso_rx; /* gso_rx: skb mode, super-frames by a packet socket */
	uint32_t fill; /* fill= : buffers kept in the fill ring, 0 = default */
	uint32_t rx_ring; /* rx_ring= : RX ring descriptors, 0 = default */
	enum xdp_attach_mode got_mode;
	bool got_zc, got_sg;
	struct xdp_program *prog; /* weir's or the user's; NULL for libxdp's default */
	int xsks_map_fd, stats_map_fd;
	struct weir_steer_cfg steer;
	char *verifier_log;
	int memfd;
};

/* --- afxdp_stats.c: statistics (the ops table's stats and xstats) ---------- */

void afxdp_stats(struct weir_port *port, struct weir_port_stats *st);
int afxdp_xstats(struct weir_port *port, struct weir_xstat *x, int n);

/* --- afxdp_rxtx.c: the data path ----------------------------------------- */

uint16_t afxdp_rx_burst(struct weir_rxq *q, struct weir_pkt **pkts, uint16_t n);
uint16_t afxdp_tx_burst(struct weir_txq *q, struct weir_pkt **pkts, uint16_t n);
uint16_t afxdp_tx_done(struct weir_txq *q);
/* True when nothing the queue put on the XDP TX ring can still leave after
 * a frame sent now by another path (afxdp_gso.c's ordering rule); reaps and
 * kicks as needed. */
bool afxdp_tx_drained(struct afxdp_txq *txq);

/* --- afxdp_gso.c: super-frames by a packet socket ------------------------ */

/* Opens txq's packet socket (PACKET_VNET_HDR, PACKET_QDISC_BYPASS) on
 * ifindex: 0, or a negative errno said through weir_port_fail; gso_fd is
 * -1 on failure. */
int afxdp_gso_open(struct weir_port *port, struct afxdp_txq *txq, int ifindex);
void afxdp_gso_close(struct afxdp_txq *txq);
/* Sends super-frame p whole (the caller frees it): 0, -EAGAIN (try again
 * later), or another negative errno (counted; drop it). */
int afxdp_gso_send(struct afxdp_txq *txq, const struct weir_pkt *p);
/* Opens rxq's packet socket for frames longer than pass_over (0: all; gso_rx:
 * what weir's program passes to the kernel in skb mode) and an epoll fd
 * over it and rxq->fd (rxq->wait_fd). 0, or a negative errno said through
 * weir_port_fail. */
int afxdp_gso_rx_open(struct weir_port *port, struct afxdp_rxq *rxq, int ifindex, uint32_t pass_over);
/* Closes both and gives back the buffers it held. */
void afxdp_gso_rx_close(struct afxdp_rxq *rxq);
/* Up to n super-frames from rxq's socket, with their offload metadata;
 * xsk_idle: the XDP ring had nothing (an empty socket is then read every
 * time, else one burst in a few). rxq's lcore. */
uint16_t afxdp_gso_rx(struct afxdp_rxq *rxq, struct weir_pkt **pkts, uint16_t n, bool xsk_idle);
int afxdp_wait_fd(struct weir_rxq *q);
/* Keeps fill_target buffers in the kernel's hands for RX (queue's lcore,
 * or the control path before the lcores start). */
void afxdp_refill(struct afxdp_rxq *rxq);

/* --- afxdp_umem.c: UMEMs shared by the ports of one pool ------------------ */

/* The lock over the UMEM list, held by the control path from getting a
 * UMEM until every socket of the port is bound, and in close. */
void afxdp_umem_lock(void);
void afxdp_umem_unlock(void);
/* The UMEM of port->pool, registered on first use (rings of fill_size and
 * comp_size), with one more port on it; NULL with *err and the port's
 * message set. Under the lock. */
struct umem_share *afxdp_umem_get(struct weir_port *port, uint32_t fill_size,
				  uint32_t comp_size, int *err);
/* One port fewer on us; the last one unregisters it. Under the lock. */
void afxdp_umem_put(struct umem_share *us);
/* Unregisters and registers us again: frees the queue a failed first
 * socket left bound. 0 or -errno. Under the lock. */
int afxdp_umem_renew(struct umem_share *us);
/* Gives back every buffer the socket with this id still had. Under the
 * lock, after the socket is gone. */
void afxdp_umem_reclaim(struct umem_share *us, uint16_t id);
/* A new socket id for the owner map (never 0: weir's own). Under the lock. */
uint16_t afxdp_umem_sock_id(struct umem_share *us);

/* --- afxdp_prog.c: the XDP program, libbpf/libxdp messages ---------------- */

/* The print callbacks that were installed before afxdp_lib_print_take(). */
struct afxdp_lib_print {
	libbpf_print_fn_t bpf;
	libxdp_print_fn_t xdp;
};

/* Routes libbpf/libxdp messages to weir's log until give_back, which
 * restores what was there (see afxdp_prog.c). Control thread. */
struct afxdp_lib_print afxdp_lib_print_take(void);
void afxdp_lib_print_give_back(struct afxdp_lib_print prev);
/* Keeps the libraries' warnings in buf (AFXDP_LIB_MSGS_SIZE bytes) from
 * now on, on this thread; NULL stops keeping. */
void afxdp_lib_msgs_keep(char *buf);
/* What they said since, or NULL when nothing (or nothing is kept). */
const char *afxdp_lib_said(void);

/* Mounts bpffs where libxdp wants it, if it is missing: 0 or -errno with
 * the port's message set. */
int afxdp_ensure_bpffs(struct weir_port *port);
/* Loads weir's steering program (path NULL) or the object at path and
 * attaches it as mode= asks (auto: native, else skb, said in notes);
 * sets priv->prog, xsks_map_fd, stats_map_fd. 0 or -errno with the port's
 * message set. */
int afxdp_attach_prog(struct weir_port *port, const char *path, char *notes, size_t nlen);
/* The mode the interface's XDP program (libxdp's dispatcher) runs in. */
enum xdp_attach_mode afxdp_attached_mode(int ifindex);
const char *afxdp_mode_name(enum xdp_attach_mode m);

#endif
