// SPDX-License-Identifier: BSD-3-Clause
/*
 * Ring creation and destruction; the fast path is inline in
 * include/weir/ring.h (and exported out of line by src/ffi.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/ring.h"

int weir_ring_create(const char *name, uint32_t size, unsigned flags, struct weir_ring **out)
{
	struct weir_ring *r;
	size_t bytes;

	if (size < 2 || size > WEIR_RING_MAX_SIZE || !weir_is_pow2(size) ||
	    (flags & ~(unsigned)(WEIR_RING_SP_ENQ | WEIR_RING_SC_DEQ)))
		return -EINVAL;
	bytes = sizeof(*r) + (size_t)size * sizeof(void *);
	r = aligned_alloc(WEIR_CACHE_LINE, (bytes + WEIR_CACHE_LINE - 1) & ~(size_t)(WEIR_CACHE_LINE - 1));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name ? name : "ring");
	r->size = size;
	r->mask = size - 1;
	r->flags = flags;
	r->prod.single = !!(flags & WEIR_RING_SP_ENQ);
	r->cons.single = !!(flags & WEIR_RING_SC_DEQ);
	*out = r;
	return 0;
}

void weir_ring_destroy(struct weir_ring *r)
{
	free(r);
}
