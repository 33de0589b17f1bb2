/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Keyed hashing for tables that outsiders fill (flow queues, neighbours,
 * reassembly queues): SipHash (Aumasson and Bernstein), the function Linux
 * and most languages' hash maps use for the same reason. With a key drawn
 * at random when the table is made, a sender cannot compute which inputs
 * collide, so no choice of addresses or ports lands its packets in a
 * victim's bucket; a new key re-splits every pair of flows.
 *
 * Two strengths of one implementation: SipHash-2-4 for tables consulted
 * per datagram or per neighbour, SipHash-1-3 (Linux's hsiphash on 64-bit
 * hosts, Rust's HashMap) where the hash runs per packet, as in fq_codel.
 * All functions are thread-safe: they touch only their arguments.
 */
#ifndef WEIR_HASH_H
#define WEIR_HASH_H

#include <stddef.h>
#include <stdint.h>

/* 128 secret bits. Keep it where the table is: one key per table. */
struct weir_hash_key {
	uint64_t k[2];
};

/*
 * SipHash-2-4 of len bytes at data under key (data may be NULL when len is
 * 0). Reads exactly len bytes; any alignment. Returns the 64-bit hash.
 */
uint64_t weir_siphash(const struct weir_hash_key *key, const void *data, size_t len);

/* SipHash-1-3: the same contract, two fewer rounds per 8 bytes and one
 * fewer at the end; for per-packet use. */
uint64_t weir_siphash13(const struct weir_hash_key *key, const void *data, size_t len);

/*
 * Fills key with 128 random bits from getrandom() (blocking only until the
 * kernel's pool is first initialized, long before weir runs). Returns 0,
 * or a negative errno when the kernel gives no random bytes (seccomp,
 * kernels before 3.17): /dev/urandom is tried next, and if that fails too
 * the key is still filled, from the clock and an address, so it is per
 * process but guessable: callers that must not run so should fail.
 */
int weir_hash_key_random(struct weir_hash_key *key);

/*
 * A key derived from seed (splitmix64), for reproducible tests and
 * benchmarks only: anyone who knows the seed knows the key.
 */
void weir_hash_key_from_seed(struct weir_hash_key *key, uint64_t seed);

#endif
