/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports: the uniform driver interface. Every network driver fills one
 * struct weir_port_ops; the rest of weir calls through it and never knows
 * which device it is (the classic driver model).
 *
 * A port is named by a spec string a person can type:
 *     driver:name?key=value&key=value
 * e.g. afpacket:veth0?queues=2&fanout=hash, ring:loop0, null:?size=64.
 * weir_port_open() parses it, checks every key against the driver's table
 * and says exactly what was wrong and what is valid.
 *
 * Bursts take an array and a count and return how many were done; the
 * caller keeps ownership of what was not taken. Each queue belongs to one
 * lcore: the fast path takes no lock.
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

struct weir_queue_stats {
	uint64_t packets;
	uint64_t bytes;
	uint64_t drops;  /* rx: lost before weir saw them; tx: refused */
	uint64_t errors; /* malformed, failed */
};

/* Every driver's RX/TX queue struct starts with one of these. */
struct weir_rxq {
	struct weir_port *port;
	uint16_t id;
	struct weir_queue_stats stats;
	uint64_t nombuf; /* packets not received for want of buffers */
};

struct weir_txq {
	struct weir_port *port;
	uint16_t id;
	struct weir_queue_stats stats;
	/* Completions reported by tx_done (monotonic): what the device has
	 * finished sending. The scheduler's DQL reads the deltas. */
	uint64_t done_pkts;
	uint64_t done_bytes;
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

struct weir_port_ops {
	int (*open)(struct weir_port *, const struct weir_port_conf *);
	uint16_t (*rx_burst)(struct weir_rxq *, struct weir_pkt **, uint16_t n);
	uint16_t (*tx_burst)(struct weir_txq *, struct weir_pkt **, uint16_t n);
	/* Reaps completions: frees sent buffers, adds to done_pkts/bytes,
	 * returns how many completed now. NULL: tx_burst completes at once. */
	uint16_t (*tx_done)(struct weir_txq *);
	int (*wait_fd)(struct weir_rxq *); /* fd to sleep on, -1 if none */
	void (*stats)(struct weir_port *, struct weir_port_stats *);
	/* Driver counters by name; returns how many it has (may exceed n). */
	int (*xstats)(struct weir_port *, struct weir_xstat *, int n);
	void (*close)(struct weir_port *);
};

/* A key a driver accepts in its spec. */
struct weir_port_param {
	const char *key;
	const char *help;    /* one line, shown in errors and --help */
	const char *choices; /* "a|b|c" when only these are valid, else NULL */
};

struct weir_port_driver {
	const char *name;
	const char *help;                   /* what the name part means */
	const struct weir_port_ops *ops;
	const struct weir_port_param *params; /* NULL-key terminated */
	size_t priv_size;                   /* zeroed private area, port->priv */
	size_t rxq_size, txq_size;          /* driver queue struct sizes */
	struct weir_port_driver *next;      /* registry link */
};

#define WEIR_PORT_MAX_KV 16
#define WEIR_PORT_ERRSIZE 256

struct weir_port_kv {
	char *key;
	char *value;
	bool used;
};

/* Visible so the burst calls can be inline; fields are the framework's
 * and the driver's, applications use the functions below. */
struct weir_port {
	const struct weir_port_ops *ops;
	struct weir_rxq **rxq;
	struct weir_txq **txq;
	uint16_t nb_rxq;
	uint16_t nb_txq;
	uint16_t id;
	_Atomic bool dead; /* device vanished: bursts return 0 */
	const struct weir_port_driver *drv;
	void *priv;
	struct weir_pool *pool;
	char *spec;  /* as given */
	char *label; /* "driver:name" for messages */
	char *ifname; /* the name part */
	struct weir_port_kv kv[WEIR_PORT_MAX_KV];
	int nkv;
	uint8_t mac[6];
	uint32_t mtu;
	uint32_t tx_offloads; /* enum weir_port_offload, set by the driver's open */
	char err[WEIR_PORT_ERRSIZE];
};

/* --- registry ---------------------------------------------------------- */

void weir_port_driver_register(struct weir_port_driver *drv);
const struct weir_port_driver *weir_port_driver_find(const char *name);
/* Writes "a, b, c" (registered driver names) into buf. */
void weir_port_driver_list(char *buf, size_t len);

#define WEIR_PORT_DRIVER_REGISTER(drv)                                          \
	__attribute__((constructor)) static void weir_register_##drv(void)      \
	{                                                                      \
		weir_port_driver_register(&(drv));                             \
	}

/* --- application API ------------------------------------------------------ */

/*
 * Opens the port named by spec. Returns 0 and sets *out, or a negative
 * errno and writes a message for people into why (naming the spec, the
 * problem, and what is valid). Errors: -EINVAL (bad spec), -ENOENT (no such
 * driver or device), -EPERM (missing privilege, named), others from the
 * driver. Not thread-safe; call from the control thread.
 */
int weir_port_open(const char *spec, const struct weir_port_conf *conf, struct weir_port **out,
		   char *why, size_t whylen);
void weir_port_close(struct weir_port *port);

static inline uint16_t weir_port_rx_burst(struct weir_port *port, uint16_t q,
					  struct weir_pkt **pkts, uint16_t n)
{
	if (WEIR_DEBUG_CHECKS && weir_unlikely(q >= port->nb_rxq))
		weir_panic("port %s: rx burst on queue %u, but it has %u rx queue(s) (0..%d)",
			   port->label, q, port->nb_rxq, port->nb_rxq - 1);
	return port->ops->rx_burst(port->rxq[q], pkts, n);
}

static inline uint16_t weir_port_tx_burst(struct weir_port *port, uint16_t q,
					  struct weir_pkt **pkts, uint16_t n)
{
	if (WEIR_DEBUG_CHECKS && weir_unlikely(q >= port->nb_txq))
		weir_panic("port %s: tx burst on queue %u, but it has %u tx queue(s) (0..%d)",
			   port->label, q, port->nb_txq, port->nb_txq - 1);
	return port->ops->tx_burst(port->txq[q], pkts, n);
}

static inline uint16_t weir_port_tx_done(struct weir_port *port, uint16_t q)
{
	return port->ops->tx_done ? port->ops->tx_done(port->txq[q]) : 0;
}

static inline int weir_port_wait_fd(struct weir_port *port, uint16_t q)
{
	return port->ops->wait_fd ? port->ops->wait_fd(port->rxq[q]) : -1;
}

static inline bool weir_port_is_dead(const struct weir_port *port)
{
	return atomic_load_explicit(&port->dead, memory_order_relaxed);
}

/* Sums the queue counters and adds the driver's. The queue counters are
 * plain fields each queue's lcore writes: call it from another thread only
 * when the lcores are stopped (or use weir_port_stats_add_driver). */
void weir_port_stats_get(struct weir_port *port, struct weir_port_stats *st);
/* Adds only the driver's own counters (kernel drops, invalid descriptors)
 * to *st, never reading a queue counter: safe from any thread while the
 * lcores run, for an app that sums queue counters its lcores publish. */
void weir_port_stats_add_driver(struct weir_port *port, struct weir_port_stats *st);
int weir_port_xstats_get(struct weir_port *port, struct weir_xstat *xs, int n);
const char *weir_port_label(const struct weir_port *port);
uint16_t weir_port_nb_rxq(const struct weir_port *port);
uint16_t weir_port_nb_txq(const struct weir_port *port);
/* enum weir_port_offload bits of what the port's transmit side takes. */
uint32_t weir_port_tx_offloads(const struct weir_port *port);
/* True when the port's transmit side takes super-frame p as it is. */
bool weir_port_tx_takes_gso(const struct weir_port *port, const struct weir_pkt *p);

/* Frees the n - sent packets a burst did not take; returns that count. */
uint16_t weir_port_tx_burst_or_free(struct weir_port *port, uint16_t q, struct weir_pkt **pkts,
				    uint16_t n);

/* --- for drivers ------------------------------------------------------- */

/* Formats the port's error message (prefixed with its label); returns err. */
int weir_port_fail(struct weir_port *port, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The kernel driver behind a Linux interface ("veth", "tun", "virtio_net",
 * ...) into buf (ETHTOOL_GDRVINFO, no privilege needed): 0 or -errno. */
int weir_port_iface_driver(const char *ifname, char *buf, size_t len);
/* True for a veth or tap: its peer is a Linux stack whose defaults
 * (tx-checksumming, TSO/GSO on) send partial checksums and super-frames. */
bool weir_port_iface_is_virtual_peer(const char *ifname);

/* Value of key in the spec, or NULL. Marks it used. */
const char *weir_port_arg(struct weir_port *port, const char *key);
/* Integer argument in [min, max], default def when absent. 0 or -EINVAL
 * (with the port's error set). Decimal (010 is 10; hex is refused with its
 * decimal spelling), k/m/g suffixes are powers of 1024. */
int weir_port_arg_u64(struct weir_port *port, const char *key, uint64_t def, uint64_t min,
		      uint64_t max, uint64_t *out);
/* Index of the value in the param's choices, def when absent; -EINVAL. */
int weir_port_arg_choice(struct weir_port *port, const char *key, int def);
/* Allocates the queue arrays and zeroed driver queue structs (drv sizes). */
int weir_port_alloc_queues(struct weir_port *port, uint16_t nb_rxq, uint16_t nb_txq);

#endif
