// SPDX-License-Identifier: BSD-3-Clause
/*
 * Keyed hashing for the stack's tables that outsiders fill (neighbours,
 * reassembly queues and their sources): SipHash-2-4 (Aumasson and
 * Bernstein), the function Linux and most languages' hash maps use for the
 * same reason. With a key drawn at random when the table is made, a sender
 * cannot compute which addresses or fragment ids collide, so chains stay
 * short whatever it sends.
 */
#include <string.h>
#include <sys/random.h>

#include "stack_internal.h"

static inline uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

#define SIPROUND                                                              \
	do {                                                                  \
		v0 += v1;                                                     \
		v1 = rotl(v1, 13);                                            \
		v1 ^= v0;                                                     \
		v0 = rotl(v0, 32);                                            \
		v2 += v3;                                                     \
		v3 = rotl(v3, 16);                                            \
		v3 ^= v2;                                                     \
		v0 += v3;                                                     \
		v3 = rotl(v3, 21);                                            \
		v3 ^= v0;                                                     \
		v2 += v1;                                                     \
		v1 = rotl(v1, 17);                                            \
		v1 ^= v2;                                                     \
		v2 = rotl(v2, 32);                                            \
	} while (0)

uint64_t sk_siphash(const uint64_t key[2], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ key[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ key[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ key[0];
	uint64_t v3 = 0x7465646279746573ULL ^ key[1];
	uint64_t m, b = (uint64_t)len << 56;
	size_t left = len & 7;

	for (const uint8_t *end = in + (len - left); in != end; in += 8) {
		memcpy(&m, in, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	m = 0;
	memcpy(&m, in, left); /* little-endian hosts: the tail in the low bytes */
	b |= m;
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void sk_hash_key(uint64_t key[2], uint64_t seed)
{
	if (seed) {
		/* splitmix64: two words from one seed, for reproducible tests. */
		for (int i = 0; i < 2; i++) {
			uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);

			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
			key[i] = z ^ (z >> 31);
		}
		return;
	}
	if (getrandom(key, 2 * sizeof(key[0]), 0) != (ssize_t)(2 * sizeof(key[0]))) {
		/* No entropy source: still a per-process key, if a weak one. */
		key[0] = (uint64_t)(uintptr_t)key ^ weir_clock_now();
		key[1] = rotl(key[0], 29) ^ 0x9e3779b97f4a7c15ULL;
	}
}
