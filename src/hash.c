// SPDX-License-Identifier: BSD-3-Clause
/*
 * SipHash-c-d, once, for the whole library (the stack's tables and the
 * scheduler's flow classifier): one always-inlined core that the two
 * exported strengths instantiate with constant round counts, and the key
 * constructors. Input words are read little-endian, as the reference
 * implementation does, so a hash is the same on every host.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "weir/clock.h"
#include "weir/hash.h"

struct sip {
	uint64_t v0, v1, v2, v3;
};

static inline uint64_t rotl(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static inline __attribute__((always_inline)) void sip_rounds(struct sip *s, int n)
{
	for (int i = 0; i < n; i++) {
		s->v0 += s->v1;
		s->v1 = rotl(s->v1, 13);
		s->v1 ^= s->v0;
		s->v0 = rotl(s->v0, 32);
		s->v2 += s->v3;
		s->v3 = rotl(s->v3, 16);
		s->v3 ^= s->v2;
		s->v0 += s->v3;
		s->v3 = rotl(s->v3, 21);
		s->v3 ^= s->v0;
		s->v2 += s->v1;
		s->v1 = rotl(s->v1, 17);
		s->v1 ^= s->v2;
		s->v2 = rotl(s->v2, 32);
	}
}

static inline __attribute__((always_inline)) uint64_t
siphash_cd(const struct weir_hash_key *key, const uint8_t *in, size_t len, int c, int d)
{
	struct sip s = {
		0x736f6d6570736575ULL ^ key->k[0], 0x646f72616e646f6dULL ^ key->k[1],
		0x6c7967656e657261ULL ^ key->k[0], 0x7465646279746573ULL ^ key->k[1],
	};
	uint64_t m, b = (uint64_t)len << 56;
	size_t left = len & 7;

	for (const uint8_t *end = in + (len - left); in != end; in += 8) {
		memcpy(&m, in, 8);
		m = le64toh(m);
		s.v3 ^= m;
		sip_rounds(&s, c);
		s.v0 ^= m;
	}
	m = 0;
	if (left) /* memcpy from NULL is undefined even for 0 bytes (a NULL, 0 message) */
		memcpy(&m, in, left); /* the tail in the low bytes once read little-endian */
	b |= le64toh(m);
	s.v3 ^= b;
	sip_rounds(&s, c);
	s.v0 ^= b;
	s.v2 ^= 0xff;
	sip_rounds(&s, d);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

uint64_t weir_siphash(const struct weir_hash_key *key, const void *data, size_t len)
{
	return siphash_cd(key, data, len, 2, 4);
}

uint64_t weir_siphash13(const struct weir_hash_key *key, const void *data, size_t len)
{
	return siphash_cd(key, data, len, 1, 3);
}

static int read_urandom(void *buf, size_t len)
{
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

int weir_hash_key_random(struct weir_hash_key *key)
{
	ssize_t n;
	int err;

	do
		n = getrandom(key->k, sizeof(key->k), 0);
	while (n < 0 && errno == EINTR);
	if (n == (ssize_t)sizeof(key->k))
		return 0;
	err = n < 0 ? -errno : -EIO;
	if (!read_urandom(key->k, sizeof(key->k)))
		return 0;
	/* No entropy source: still a per-process key, if a weak one. */
	key->k[0] = (uint64_t)(uintptr_t)key ^ weir_clock_now();
	key->k[1] = rotl(key->k[0], 29) ^ 0x9e3779b97f4a7c15ULL;
	return err;
}

void weir_hash_key_from_seed(struct weir_hash_key *key, uint64_t seed)
{
	for (int i = 0; i < 2; i++) {
		uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		key->k[i] = z ^ (z >> 31);
	}
}
