// SPDX-License-Identifier: BSD-3-Clause
/*
 * RAID geometry: where an array block lives, RAID5's left-symmetric parity
 * rotation (Linux md's ALGORITHM_LEFT_SYMMETRIC, so a weir RAID5 and an md
 * one of the same chunk and member order place every block alike), cutting
 * a range into column slices, and the RAID5 write plan. Arithmetic only.
 */
#include <errno.h>

#include "raid_internal.h"

uint32_t raid_data_chunks(const struct raid_geom *g)
{
	switch (g->level) {
	case 0: return g->n;
	case 1: return 1;
	default: return g->n - 1;
	}
}

uint64_t raid_rows(const struct raid_geom *g)
{
	return g->member_blocks / g->chunk;
}

uint64_t raid_array_blocks(const struct raid_geom *g)
{
	return raid_rows(g) * g->chunk * raid_data_chunks(g);
}

int raid_geom_check(const struct raid_geom *g)
{
	uint32_t min = g->level == 5 ? 3 : 2;

	if (g->level != 0 && g->level != 1 && g->level != 5)
		return -EINVAL;
	if (g->n < min || g->n > RAID_MAX_MEMBERS)
		return -EINVAL;
	if (!g->chunk || (g->chunk & (g->chunk - 1)) || !g->member_blocks ||
	    g->member_blocks % g->chunk)
		return -EINVAL;
	return 0;
}

uint32_t raid5_parity(const struct raid_geom *g, uint64_t row)
{
	return g->n - 1 - (uint32_t)(row % g->n);
}

uint32_t raid_data_member(const struct raid_geom *g, uint64_t row, uint32_t j)
{
	switch (g->level) {
	case 0: return j;
	case 1: return 0; /* every mirror holds it; the caller picks */
	default: return (raid5_parity(g, row) + 1 + j) % g->n;
	}
}

int raid5_data_index(const struct raid_geom *g, uint64_t row, uint32_t m)
{
	uint32_t p = raid5_parity(g, row);

	if (m == p)
		return -1;
	return (int)((m + g->n - p - 1) % g->n);
}

int raid_slices(const struct raid_geom *g, uint64_t lba, uint64_t nblocks,
		struct raid_slice out[3], uint64_t *used)
{
	uint64_t row_blocks = (uint64_t)g->chunk * raid_data_chunks(g);
	uint64_t row = lba / row_blocks;
	uint64_t s = lba % row_blocks;
	uint64_t e = s + nblocks < row_blocks ? s + nblocks : row_blocks;
	uint32_t js = (uint32_t)(s / g->chunk), je = (uint32_t)((e - 1) / g->chunk);
	uint32_t a = (uint32_t)(s % g->chunk), b = (uint32_t)((e - 1) % g->chunk + 1);
	uint32_t cut[4] = {0, a < b ? a : b, a < b ? b : a, g->chunk};
	int n = 0;

	*used = e - s;
	if (js == je) {
		out[0] = (struct raid_slice){.row = row, .off = a, .len = b - a, .j0 = js, .nj = 1};
		return 1;
	}
	/* Columns cut at a and b: in each, chunk js is written iff the
	 * column is at or right of a, chunk je iff at or left of b, and the
	 * chunks between always. */
	for (int i = 0; i < 3; i++) {
		uint32_t x = cut[i], y = cut[i + 1];
		uint32_t j0 = x >= a ? js : js + 1, j1 = y <= b ? je : je - 1;

		if (x == y || j1 + 1 <= j0)
			continue;
		out[n++] = (struct raid_slice){.row = row, .off = x, .len = y - x, .j0 = j0,
					       .nj = j1 - j0 + 1};
	}
	return n;
}

void raid5_plan_write(const struct raid_geom *g, const struct raid_slice *s, uint32_t alive_mask,
		      struct raid_plan *p)
{
	uint32_t all = (1u << g->n) - 1, par = 1u << raid5_parity(g, s->row);
	uint32_t touched = 0, out = all & ~alive_mask;
	uint32_t untouched;
	int rmw, rcw;

	for (uint32_t j = s->j0; j < s->j0 + s->nj; j++)
		touched |= 1u << raid_data_member(g, s->row, j);
	untouched = all & ~touched & ~par;
	p->read_mask = 0;
	if (__builtin_popcount(out) > 1) {
		p->kind = RAID_PLAN_LOST;
		p->write_mask = 0;
		return;
	}
	p->write_mask = (touched | par) & alive_mask;
	if (out & par) {
		p->kind = RAID_PLAN_DATA_ONLY;
		return;
	}
	if (!untouched) {
		p->kind = RAID_PLAN_FULL;
		return;
	}
	rmw = __builtin_popcount(touched) + 1;
	rcw = __builtin_popcount(untouched);
	if ((out & touched) || (!(out & untouched) && rcw < rmw)) {
		p->kind = RAID_PLAN_RCW;
		p->read_mask = untouched;
	} else {
		p->kind = RAID_PLAN_RMW;
		p->read_mask = touched | par;
	}
}
