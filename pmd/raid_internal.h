/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * RAID internals shared by the driver (raid.c: assembly, superblocks,
 * control; raid_io.c: the queue-pair engine) and the algorithm files that
 * work on small structs without I/O, unit-tested and fuzzed on their own:
 *   raid_layout.c  geometry, left-symmetric parity rotation, slicing a
 *                  range into column slices, the RAID5 write plan;
 *   raid_xor.c     XOR and copies over iovec lists;
 *   raid_sb.c      the on-disk superblock (encode, parse, checksum).
 *
 * Vocabulary (md's): a member is one device of the array; a chunk is
 * `chunk` consecutive blocks of one member; a row (md: stripe) is one
 * chunk of every member at the same member offset. RAID5 rotates the
 * parity chunk across rows left-symmetrically, as Linux md's default
 * layout: parity of row r on member n-1-(r mod n), data chunk j of row r
 * on member (parity + 1 + j) mod n. A slice is a column range [off,
 * off+len) of one row in which every data chunk is either wholly written
 * or not at all, so that each slice is a plain md-style stripe operation.
 */
#ifndef WEIR_PMD_RAID_INTERNAL_H
#define WEIR_PMD_RAID_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "weir/blk.h"

#define RAID_MAX_MEMBERS WEIR_BLK_RAID_MAX

/* --- geometry (raid_layout.c) ---------------------------------------------- */

struct raid_geom {
	int level;             /* 0, 1 or 5 */
	uint32_t n;            /* members */
	uint32_t chunk;        /* blocks per chunk */
	uint64_t member_blocks; /* data blocks per member, a multiple of chunk */
};

/* Data chunks per row: n for RAID0, 1 for RAID1, n - 1 for RAID5. */
uint32_t raid_data_chunks(const struct raid_geom *g);
uint64_t raid_rows(const struct raid_geom *g);
uint64_t raid_array_blocks(const struct raid_geom *g);
/* 0, or -EINVAL when the geometry cannot be an array of its level. */
int raid_geom_check(const struct raid_geom *g);

/* RAID5: the parity member of row r, and the member holding data chunk j. */
uint32_t raid5_parity(const struct raid_geom *g, uint64_t row);
uint32_t raid_data_member(const struct raid_geom *g, uint64_t row, uint32_t j);
/* RAID5: which data chunk member m holds in row r, -1 for the parity. */
int raid5_data_index(const struct raid_geom *g, uint64_t row, uint32_t m);

struct raid_slice {
	uint64_t row;
	uint32_t off, len; /* blocks, within the chunk: the same on every member */
	uint32_t j0, nj;   /* data chunks touched: j0 .. j0 + nj - 1 */
};

/* Array block of data chunk j of s at column s->off. */
static inline uint64_t raid_slice_lba(const struct raid_geom *g, const struct raid_slice *s,
				      uint32_t j)
{
	return (s->row * raid_data_chunks(g) + j) * g->chunk + s->off;
}

/*
 * Cuts array range [lba, lba + nblocks) at its first row and returns the
 * slices of that row's part in out (1 to 3); *used says how many blocks
 * they cover (the caller continues at lba + *used).
 */
int raid_slices(const struct raid_geom *g, uint64_t lba, uint64_t nblocks,
		struct raid_slice out[3], uint64_t *used);

enum raid_plan_kind {
	RAID_PLAN_FULL,      /* every data chunk written: parity from the new data */
	RAID_PLAN_RMW,       /* read old data and parity: P ^= old ^ new */
	RAID_PLAN_RCW,       /* read the untouched data: P = new ^ untouched */
	RAID_PLAN_DATA_ONLY, /* the parity member is out: write the data alone */
	RAID_PLAN_LOST,      /* two members out: the row cannot be written */
};

struct raid_plan {
	enum raid_plan_kind kind;
	uint32_t read_mask;  /* members to read before writing */
	uint32_t write_mask; /* members to write */
};

/*
 * The RAID5 write of slice s, given which members may be used for its row
 * (alive_mask). Chooses as md does: with no member out, the plan that
 * reads fewer chunks (RMW on a tie); a missing touched data chunk forces
 * RCW, a missing untouched one RMW, a missing parity DATA_ONLY.
 */
void raid5_plan_write(const struct raid_geom *g, const struct raid_slice *s, uint32_t alive_mask,
		      struct raid_plan *p);

/* --- XOR over iovec lists (raid_xor.c) ------------------------------------- */

/* dst ^= src for len bytes (word-wise; any alignment). */
void raid_xor(uint8_t *dst, const uint8_t *src, size_t len);
/* dst ^= src / dst = src / dst = 0 over iovec lists holding len bytes each. */
void raid_iov_xor(const struct iovec *dst, int nd, const struct iovec *src, int ns, size_t len);
void raid_iov_copy(const struct iovec *dst, int nd, const struct iovec *src, int ns, size_t len);
/* raid_iov_xor_n uses AVX2 where the CPU has it; false: the portable
 * vectors everywhere (tests compare the two). */
extern bool raid_xor_avx2;
struct raid_iov_list {
	const struct iovec *v;
	int n;
};
/* dst = XOR of the k (1..RAID_MAX_MEMBERS) lists over len bytes, in one
 * pass over dst; where a list is shorter than len, up to where all reach. */
void raid_iov_xor_n(const struct iovec *dst, int nd, const struct raid_iov_list *src, int k,
		    size_t len);
void raid_iov_zero(const struct iovec *v, int n, size_t len);
/*
 * The part [off, off + len) of an iovec list as a new list in out (room
 * for max); returns its count, or -E2BIG when it needs more than max, or
 * -EINVAL when the list is shorter than off + len.
 */
int raid_iov_sub(const struct iovec *in, int n, size_t off, size_t len, struct iovec *out,
		 int max);

/* --- superblock (raid_sb.c) ------------------------------------------------ */

#define RAID_SB_OFFSET 4096   /* bytes from a member's start (md 1.2 puts it at 4 KiB) */
#define RAID_SB_SIZE 4096     /* bytes written */
#define RAID_SB_USED 256      /* bytes of it that carry fields (checksummed) */
#define RAID_SB_VERSION 1
#define RAID_DATA_OFFSET (1u << 20) /* member bytes before the data area */

enum raid_sb_flags {
	RAID_SB_CLEAN = 1 << 0, /* closed with no write in flight */
};

struct raid_sb {
	uint8_t uuid[16];      /* the array's */
	uint32_t level;
	uint32_t nb_members;
	uint32_t chunk_bytes;
	uint32_t lbs;
	uint64_t data_offset;   /* bytes */
	uint64_t member_blocks; /* data blocks per member */
	uint64_t generation;    /* bumped on every change of member states */
	uint64_t ctime;         /* creation, ns since the epoch */
	uint32_t role;          /* this member's slot */
	uint32_t flags;         /* enum raid_sb_flags */
	int32_t rebuild_slot;   /* -1: no rebuild */
	uint64_t rebuild_rows;  /* rows of rebuild_slot rebuilt (checkpoint) */
	uint8_t states[RAID_MAX_MEMBERS]; /* enum weir_blk_member_state per slot */
};

/* Writes sb into buf (RAID_SB_SIZE bytes, zero-padded, checksummed). */
void raid_sb_encode(const struct raid_sb *sb, uint8_t *buf);
/*
 * Parses and validates a superblock of len bytes. 0; -ENODATA when there
 * is no weir superblock (magic absent); -EPROTO for an unknown version;
 * -EBADMSG when it is damaged (checksum) or inconsistent (a field out of
 * range), with why saying which.
 */
int raid_sb_decode(const uint8_t *buf, size_t len, struct raid_sb *sb, char *why, size_t whylen);
/* CRC32C (Castagnoli), as md and btrfs use; seed ~0 to start. */
uint32_t raid_crc32c(uint32_t crc, const void *data, size_t len);

#endif
