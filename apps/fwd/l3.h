/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What weir-fwd's l3 engine (l3.c, the fast path) and its setup
 * (l3_setup.c: options, the stack's interfaces and routes, reports) share:
 * the router's state and its counters.
 */
#ifndef WEIR_APP_FWD_L3_H
#define WEIR_APP_FWD_L3_H

#include "weir/ipfwd.h"
#include "weir/route.h"
#include "weir/stack.h"

#include "common/route_cmds.h"
#include "fwd/fwd.h"

#define L3_TIMER_NS (100 * WEIR_NS_PER_MS) /* ARP and reassembly timers */
#define L3_FRAGS_MAX 128                    /* fragments of one forwarded datagram */

/* The router's own counters; the stack counts the rest (ARP, ICMP, ...). */
#define L3_CTRS(X)                                                                      \
	X(forwarded) X(local) X(not_ours) X(ethertype) X(bad_header) X(martian_source)  \
	X(martian_destination) X(directed_broadcast) X(ttl_exceeded) X(no_route)       \
	X(frag_needed) X(fragmented) X(fragments) X(frag_errors) X(gso_too_big)         \
	X(csum_errors) X(arp_wait) X(icmp_sent) X(icmp_not_sent)

enum l3_ctr {
#define L3_ENUM(n) L3_##n,
	L3_CTRS(L3_ENUM)
#undef L3_ENUM
	L3_NB_CTRS
};

struct l3_port {
	uint8_t mac[6];
	uint32_t mtu;
};

struct l3 {
	struct weir_stack *st;
	struct weir_route_table *rt; /* the stack's */
	/* Held by the lcore around every use of st; the telemetry JSON takes
	 * it to read the stack's counters and routes. */
	pthread_mutex_t mu;
	/* `route show/add/del/get` on the telemetry socket, run by the lcore
	 * between bursts (common/route_cmds.c). */
	struct app_route_cmds *rc;
	struct weir_ipfwd_addrs addrs;
	struct l3_port ports[FWD_MAX_PORTS];
	int nports;
	weir_ns_t next_timer;
	bool stack_dirty; /* the stack may hold frames to send */
	bool stack_busy;  /* ARP or reassembly waiting: run its timer while idle */
	_Atomic uint64_t ctr[L3_NB_CTRS];
	/* Frames forwarded in the current burst, per output port. */
	struct weir_pkt *out[FWD_MAX_PORTS][FWD_MAX_BURST];
	uint16_t nout[FWD_MAX_PORTS];
};

extern const char *const l3_ctr_names[L3_NB_CTRS];

/* l3_setup.c: the engine table's setup, teardown, check, json, summary. */
int l3_setup(struct fwd *f);
void l3_teardown(struct fwd *f);
int l3_check(struct fwd *f);
void l3_json(FILE *o, struct fwd *f);
void l3_summary(FILE *o, struct fwd *f);
int l3_tele_cmds(struct fwd *f, struct app_tele *t);
void l3_stopping(struct fwd *f);

#endif
