/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports, as applications see them: open a port by its spec, move bursts of
 * packets through its queues, read its counters, close it. The driver side
 * (the ops table, the queue structures, registration, argument parsing)
 * is weir/port_driver.h, which applications do not include (DPDK splits
 * rte_ethdev.h from ethdev_driver.h the same way).
 *
 * A port is named by a spec string a person can type:
 *     driver:name?key=value&key=value
 * e.g. afpacket:veth0?queues=2&fanout=hash, ring:loop0, null:?size=64.
 * weir_port_open() parses it, checks every key against the driver's table
 * and says exactly what was wrong and what is valid.
 *
 * Bursts take an array and a count and return how many were done; the
 * caller keeps ownership of what was not taken. Each queue belongs to one
 * lcore: the fast path takes no lock. struct weir_port is opaque but for
 * its first member, the few words the inline bursts read (struct
 * weir_port_fp, DPDK's rte_eth_fp_ops): one load for the function, one
 * for the queue.
 */
#ifndef WEIR_PORT_H
#define WEIR_PORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "pkt.h"
#include "pool.h"

struct weir_port;
struct weir_rxq; /* a driver's queue: weir/port_driver.h */
struct weir_txq;

/* One queue's counters (weir_port_queue_stats). */
struct weir_queue_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;  /* rx: lost before weir saw them; tx: refused */
	uint64_t errors; /* malformed, failed */
	uint64_t nombuf; /* rx: packets not received for want of buffers; tx: 0 */
};

/*
 * What a port's transmit side takes besides complete wire frames. A packet
 * with WEIR_PKT_OL_CSUM_PARTIAL given to a port without OFFLOAD_CSUM has its
 * checksum completed in software by the driver (counted); a super-frame
 * (weir_pkt_is_gso) given to a port without the matching GSO bit is dropped
 * and counted as too big, so callers segment first (weir_gso_segment).
 */
enum weir_port_offload {
	WEIR_PORT_OFFLOAD_CSUM = 1 << 0,    /* partial L4 checksums are completed below weir */
	WEIR_PORT_OFFLOAD_GSO_TCP = 1 << 1, /* TCPv4/TCPv6 super-frames go out whole */
	WEIR_PORT_OFFLOAD_GSO_UDP = 1 << 2, /* UDP_L4 super-frames go out whole */
	/* TX: a super-frame costs what is past the port less than its segments
	 * (a kernel or a guest takes it whole), so coalescing for it pays. */
	WEIR_PORT_OFFLOAD_GSO_GAIN = 1 << 3,
};

struct weir_port_stats {
	uint64_t ipackets, ibytes, imissed, ierrors, rx_nombuf;
	uint64_t opackets, obytes, oerrors, odropped;
};

#define WEIR_XSTAT_NAMESIZE 48
struct weir_xstat {
	char name[WEIR_XSTAT_NAMESIZE];
	uint64_t value;
};

struct weir_port_conf {
	struct weir_pool *pool; /* RX buffers; required by drivers that receive */
	uint16_t nb_rxq;        /* 0: the spec's queues= or 1 */
	uint16_t nb_txq;        /* 0: same as nb_rxq */
	uint32_t rx_size;       /* descriptors per RX queue, 0: driver default */
	uint32_t tx_size;       /* descriptors per TX queue, 0: driver default */
};

/* Room for the message weir_port_open() writes into why. */
#define WEIR_PORT_ERRSIZE 256

/* A driver's burst and completion calls (weir/port_driver.h). */
typedef uint16_t (*weir_port_rx_burst_fn)(struct weir_rxq *, struct weir_pkt **, uint16_t n);
typedef uint16_t (*weir_port_tx_burst_fn)(struct weir_txq *, struct weir_pkt **, uint16_t n);
typedef uint16_t (*weir_port_tx_done_fn)(struct weir_txq *);

/*
 * The first member of every struct weir_port: what the inline calls below
 * read, copied from the driver's ops when the port opens and fixed until
 * it closes (dead aside), but for the bursts a tap (below) wraps while set. Visible only so that the bursts can be inline;
 * the fields are the library's, applications use the functions.
 */
struct weir_port_fp {
	weir_port_rx_burst_fn rx_burst;
	weir_port_tx_burst_fn tx_burst;
	weir_port_tx_done_fn tx_done; /* NULL: tx_burst completes at once */
	struct weir_rxq **rxq;
	struct weir_txq **txq;
	uint16_t nb_rxq;
	uint16_t nb_txq;
	_Atomic bool dead; /* the device vanished (weir_port_died) */
};

/* The fast-path view of a port (C11 6.7.2.1: a pointer to a struct is a
 * pointer to its first member). Not API. */
static inline const struct weir_port_fp *weir_port_fp_of(const struct weir_port *port)
{
	return (const struct weir_port_fp *)(const void *)port;
}

/*
 * Opens the port named by spec. Returns 0 and sets *out, or a negative
 * errno and writes a message for people into why (naming the spec, the
 * problem, and what is valid). Errors: -EINVAL (bad spec), -ENOENT (no such
 * driver or device), -EPERM (missing privilege, named), others from the
 * driver. Not thread-safe; call from the control thread.
 */
int weir_port_open(const char *spec, const struct weir_port_conf *conf, struct weir_port **out,
		   char *why, size_t whylen);
/*
 * The capabilities (bit CAP_x of linux/capability.h) that the ports opened
 * so far in this process still need until they close (an AF_XDP port
 * detaches its XDP program at close: CAP_NET_ADMIN, CAP_SYS_ADMIN,
 * CAP_BPF); an app may drop every other one once its ports are open.
 */
uint64_t weir_port_caps_kept(void);
/* Closes the port and frees it; NULL is a no-op. No burst may run on it
 * any more. Control thread. */
void weir_port_close(struct weir_port *port);
/* True when the driver spec names lends the pool's memory to another
 * process (virtio: a vhost-user backend maps it), so the pool given to
 * weir_port_open() must be created with weir_pool_conf.shared. False for
 * unknown drivers (weir_port_open says what is wrong with those). */
bool weir_port_spec_shares_pool(const char *spec);
/* Writes "a, b, c" (the registered driver names) into buf. */
void weir_port_driver_list(char *buf, size_t len);

/* --- what the port is (fixed once open; any thread) ----------------------- */

/* "driver:name", for messages. */
const char *weir_port_label(const struct weir_port *port);
/* The spec as given to weir_port_open(). */
const char *weir_port_spec(const struct weir_port *port);
uint16_t weir_port_nb_rxq(const struct weir_port *port);
uint16_t weir_port_nb_txq(const struct weir_port *port);
/* The id weir gave the port at open; received packets carry it in ->port. */
uint16_t weir_port_id(const struct weir_port *port);
/* The port's Ethernet address (all zeros when it has none) into mac. */
void weir_port_mac(const struct weir_port *port, uint8_t mac[6]);
/* The largest L3 payload a frame may carry (1500 unless the device says). */
uint32_t weir_port_mtu(const struct weir_port *port);
/* True for a veth or tap interface named ifname: its peer is a Linux stack
 * whose defaults (tx-checksumming, TSO/GSO on) send partial checksums and
 * super-frames. False for anything else, or an interface that is not there. */
bool weir_port_iface_is_virtual_peer(const char *ifname);
/* enum weir_port_offload bits of what the port's transmit side takes. */
uint32_t weir_port_tx_offloads(const struct weir_port *port);
/* enum weir_port_offload bits of what the port's receive side may deliver:
 * GSO_TCP / GSO_UDP when super-frames of that kind can arrive. A port
 * without them never gives a packet with gso_type set, so a forwarder can
 * skip looking for one. */
uint32_t weir_port_rx_offloads(const struct weir_port *port);
/* How long an idle lcore may sleep on the port's wait fds before it must
 * poll the port again: 0 for as long as it likes. A port whose wait fd
 * cannot say that its device went away (an AF_XDP socket polls as nothing
 * at all once its device is gone) asks to be polled now and then, so that
 * the port notices and dies cleanly; give it to weir_idle_cap(). */
uint64_t weir_port_idle_poll_ns(const struct weir_port *port);
/* True when the port's transmit side takes super-frame p as it is. */
bool weir_port_tx_takes_gso(const struct weir_port *port, const struct weir_pkt *p);

/*
 * Receives up to n packets from RX queue q into pkts; returns how many.
 * The packets are the caller's. Only the lcore that owns queue q calls it.
 */
WEIR_INLINE uint16_t weir_port_rx_burst(struct weir_port *port, uint16_t q,
					struct weir_pkt **pkts, uint16_t n)
{
	const struct weir_port_fp *fp = weir_port_fp_of(port);

	if (WEIR_DEBUG_CHECKS && weir_unlikely(q >= fp->nb_rxq))
		weir_panic("port %s: rx burst on queue %u, but it has %u rx queue(s) (0..%d)",
			   weir_port_label(port), q, fp->nb_rxq, fp->nb_rxq - 1);
	return fp->rx_burst(fp->rxq[q], pkts, n);
}

/*
 * Sends up to n packets of pkts on TX queue q; returns how many the driver
 * took (they are its now: sent, or dropped and counted). The caller keeps
 * pkts[ret..n-1]. Only the lcore that owns queue q calls it.
 */
WEIR_INLINE uint16_t weir_port_tx_burst(struct weir_port *port, uint16_t q,
					struct weir_pkt **pkts, uint16_t n)
{
	const struct weir_port_fp *fp = weir_port_fp_of(port);

	if (WEIR_DEBUG_CHECKS && weir_unlikely(q >= fp->nb_txq))
		weir_panic("port %s: tx burst on queue %u, but it has %u tx queue(s) (0..%d)",
			   weir_port_label(port), q, fp->nb_txq, fp->nb_txq - 1);
	return fp->tx_burst(fp->txq[q], pkts, n);
}

/*
 * Reaps TX queue q's completions: frees the buffers the device is done
 * with and adds them to the counters weir_port_tx_completed() reads.
 * Returns how many packets completed now; 0 on a port whose tx_burst
 * completes at once (weir_port_has_tx_done() false). Queue q's lcore.
 */
WEIR_INLINE uint16_t weir_port_tx_done(struct weir_port *port, uint16_t q)
{
	const struct weir_port_fp *fp = weir_port_fp_of(port);

	return fp->tx_done ? fp->tx_done(fp->txq[q]) : 0;
}

/* True when completions come later, through weir_port_tx_done(); false
 * when a packet tx_burst took counts as completed at once. Any thread. */
WEIR_INLINE bool weir_port_has_tx_done(const struct weir_port *port)
{
	return weir_port_fp_of(port)->tx_done != NULL;
}

/* True once the device behind the port vanished (the driver said why,
 * once): nothing more will pass, close it. Any thread. */
WEIR_INLINE bool weir_port_is_dead(const struct weir_port *port)
{
	return atomic_load_explicit(&weir_port_fp_of(port)->dead, memory_order_relaxed);
}

/* A file descriptor that becomes readable when RX queue q has packets, to
 * sleep on (poll/epoll) instead of polling; -1 when the driver has none. */
int weir_port_wait_fd(struct weir_port *port, uint16_t q);

/*
 * Counters. Drivers write every per-queue counter with relaxed atomic
 * stores from the queue's one lcore, so all of these may be called from
 * any thread while the lcores run: each value is recent (a burst or so
 * behind) and never torn; a sum over queues is not one instant's.
 */

/* Sums the queue counters and adds the driver's own (weir_port_stats_add_driver). */
void weir_port_stats_get(struct weir_port *port, struct weir_port_stats *st);
/* Adds only the driver's own counters (kernel drops, invalid descriptors)
 * to *st, never reading a queue counter, for an app that sums queue
 * counters its lcores publish. */
void weir_port_stats_add_driver(struct weir_port *port, struct weir_port_stats *st);
/* Queue q's counters into *rx (RX queue q) and *tx (TX queue q); either
 * may be NULL, a side without queue q is zeroed. */
void weir_port_queue_stats(const struct weir_port *port, uint16_t q, struct weir_queue_stats *rx,
			   struct weir_queue_stats *tx);
/* What TX queue q has completed so far (monotonic: DQL reads the deltas);
 * either pointer may be NULL. On a port without tx_done, what tx_burst
 * took. Exact when read by queue q's lcore after its weir_port_tx_done(). */
void weir_port_tx_completed(const struct weir_port *port, uint16_t q, uint64_t *pkts,
			    uint64_t *bytes);
/* The driver's counters by name into xs[0..n-1]; returns how many it has
 * (may exceed n: call again with more room). */
int weir_port_xstats_get(struct weir_port *port, struct weir_xstat *xs, int n);

/*
 * Taps: a mirror of what a port's queues receive and send, for capture from
 * a running application (weir-cap -i app:...). While no tap is set the
 * bursts are the driver's own and cost nothing more; weir_port_tap_start()
 * points the port's rx/tx burst at wrappers that call the driver and then
 * the tap, on the lcore that made the burst:
 *   rx(arg, q, pkts, n)      after RX queue q received pkts[0..n-1] (n > 0);
 *   tx_pre(arg, q, pkts, n)  before TX queue q is given pkts[0..n-1]: the
 *                            driver may free them as soon as it takes them;
 *   tx_post(arg, q, taken)   after, with how many of them the driver took
 *                            (the rest stay the caller's and may come again:
 *                            a mirror keeps only the first `taken`).
 * The packets are lent: a tap reads them (copies what it keeps) and must
 * never block, free or change them. Any callback may be NULL.
 */
struct weir_port_tap {
	void (*rx)(void *arg, uint16_t q, struct weir_pkt *const *pkts, uint16_t n);
	void (*tx_pre)(void *arg, uint16_t q, struct weir_pkt *const *pkts, uint16_t n);
	void (*tx_post)(void *arg, uint16_t q, uint16_t taken);
	void *arg;
};

/* Sets tap on port (tap must stay valid until weir_port_tap_stop returns).
 * 0, or -EBUSY when the port has a tap already. Control thread, while the
 * lcores run. */
int weir_port_tap_start(struct weir_port *port, const struct weir_port_tap *tap);
/* Removes the tap: the bursts are the driver's again, and no callback of
 * the tap runs any more once this returns (it waits for bursts inside the
 * wrappers to leave). No-op without a tap. Control thread. */
void weir_port_tap_stop(struct weir_port *port);
/* The port's tap, NULL when none (for tests and messages). */
const struct weir_port_tap *weir_port_tap_get(const struct weir_port *port);

/* Sends pkts on queue q and frees the n - sent packets the burst did not
 * take, counting them as TX drops; returns that count. Queue q's lcore. */
uint16_t weir_port_tx_burst_or_free(struct weir_port *port, uint16_t q, struct weir_pkt **pkts,
				    uint16_t n);

#endif
