// SPDX-License-Identifier: BSD-3-Clause
/*
 * The RAID member superblock: 4 KiB at byte 4096 of every member (md 1.2's
 * place), little-endian fields at fixed offsets, a CRC32C over the used
 * part. It says which array the member belongs to (uuid), its layout, the
 * member's slot, every slot's state as this member last saw it, a
 * generation bumped on each change (so a member that missed changes is
 * recognised as stale), the rebuild checkpoint and the clean flag.
 *
 * The parser trusts nothing: every field is range-checked against what an
 * encoder could have written, so a damaged or forged block is refused with
 * the field named (fuzzed by tests/fuzz/fuzz_raid_sb.c).
 *
 *   0 magic "WEIRRAID"   8 version    12 used size  16 uuid[16]
 *  32 level  36 members  40 chunk     44 lbs        48 data offset (u64)
 *  56 member blocks      64 generation              72 ctime
 *  80 role   84 flags    88 rebuild slot (s32)      92 zero
 *  96 rebuild rows       104 states[16]             120..251 zero
 * 252 crc32c of bytes 0..251; 256..4095 zero (not checked).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "raid_internal.h"

static const char magic[8] = {'W', 'E', 'I', 'R', 'R', 'A', 'I', 'D'};

#define CRC_OFF (RAID_SB_USED - 4)

uint32_t raid_crc32c(uint32_t crc, const void *data, size_t len)
{
	static uint32_t table[256];
	const uint8_t *p = data;

	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;

			for (int k = 0; k < 8; k++)
				c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			table[i] = c;
		}
	}
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *b, size_t off)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | b[off + i];
	return v;
}

static uint64_t get64(const uint8_t *b, size_t off)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[off + i];
	return v;
}

void raid_sb_encode(const struct raid_sb *sb, uint8_t *buf)
{
	memset(buf, 0, RAID_SB_SIZE);
	memcpy(buf, magic, sizeof(magic));
	put32(buf, 8, RAID_SB_VERSION);
	put32(buf, 12, RAID_SB_USED);
	memcpy(buf + 16, sb->uuid, 16);
	put32(buf, 32, sb->level);
	put32(buf, 36, sb->nb_members);
	put32(buf, 40, sb->chunk_bytes);
	put32(buf, 44, sb->lbs);
	put64(buf, 48, sb->data_offset);
	put64(buf, 56, sb->member_blocks);
	put64(buf, 64, sb->generation);
	put64(buf, 72, sb->ctime);
	put32(buf, 80, sb->role);
	put32(buf, 84, sb->flags);
	put32(buf, 88, (uint32_t)sb->rebuild_slot);
	put64(buf, 96, sb->rebuild_rows);
	memcpy(buf + 104, sb->states, RAID_MAX_MEMBERS);
	put32(buf, CRC_OFF, raid_crc32c(~0u, buf, CRC_OFF));
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void read_fields(const uint8_t *buf, struct raid_sb *sb)
{
	memcpy(sb->uuid, buf + 16, 16);
	sb->level = get32(buf, 32);
	sb->nb_members = get32(buf, 36);
	sb->chunk_bytes = get32(buf, 40);
	sb->lbs = get32(buf, 44);
	sb->data_offset = get64(buf, 48);
	sb->member_blocks = get64(buf, 56);
	sb->generation = get64(buf, 64);
	sb->ctime = get64(buf, 72);
	sb->role = get32(buf, 80);
	sb->flags = get32(buf, 84);
	sb->rebuild_slot = (int32_t)get32(buf, 88);
	sb->rebuild_rows = get64(buf, 96);
	memcpy(sb->states, buf + 104, RAID_MAX_MEMBERS);
}

/* The first field out of range, or NULL. */
static const char *check_fields(const struct raid_sb *sb)
{
	struct raid_geom g = {.level = (int)sb->level, .n = sb->nb_members};

	if (sb->level != 0 && sb->level != 1 && sb->level != 5)
		return "level";
	if (sb->nb_members < (sb->level == 5 ? 3u : 2u) || sb->nb_members > RAID_MAX_MEMBERS)
		return "member count";
	if (sb->role >= sb->nb_members)
		return "role";
	if (sb->lbs != 512 && sb->lbs != 4096)
		return "block size";
	if (sb->chunk_bytes < 4096 || sb->chunk_bytes > (1u << 20) ||
	    (sb->chunk_bytes & (sb->chunk_bytes - 1)))
		return "chunk size";
	if (sb->data_offset < RAID_SB_OFFSET + RAID_SB_SIZE || sb->data_offset % sb->lbs ||
	    sb->data_offset > (1ULL << 40))
		return "data offset";
	g.chunk = sb->chunk_bytes / sb->lbs;
	g.member_blocks = sb->member_blocks;
	if (!sb->member_blocks || sb->member_blocks > (1ULL << 48) || raid_geom_check(&g))
		return "member size";
	if (!sb->generation)
		return "generation";
	if (sb->flags & ~(uint32_t)RAID_SB_CLEAN)
		return "flags";
	for (uint32_t i = 0; i < RAID_MAX_MEMBERS; i++)
		if (sb->states[i] > WEIR_BLK_MEMBER_MISSING || (i >= sb->nb_members && sb->states[i]))
			return "member states";
	if (sb->rebuild_slot < -1 || sb->rebuild_slot >= (int32_t)sb->nb_members ||
	    (sb->rebuild_slot < 0 && sb->rebuild_rows) || sb->rebuild_rows > raid_rows(&g) ||
	    (sb->rebuild_slot >= 0 && sb->states[sb->rebuild_slot] != WEIR_BLK_MEMBER_REBUILDING))
		return "rebuild checkpoint";
	return NULL;
}

int raid_sb_decode(const uint8_t *buf, size_t len, struct raid_sb *sb, char *why, size_t whylen)
{
	uint32_t stored, crc;
	const char *bad;

	if (len < RAID_SB_USED || memcmp(buf, magic, sizeof(magic))) {
		snprintf(why, whylen, "no weir RAID superblock");
		return -ENODATA;
	}
	if (get32(buf, 8) != RAID_SB_VERSION) {
		snprintf(why, whylen, "superblock version %u (this weir reads version %u)",
			 get32(buf, 8), RAID_SB_VERSION);
		return -EPROTO;
	}
	stored = get32(buf, CRC_OFF);
	crc = raid_crc32c(~0u, buf, CRC_OFF);
	if (stored != crc) {
		snprintf(why, whylen, "corrupt superblock (checksum %08x, computed %08x)", stored,
			 crc);
		return -EBADMSG;
	}
	if (get32(buf, 12) != RAID_SB_USED || get32(buf, 92) || !all_zero(buf + 120, 132)) {
		snprintf(why, whylen, "corrupt superblock (reserved fields set)");
		return -EBADMSG;
	}
	memset(sb, 0, sizeof(*sb));
	read_fields(buf, sb);
	bad = check_fields(sb);
	if (bad) {
		snprintf(why, whylen, "corrupt superblock (%s out of range)", bad);
		return -EBADMSG;
	}
	return 0;
}
