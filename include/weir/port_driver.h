/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Ports, as drivers see them: the ops table a driver fills, the queue
 * structures its own queue structs start with, struct weir_port itself,
 * registration, and the helpers every driver needs (spec arguments,
 * queue allocation, messages, the "port died" path, Linux interface
 * probing). Applications include weir/port.h only; this header is for
 * pmd/ and for tests of drivers (DPDK: ethdev_driver.h beside
 * rte_ethdev.h).
 *
 * Counters a driver keeps per queue (the public ones below and its own
 * xstats) have one writer, the lcore that owns the queue, and are read by
 * any thread: write them with weir_port_ctr_add(), read them with
 * weir_port_ctr_read(). A relaxed load and store, no locked
 * read-modify-write: the same instructions as a plain `+=` on x86-64 and
 * arm64, but no data race in the C model.
 */
#ifndef WEIR_PORT_DRIVER_H
#define WEIR_PORT_DRIVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port.h"
#include "spec.h"

/* Every driver's RX/TX queue struct starts with one of these. */
struct weir_rxq {
	struct weir_port *port;
	uint16_t id;
	_Atomic uint8_t tap_inside;    /* src/port_tap.c: its lcore is in a tap wrapper */
	struct weir_queue_stats stats; /* weir_port_ctr_add only */
};

struct weir_txq {
	struct weir_port *port;
	uint16_t id;
	_Atomic uint8_t tap_inside;    /* src/port_tap.c: its lcore is in a tap wrapper */
	struct weir_queue_stats stats; /* weir_port_ctr_add only; nombuf unused */
	/* Completions reported by tx_done (monotonic): what the device has
	 * finished sending, and what a burst took but dropped (too big, a
	 * checksum it could not complete: nothing will ever complete those,
	 * and DQL would count them in flight for good). The scheduler's DQL
	 * reads the deltas (weir_port_tx_completed). weir_port_ctr_add only. */
	uint64_t done_pkts;
	uint64_t done_bytes;
};

struct weir_port_ops {
	int (*open)(struct weir_port *, const struct weir_port_conf *);
	weir_port_rx_burst_fn rx_burst;
	weir_port_tx_burst_fn tx_burst;
	/* Reaps completions: frees sent buffers, adds to done_pkts/bytes,
	 * returns how many completed now. NULL: tx_burst completes at once. */
	weir_port_tx_done_fn tx_done;
	int (*wait_fd)(struct weir_rxq *); /* fd to sleep on, -1 if none */
	void (*stats)(struct weir_port *, struct weir_port_stats *);
	/* Driver counters by name; returns how many it has (may exceed n). */
	int (*xstats)(struct weir_port *, struct weir_xstat *, int n);
	void (*close)(struct weir_port *);
};

/* A key a driver accepts in its spec, and a key=value given: the types of
 * weir/spec.h, shared with block devices, under the names drivers use. */
#define weir_port_param weir_spec_param
#define weir_port_kv weir_spec_kv

struct weir_port_driver {
	const char *name;
	const char *help;                   /* what the name part means */
	const struct weir_port_ops *ops;
	const struct weir_port_param *params; /* NULL-key terminated */
	size_t priv_size;                   /* zeroed private area, port->priv */
	size_t rxq_size, txq_size;          /* driver queue struct sizes */
	/* Capabilities (bit CAP_x, linux/capability.h) an open port still
	 * needs, until it closes; apps drop all others once their ports are
	 * open (weir_port_caps_kept). 0: none (the socket or file is open). */
	uint64_t caps_kept;
	/* The name part may hold '=' (DPDK devargs: dpdk:net_tap0,iface=tap0);
	 * weir's own keys still follow the '?'. */
	bool name_has_eq;
	bool shares_pool; /* another process maps the pool: it must be conf.shared */
	struct weir_port_driver *next;      /* registry link */
};

#define WEIR_PORT_MAX_KV 16


/*
 * A port. fp is the framework's (filled by weir_port_open and
 * weir_port_alloc_queues; drivers read fp.rxq/fp.txq/fp.nb_* and mark
 * fp.dead through weir_port_died); the driver's open sets mac, mtu,
 * tx_offloads and rx_offloads and owns priv.
 */
struct weir_port {
	struct weir_port_fp fp; /* first: the inline bursts of port.h read it */
	const struct weir_port_ops *ops;
	uint16_t id;
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
	/* enum weir_port_offload bits of what RX may deliver (GSO_*: super-
	 * frames). All of them until the driver's open narrows it: a driver
	 * that says nothing is taken to deliver anything. */
	uint32_t rx_offloads;
	/* 0, or how long an idle lcore may sleep before it polls the port
	 * again (weir_port_idle_poll_ns); set by the driver's open. */
	uint64_t idle_poll_ns;
	char err[WEIR_PORT_ERRSIZE];
	/* A mirror (src/port_tap.c): the tap; whether its wrappers must
	 * fence (no membarrier(2) here). */
	_Atomic(const struct weir_port_tap *) tap;
	bool tap_fence;
};

static_assert(offsetof(struct weir_port, fp) == 0,
	      "port.h's inline bursts read struct weir_port_fp at the start of struct weir_port");
static_assert(sizeof(struct weir_port_fp) <= WEIR_CACHE_LINE,
	      "what a burst reads of the port fits one cache line");

/* --- registry ---------------------------------------------------------- */

/* Adds drv to the drivers weir_port_open() knows (at load time, through
 * WEIR_PORT_DRIVER_REGISTER; not thread-safe). */
void weir_port_driver_register(struct weir_port_driver *drv);
/* The registered driver called name, or NULL. */
const struct weir_port_driver *weir_port_driver_find(const char *name);

#define WEIR_PORT_DRIVER_REGISTER(drv)                                          \
	__attribute__((constructor)) static void weir_register_##drv(void)      \
	{                                                                      \
		weir_port_driver_register(&(drv));                             \
	}

/* --- counters (see the file comment) ------------------------------------- */

/* Adds n to a counter only the calling lcore writes. */
static inline void weir_port_ctr_add(uint64_t *ctr, uint64_t n)
{
	__atomic_store_n(ctr, __atomic_load_n(ctr, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* A counter's value, from any thread. */
static inline uint64_t weir_port_ctr_read(const uint64_t *ctr)
{
	return __atomic_load_n(ctr, __ATOMIC_RELAXED);
}

/* --- messages ------------------------------------------------------------ */

/* Formats the port's error message (prefixed with its label); returns err.
 * Control thread (open). */
int weir_port_fail(struct weir_port *port, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The device behind the port vanished: marks the port dead
 * (weir_port_is_dead) and, the first time only, logs "label: message" as
 * an error, so a port says it once however many queues notice. Any thread.
 */
void weir_port_died(struct weir_port *port, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* --- spec arguments ------------------------------------------------------ */

/* Value of key in the spec, or NULL. Marks it used. */
const char *weir_port_arg(struct weir_port *port, const char *key);
/* Integer argument in [min, max], default def when absent. 0 or -EINVAL
 * (with the port's error set). Decimal (010 is 10; hex is refused with its
 * decimal spelling), k/m/g suffixes are powers of 1024. */
int weir_port_arg_u64(struct weir_port *port, const char *key, uint64_t def, uint64_t min,
		      uint64_t max, uint64_t *out);
/* Index of the value in the param's choices, def when absent; -EINVAL. */
int weir_port_arg_choice(struct weir_port *port, const char *key, int def);

/* Allocates the queue arrays and zeroed driver queue structs (drv sizes):
 * 0, -EEXIST (done already) or -ENOMEM (what was allocated is freed with
 * the port). */
int weir_port_alloc_queues(struct weir_port *port, uint16_t nb_rxq, uint16_t nb_txq);

/* --- Linux interfaces (src/port_iface.c) --------------------------------- */

/* What weir_port_iface_probe() requires besides existing. */
enum weir_port_iface_need {
	WEIR_PORT_IFACE_UP = 1 << 0,    /* administratively up */
	WEIR_PORT_IFACE_ETHER = 1 << 1, /* ARPHRD_ETHER: carries Ethernet frames */
};

/*
 * Checks that port->ifname names an interface of this network namespace
 * and that it is what need (enum weir_port_iface_need bits) asks; reads its
 * MTU into port->mtu and, if it is Ethernet, its address into port->mac.
 * Anyone may (an AF_INET socket, no privilege). 0 with *ifindex set, or a
 * negative errno with the port's message set: -EINVAL (no name, too long,
 * not Ethernet), -ENOENT (no such interface; the message lists those
 * there are), -ENETDOWN (down; the message says how to bring it up).
 */
int weir_port_iface_probe(struct weir_port *port, unsigned need, int *ifindex);
/* "veth0, veth1, lo" into buf: the interfaces this namespace has, for
 * messages. */
void weir_port_iface_list(char *buf, size_t len);
/* The kernel driver behind a Linux interface ("veth", "tun", "virtio_net",
 * ...) into buf (ETHTOOL_GDRVINFO, no privilege needed): 0 or -errno. */
int weir_port_iface_driver(const char *ifname, char *buf, size_t len);
/* weir_port_iface_is_virtual_peer() is in port.h (apps ask it too). */

#endif
