/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IPv4 reassembly (frag.c) as a table of its own, so tests and the fuzz
 * target drive it without the rest of the stack: fragments in, whole
 * datagrams out, timeouts, byte budgets and counters.
 */
#ifndef WEIR_STACK_FRAG_INTERNAL_H
#define WEIR_STACK_FRAG_INTERNAL_H

#include <stdint.h>

#include "weir/clock.h"
#include "weir/pkt.h"
#include "weir/pool.h"

struct sk_frag;

/* Counters; frag_drop_* count fragments (packets) dropped for that reason. */
#define FRAG_STATS(X)                                                                       \
	X(frag_rx_fragments) X(frag_reassembled) X(frag_timeouts) X(frag_copied)           \
	X(frag_drop_bad_len) X(frag_drop_too_big) X(frag_drop_duplicate) X(frag_drop_overlap) \
	X(frag_drop_inconsistent) X(frag_drop_timeout) X(frag_drop_budget_source)          \
	X(frag_drop_budget_total) X(frag_drop_nobufs)

struct sk_frag_stats {
#define FRAG_FIELD(n) uint64_t n;
	FRAG_STATS(FRAG_FIELD)
#undef FRAG_FIELD
};

struct sk_frag_conf {
	uint64_t budget;        /* bytes in all */
	uint64_t budget_source; /* bytes per source address, <= budget */
	weir_ns_t timeout;
	uint64_t seed;          /* hash key, 0: random */
	struct weir_pool *pool; /* for datagrams that must be copied (over 255 segments) */
};

/* NULL and *err = -EINVAL (a budget of 0, per-source above total) or
 * -ENOMEM. */
struct sk_frag *sk_frag_create(const struct sk_frag_conf *conf, int *err);
/* Frees the table and every fragment it holds. NULL is allowed. */
void sk_frag_destroy(struct sk_frag *f);

/*
 * Takes fragment p: its data starts at its IPv4 header, which the caller
 * has validated (version, IHL in l3_len, checksum), and it is trimmed to
 * the header's total length; MF or the offset is set. Returns 1 and sets
 * *out to the whole datagram when p completed one: data at the first
 * fragment's IP header (total length and fragment field rewritten and the
 * checksum redone when those bytes are writable), l3_len set, a chain of
 * the fragments' payloads (or a copy when they would make more than
 * WEIR_PKT_MAX_SEGS segments). Returns 0 when p is held or was dropped
 * (counted). The table owns p either way.
 */
int sk_frag_input(struct sk_frag *f, struct weir_pkt *p, weir_ns_t now, struct weir_pkt **out);

/* Called for a datagram that timed out with its first fragment (data at the
 * IP header; still the table's, freed after the call). */
typedef void (*sk_frag_expired_fn)(void *ctx, const struct weir_pkt *first);

/* Discards datagrams older than the timeout at now. */
void sk_frag_timer(struct sk_frag *f, weir_ns_t now, sk_frag_expired_fn fn, void *ctx);

/* Sets the budgets (0 keeps one) and discards the oldest datagrams until
 * both hold: 0 or -EINVAL (per_source above total). */
int sk_frag_set_budget(struct sk_frag *f, uint64_t total, uint64_t per_source);
void sk_frag_set_timeout(struct sk_frag *f, weir_ns_t timeout);

const struct sk_frag_stats *sk_frag_stats(const struct sk_frag *f);
uint64_t sk_frag_mem(const struct sk_frag *f);
uint32_t sk_frag_datagrams(const struct sk_frag *f);
/* Bytes held for fragments from saddr (host order). */
uint64_t sk_frag_source_mem(const struct sk_frag *f, uint32_t saddr);
/* What a held packet costs: its segments' buffers plus their metadata. */
uint64_t sk_frag_truesize(const struct weir_pkt *p);

#endif
