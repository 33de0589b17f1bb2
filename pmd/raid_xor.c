// SPDX-License-Identifier: BSD-3-Clause
/*
 * XOR parity over memory and over iovec lists (the user's scattered pool
 * buffers against the driver's own), plus the copies and sub-ranges the
 * RAID engine needs. The inner loop works on 64-bit words through memcpy,
 * which compilers turn into vector loads for any alignment.
 */
#include <errno.h>
#include <string.h>

#include "raid_internal.h"

void raid_xor(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		uint64_t a[4], b[4];

		memcpy(a, dst + i, 32);
		memcpy(b, src + i, 32);
		for (int k = 0; k < 4; k++)
			a[k] ^= b[k];
		memcpy(dst + i, a, 32);
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
