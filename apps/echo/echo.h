/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir-echo's pieces (see weir-echo.c for what the app is): the app
 * context, the lcore and the calls between its files. lcore.c is the poll
 * loop (receive, stack, echo, drain, sleep); report.c the live line, the
 * summary and the JSON document.
 *
 * One weir stack per lcore: lcore q owns RX/TX queue q of the port, a
 * stack whose one interface is that queue, and a socket per UDP port, so
 * nothing on the fast path is shared. The stacks have the same address and
 * routes; what they cannot share is ARP, so ARP replies one lcore receives
 * are copied to the others (a reply goes to whichever stack asked; the
 * others count it as unsolicited). Counters the other threads read are
 * relaxed atomics with one writer, and snapshots of the stack's counters
 * taken by the owning lcore under a mutex.
 */
#ifndef WEIR_APP_ECHO_H
#define WEIR_APP_ECHO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "weir/clock.h"
#include "weir/pkt.h"
#include "weir/port.h"

#include "common/app.h"

#define ECHO_MAX_UDP 16
#define ECHO_MAX_ROUTES 64
#define ECHO_PUBLISH_NS (100 * WEIR_NS_PER_MS) /* stack counters, for the other threads */
#define ECHO_TIMER_NS WEIR_NS_PER_MS            /* the stack's timers run this often */
#define ECHO_IDLE_NS (100 * WEIR_NS_PER_MS)     /* longest sleep (ARP retries are 1 s) */
#define ECHO_SPIN_MIN_NS (4 * WEIR_NS_PER_US)   /* --spin default */
#define ECHO_SPIN_MAX_NS (50 * WEIR_NS_PER_US)

struct weir_stack;
struct weir_udp_sock;
struct weir_ring;
struct app_route_cmds;

struct echo;

/* Snapshot of one lcore's stack, for the control and telemetry threads:
 * names written once at setup (read without the lock), values under it. */
struct echo_snap {
	struct weir_xstat *xs; /* n counters, in weir_stack_xstats order */
	struct weir_xstat *scratch; /* the lcore's own, filled outside the lock */
	int n;
	uint64_t sock_rx[ECHO_MAX_UDP], sock_full[ECHO_MAX_UDP];
};

struct echo_lcore {
	struct echo *e;
	uint16_t q;
	struct weir_stack *st;
	struct weir_udp_sock *socks[ECHO_MAX_UDP];
	struct weir_ring *arp_in; /* ARP replies other lcores received (copies) */
	_Atomic uint64_t echoed, echoed_bytes, echo_refused, arp_copied, arp_copy_drops;
	pthread_mutex_t mu;
	struct echo_snap snap;
};

struct echo {
	struct app_base base; /* queues, burst, cores, pool, duration, output */
	/* settings */
	char *spec;
	uint32_t addr, gateway; /* host order */
	uint8_t prefix;
	uint16_t vlan;
	uint16_t udp_ports[ECHO_MAX_UDP];
	int nudp;
	char *routes[ECHO_MAX_ROUTES]; /* "add PREFIX via GW", from --route */
	int nroutes;
	uint64_t frag_budget;
	uint64_t spin_min_ns, spin_max_ns; /* adaptive idle spin; 0: count polls */
	bool no_tx_offload;
	/* state */
	struct weir_port *port;
	struct app_route_cmds *rcmds;
	struct echo_lcore lcores[APP_MAX_LCORES];
};

/* lcore.c */
int echo_lcore_main(void *arg);

/* report.c */
struct echo_totals {
	uint64_t rx_pkts, tx_pkts, rx_bytes, tx_bytes, echoed, pings, drops;
};
void echo_totals(void *ctx, void *out);
void echo_live(void *ctx, const void *prev, const void *cur, double dt);
void echo_summary(FILE *o, void *ctx);
/* The telemetry document, also the --json summary. */
void echo_json(FILE *o, void *ctx);
/* True for the stack counters that count dropped packets (a drop reason). */
bool echo_is_drop(const char *name);

#endif
