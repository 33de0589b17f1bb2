// SPDX-License-Identifier: BSD-3-Clause
/*
 * XOR parity over memory and over iovec lists (the user's scattered pool
 * buffers against the driver's own), plus the copies and sub-ranges the
 * RAID engine needs. The inner loops work on vectors at any alignment; a
 * stripe's parity is one pass over all its columns (raid_iov_xor_n, AVX2
 * where the CPU has it), not a copy and k-1 passes over the parity.
 */
#include <errno.h>
#include <string.h>

#include "raid_internal.h"

/* 16 bytes at any alignment (GCC's vector extension: SSE2 loads and pxor;
 * through memcpy into arrays GCC kept dead copies on the stack). */
typedef uint64_t xor_vec __attribute__((vector_size(16), aligned(1), may_alias));

void raid_xor(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t i = 0;

	for (; i + 64 <= len; i += 64) {
		xor_vec *d = (xor_vec *)(dst + i);
		const xor_vec *s = (const xor_vec *)(src + i);

		d[0] ^= s[0];
		d[1] ^= s[1];
		d[2] ^= s[2];
		d[3] ^= s[3];
	}
	for (; i < len; i++)
		dst[i] ^= src[i];
}

/* Walks two lists in step, calling op on each run both cover. */
static void iov_pair(const struct iovec *dst, int nd, const struct iovec *src, int ns, size_t len,
		     void (*op)(uint8_t *, const uint8_t *, size_t))
{
	size_t doff = 0, soff = 0;
	int di = 0, si = 0;

	while (len && di < nd && si < ns) {
		size_t dl = dst[di].iov_len - doff, sl = src[si].iov_len - soff;
		size_t n = dl < sl ? dl : sl;

		if (n > len)
			n = len;
		op((uint8_t *)dst[di].iov_base + doff, (const uint8_t *)src[si].iov_base + soff, n);
		len -= n;
		doff += n;
		soff += n;
		if (doff == dst[di].iov_len)
			di++, doff = 0;
		if (soff == src[si].iov_len)
			si++, soff = 0;
	}
}

static void copy_run(uint8_t *dst, const uint8_t *src, size_t len)
{
	memcpy(dst, src, len);
}

void raid_iov_xor(const struct iovec *dst, int nd, const struct iovec *src, int ns, size_t len)
{
	iov_pair(dst, nd, src, ns, len, raid_xor);
}

void raid_iov_copy(const struct iovec *dst, int nd, const struct iovec *src, int ns, size_t len)
{
	iov_pair(dst, nd, src, ns, len, copy_run);
}

/* dst = src[0] ^ ... ^ src[k-1] over n bytes in one pass: each source read
 * once, dst written once, 128 bytes a turn held in four 32-byte vectors
 * (AVX2 registers where the CPU has them, pairs of SSE2 ones otherwise).
 * The slab version before it (a copy, then k-1 XOR passes over an L1-sized
 * dst) spent 28% of a RAID5 full-stripe write load's CPU in XOR (perf). */
typedef uint64_t xor_vec32 __attribute__((vector_size(32), aligned(1), may_alias));

static inline __attribute__((always_inline)) void xor_n_body(uint8_t *dst,
							      const uint8_t *const *src, int k,
							      size_t n)
{
	size_t i = 0;

	for (; i + 128 <= n; i += 128) {
		const xor_vec32 *s = (const xor_vec32 *)(src[0] + i);
		xor_vec32 a = s[0], b = s[1], c = s[2], d = s[3], *o = (xor_vec32 *)(dst + i);

		for (int j = 1; j < k; j++) {
			s = (const xor_vec32 *)(src[j] + i);
			a ^= s[0];
			b ^= s[1];
			c ^= s[2];
			d ^= s[3];
		}
		o[0] = a;
		o[1] = b;
		o[2] = c;
		o[3] = d;
	}
	for (; i < n; i++) {
		uint8_t x = src[0][i];

		for (int j = 1; j < k; j++)
			x ^= src[j][i];
		dst[i] = x;
	}
}

static void xor_n_portable(uint8_t *dst, const uint8_t *const *src, int k, size_t n)
{
	xor_n_body(dst, src, k, n);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void xor_n_avx2(uint8_t *dst, const uint8_t *const *src,
						       int k, size_t n)
{
	xor_n_body(dst, src, k, n);
}
#endif

bool raid_xor_avx2 = true;

static void xor_run_n(uint8_t *dst, const uint8_t *const *src, int k, size_t n)
{
#if defined(__x86_64__)
	if (raid_xor_avx2 && __builtin_cpu_supports("avx2")) {
		xor_n_avx2(dst, src, k, n);
		return;
	}
#endif
	xor_n_portable(dst, src, k, n);
}

struct iov_cursor {
	const struct iovec *v;
	int n, i;
	size_t off;
};

/* Bytes left in the cursor's current run (0: at the end). */
static size_t cur_left(const struct iov_cursor *c)
{
	return c->i < c->n ? c->v[c->i].iov_len - c->off : 0;
}

static void cur_step(struct iov_cursor *c, size_t n)
{
	c->off += n;
	if (c->i < c->n && c->off == c->v[c->i].iov_len)
		c->i++, c->off = 0;
}

void raid_iov_xor_n(const struct iovec *dst, int nd, const struct raid_iov_list *src, int k,
		    size_t len)
{
	struct iov_cursor c[RAID_MAX_MEMBERS + 1];
	const uint8_t *p[RAID_MAX_MEMBERS];

	if (k < 1 || k > RAID_MAX_MEMBERS)
		return;
	c[k] = (struct iov_cursor){.v = dst, .n = nd};
	for (int j = 0; j < k; j++)
		c[j] = (struct iov_cursor){.v = src[j].v, .n = src[j].n};
	while (len) {
		size_t n = cur_left(&c[k]);

		for (int j = 0; j < k; j++)
			n = WEIR_MIN(n, cur_left(&c[j]));
		n = WEIR_MIN(n, len);
		if (!n)
			return; /* a list shorter than len: as far as all reach */
		for (int j = 0; j < k; j++)
			p[j] = (const uint8_t *)c[j].v[c[j].i].iov_base + c[j].off;
		xor_run_n((uint8_t *)c[k].v[c[k].i].iov_base + c[k].off, p, k, n);
		for (int j = 0; j <= k; j++)
			cur_step(&c[j], n);
		len -= n;
	}
}

void raid_iov_zero(const struct iovec *v, int n, size_t len)
{
	for (int i = 0; i < n && len; i++) {
		size_t k = v[i].iov_len < len ? v[i].iov_len : len;

		memset(v[i].iov_base, 0, k);
		len -= k;
	}
}

int raid_iov_sub(const struct iovec *in, int n, size_t off, size_t len, struct iovec *out,
		 int max)
{
	int k = 0;

	for (int i = 0; i < n && len; i++) {
		size_t l = in[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		if (k == max)
			return -E2BIG;
		out[k].iov_base = (uint8_t *)in[i].iov_base + off;
		out[k].iov_len = l - off < len ? l - off : len;
		len -= out[k].iov_len;
		off = 0;
		k++;
	}
	return len ? -EINVAL : k;
}
