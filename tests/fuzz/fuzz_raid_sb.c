// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the RAID member superblock parser (pmd/raid_sb.c), fed the
 * first 4 KiB of a member the way a damaged, foreign or forged device
 * presents them at assembly.
 *
 * Input: the superblock bytes. A mutated block almost always fails its
 * checksum, which would keep the fuzzer at the door; so when byte 256 (the
 * first byte past the checksummed part, which the parser ignores) is 'F',
 * the target recomputes the checksum before parsing, and the field checks
 * behind it get explored too.
 *
 * Properties beyond "does not crash": a refusal is -ENODATA, -EPROTO or
 * -EBADMSG with a non-empty message; an accepted block is canonical (it
 * encodes back to the same used bytes and parses to the same struct), and
 * its geometry is one the layout code accepts, whose last block maps
 * inside a member.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raid_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_geometry(const struct raid_sb *sb)
{
	struct raid_geom g = {.level = (int)sb->level, .n = sb->nb_members,
			      .chunk = sb->chunk_bytes / sb->lbs, .member_blocks = sb->member_blocks};
	struct raid_slice s[3];
	uint64_t used, last;

	if (raid_geom_check(&g))
		abort();
	last = raid_array_blocks(&g) - 1;
	if (raid_slices(&g, last, 1, s, &used) != 1 || used != 1)
		abort();
	if (s[0].row >= raid_rows(&g) || raid_data_member(&g, s[0].row, s[0].j0) >= g.n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[RAID_SB_SIZE], again[RAID_SB_SIZE];
	size_t n = size < RAID_SB_SIZE ? size : RAID_SB_SIZE;
	struct raid_sb sb, sb2;
	char why[160] = "";
	int r;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, n);
	if (n > RAID_SB_USED && buf[RAID_SB_USED] == 'F') {
		uint32_t c = raid_crc32c(~0u, buf, RAID_SB_USED - 4);

		for (int i = 0; i < 4; i++)
			buf[RAID_SB_USED - 4 + i] = (uint8_t)(c >> (8 * i));
	}
	r = raid_sb_decode(buf, n, &sb, why, sizeof(why));
	if (r) {
		if ((r != -ENODATA && r != -EPROTO && r != -EBADMSG) || !why[0] ||
		    strnlen(why, sizeof(why)) == sizeof(why))
			abort();
		return 0;
	}
	raid_sb_encode(&sb, again);
	if (memcmp(again, buf, RAID_SB_USED))
		abort();
	if (raid_sb_decode(again, sizeof(again), &sb2, why, sizeof(why)) ||
	    memcmp(&sb, &sb2, sizeof(sb)))
		abort();
	check_geometry(&sb);
	return 0;
}
