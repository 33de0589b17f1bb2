// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the RAID algorithms, without I/O: the left-symmetric
 * layout against Linux md's table, every block of an array at exactly one
 * member place, slicing (slices tile the range, each slice uniform), the
 * RAID5 write plan and its parity math on an in-memory model of the
 * members (every plan kind, every member out or none: afterwards parity
 * equals the XOR of the data and every chunk can be rebuilt from the
 * others), XOR and iovec helpers, and the superblock codec (round trip,
 * CRC32C's check value, damaged and inconsistent blocks named).
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "raid_internal.h"

Test(raid_layout, raid5_left_symmetric_matches_md)
{
	/* md, 4 disks, left-symmetric:  D0 D1 D2 P / D4 D5 P D3 /
	 * D8 P D6 D7 / P D9 D10 D11 (chunk numbers). */
	static const int md[4][4] = {{0, 1, 2, -1}, {4, 5, -1, 3}, {8, -1, 6, 7}, {-1, 9, 10, 11}};
	struct raid_geom g = {.level = 5, .n = 4, .chunk = 8, .member_blocks = 64};

	for (uint64_t r = 0; r < 4; r++) {
		for (uint32_t m = 0; m < 4; m++) {
			int j = raid5_data_index(&g, r, m);

			if (md[r][m] < 0) {
				cr_assert_eq(raid5_parity(&g, r), m, "row %llu", (unsigned long long)r);
				cr_assert_eq(j, -1);
			} else {
				cr_assert_eq(j, md[r][m] - (int)r * 3, "row %llu member %u",
					     (unsigned long long)r, m);
				cr_assert_eq(raid_data_member(&g, r, (uint32_t)j), m);
			}
		}
	}
	cr_assert_eq(raid5_parity(&g, 4), 3, "the rotation repeats every n rows");
}

Test(raid_layout, every_block_has_one_place)
{
	int levels[] = {0, 5};

	for (int li = 0; li < 2; li++) {
		for (uint32_t n = 3; n <= 6; n++) {
			struct raid_geom g = {.level = levels[li], .n = n, .chunk = 4,
					      .member_blocks = 40};
			uint64_t blocks = raid_array_blocks(&g);
			uint8_t *seen = calloc(n * g.member_blocks, 1);

			cr_assert_eq(raid_geom_check(&g), 0);
			cr_assert_eq(blocks, g.member_blocks * raid_data_chunks(&g));
			for (uint64_t lba = 0; lba < blocks; lba++) {
				struct raid_slice s[3];
				uint64_t used;
				int k = raid_slices(&g, lba, 1, s, &used);
				uint32_t m = raid_data_member(&g, s[0].row, s[0].j0);
				uint64_t mb = s[0].row * g.chunk + s[0].off;

				cr_assert_eq(k, 1);
				cr_assert_eq(used, 1);
				cr_assert_eq(raid_slice_lba(&g, &s[0], s[0].j0), lba);
				cr_assert_eq(seen[m * g.member_blocks + mb]++, 0, "two blocks at one place");
				if (g.level == 5)
					cr_assert_neq(m, raid5_parity(&g, s[0].row));
			}
			free(seen);
		}
	}
}

Test(raid_layout, slices_tile_the_range_and_are_uniform)
{
	struct raid_geom g = {.level = 5, .n = 5, .chunk = 8, .member_blocks = 80};
	uint64_t blocks = raid_array_blocks(&g);

	srand(7);
	for (int t = 0; t < 3000; t++) {
		uint64_t lba = (uint64_t)rand() % blocks, nb = 1 + (uint64_t)rand() % 70;
		uint8_t hit[400] = {0};

		if (lba + nb > blocks)
			nb = blocks - lba;
		for (uint64_t at = lba, left = nb; left;) {
			struct raid_slice s[3];
			uint64_t used, covered = 0;
			int k = raid_slices(&g, at, left, s, &used);

			cr_assert(k >= 1 && k <= 3);
			for (int i = 0; i < k; i++) {
				cr_assert(s[i].len && s[i].off + s[i].len <= g.chunk);
				cr_assert(s[i].nj && s[i].j0 + s[i].nj <= raid_data_chunks(&g));
				for (uint32_t j = s[i].j0; j < s[i].j0 + s[i].nj; j++)
					for (uint32_t b = 0; b < s[i].len; b++)
						hit[raid_slice_lba(&g, &s[i], j) + b]++;
				covered += (uint64_t)s[i].len * s[i].nj;
			}
			cr_assert_eq(covered, used);
			at += used;
			left -= used;
		}
		for (uint64_t b = 0; b < blocks; b++)
			cr_assert_eq(hit[b], b >= lba && b < lba + nb, "block %llu of %llu+%llu",
				     (unsigned long long)b, (unsigned long long)lba,
				     (unsigned long long)nb);
	}
}

/* --- the RAID5 write plan on an in-memory model ---------------------------- */

#define M_N 5
#define M_CHUNK 4 /* blocks of 1 byte: enough for XOR */

static uint8_t mem[M_N][M_CHUNK];   /* one row */
static uint8_t truth[M_N - 1][M_CHUNK]; /* what the data chunks should hold */

/* Runs a write of value v to data chunks j0..j0+nj-1, columns off..off+len,
 * as the plan says, reading only what it says to read. */
static void model_write(const struct raid_geom *g, const struct raid_slice *s, uint32_t alive,
			uint8_t v, enum raid_plan_kind *kind)
{
	struct raid_plan p;
	uint32_t par = raid5_parity(g, 0);
	uint8_t old[M_N][M_CHUNK], P[M_CHUNK] = {0};

	raid5_plan_write(g, s, alive, &p);
	*kind = p.kind;
	cr_assert_eq(p.read_mask & ~alive, 0, "the plan reads a member that is out");
	cr_assert_eq(p.write_mask & ~alive, 0, "the plan writes a member that is out");
	memset(old, 0xcc, sizeof(old)); /* unread memory is garbage */
	for (uint32_t m = 0; m < M_N; m++)
		if (p.read_mask & (1u << m))
			memcpy(old[m], mem[m], M_CHUNK);
	for (uint32_t c = s->off; c < s->off + s->len; c++) {
		for (uint32_t j = 0; j < M_N - 1; j++) {
			uint32_t m = raid_data_member(g, 0, j);
			bool t = j >= s->j0 && j < s->j0 + s->nj;

			if (p.kind == RAID_PLAN_FULL || p.kind == RAID_PLAN_RCW)
				P[c] ^= t ? v : old[m][c];
			else if (p.kind == RAID_PLAN_RMW && t)
				P[c] ^= old[m][c] ^ v;
		}
		if (p.kind == RAID_PLAN_RMW)
			P[c] ^= old[par][c];
	}
	for (uint32_t j = s->j0; j < s->j0 + s->nj; j++)
		for (uint32_t c = s->off; c < s->off + s->len; c++)
			truth[j][c] = v;
	for (uint32_t m = 0; m < M_N; m++) {
		if (!(p.write_mask & (1u << m)))
			continue;
		for (uint32_t c = s->off; c < s->off + s->len; c++)
			mem[m][c] = m == par ? P[c] : v;
	}
}

/* Every alive member holds the truth, and any one chunk is the XOR of the
 * others (which is what a degraded read or a rebuild computes). */
static void model_check(const struct raid_geom *g, uint32_t alive)
{
	uint32_t par = raid5_parity(g, 0);

	for (uint32_t c = 0; c < M_CHUNK; c++) {
		uint8_t x = mem[par][c];

		for (uint32_t j = 0; j < M_N - 1; j++) {
			uint32_t m = raid_data_member(g, 0, j);

			x ^= truth[j][c];
			if (alive & (1u << m))
				cr_assert_eq(mem[m][c], truth[j][c], "member %u col %u", m, c);
		}
		if (alive & (1u << par))
			cr_assert_eq(x, 0, "parity column %u is not the XOR of the data", c);
	}
}

Test(raid_layout, raid5_plans_keep_parity_and_rebuildable_data)
{
	struct raid_geom g = {.level = 5, .n = M_N, .chunk = M_CHUNK, .member_blocks = M_CHUNK};
	unsigned kinds[5] = {0};

	srand(11);
	for (int out = -1; out < M_N; out++) {
		uint32_t alive = ((1u << M_N) - 1) & ~(out >= 0 ? 1u << out : 0);

		memset(mem, 0, sizeof(mem));
		memset(truth, 0, sizeof(truth));
		for (int t = 0; t < 400; t++) {
			struct raid_slice s = {.row = 0};
			enum raid_plan_kind k;

			s.j0 = (uint32_t)rand() % (M_N - 1);
			s.nj = 1 + (uint32_t)rand() % (M_N - 1 - s.j0);
			s.off = (uint32_t)rand() % M_CHUNK;
			s.len = 1 + (uint32_t)rand() % (M_CHUNK - s.off);
			model_write(&g, &s, alive, (uint8_t)(1 + rand() % 255), &k);
			kinds[k]++;
			model_check(&g, alive);
		}
	}
	for (int k = RAID_PLAN_FULL; k <= RAID_PLAN_DATA_ONLY; k++)
		cr_assert_gt(kinds[k], 0, "plan kind %d never chosen", k);
}

Test(raid_layout, raid5_plan_choices)
{
	struct raid_geom g = {.level = 5, .n = 5, .chunk = 8, .member_blocks = 8};
	struct raid_slice one = {.row = 0, .off = 0, .len = 8, .j0 = 0, .nj = 1};
	struct raid_slice three = {.row = 0, .off = 0, .len = 8, .j0 = 0, .nj = 3};
	struct raid_plan p;
	uint32_t all = 0x1f; /* row 0: parity on member 4, data 0..3 on members 0..3 */

	raid5_plan_write(&g, &one, all, &p);
	cr_assert_eq(p.kind, RAID_PLAN_RMW, "1 chunk: read 2 (RMW) rather than 3 (RCW)");
	cr_assert_eq(p.read_mask, 0x11);
	raid5_plan_write(&g, &three, all, &p);
	cr_assert_eq(p.kind, RAID_PLAN_RCW, "3 chunks: read 1 (RCW) rather than 4");
	cr_assert_eq(p.read_mask, 0x08);
	raid5_plan_write(&g, &three, all & ~0x08u, &p);
	cr_assert_eq(p.kind, RAID_PLAN_RMW, "untouched member out: only RMW can work");
	raid5_plan_write(&g, &one, all & ~0x01u, &p);
	cr_assert_eq(p.kind, RAID_PLAN_RCW, "touched member out: RCW");
	cr_assert_eq(p.write_mask, 0x10, "only the parity is written");
	raid5_plan_write(&g, &one, all & ~0x10u, &p);
	cr_assert_eq(p.kind, RAID_PLAN_DATA_ONLY);
	raid5_plan_write(&g, &one, all & ~0x06u, &p);
	cr_assert_eq(p.kind, RAID_PLAN_LOST);
}

/* --- XOR and iovec helpers -------------------------------------------------- */

Test(raid_layout, xor_matches_bytewise_at_any_length_and_offset)
{
	uint8_t a[300], b[300], ref[300];

	for (size_t off = 0; off < 9; off++) {
		for (size_t len = 0; len < 280; len += 7) {
			for (size_t i = 0; i < sizeof(a); i++)
				a[i] = (uint8_t)(i * 13 + off), b[i] = (uint8_t)(i * 7 + len);
			memcpy(ref, a, sizeof(a));
			for (size_t i = 0; i < len; i++)
				ref[off + i] ^= b[off + 1 + i];
			raid_xor(a + off, b + off + 1, len);
			cr_assert_arr_eq(a, ref, sizeof(a));
		}
	}
}

/* The one-pass parity of k lists, cut differently (runs of odd lengths, so
 * the 128-byte vector loop and its byte tail both run, at odd addresses),
 * equals the bytewise XOR of all of them, with AVX2 and without. */
Test(raid_layout, xor_of_many_lists_in_one_pass_matches_bytewise)
{
	enum { LEN = 3 * 2048 + 77, K = 5 };
	static uint8_t src[K][LEN], dst[LEN], ref[LEN];
	struct iovec s0[1] = {{src[0], LEN}};
	struct iovec s1[3] = {{src[1], 5}, {src[1] + 5, 2048}, {src[1] + 5 + 2048, LEN - 5 - 2048}};
	struct iovec s2[2] = {{src[2], LEN / 2}, {src[2] + LEN / 2, LEN - LEN / 2}};
	struct iovec s3[2] = {{src[3], 129}, {src[3] + 129, LEN - 129}};
	struct iovec s4[1] = {{src[4], LEN}};
	struct iovec d[2] = {{dst, 1000}, {dst + 1000, LEN - 1000}};
	struct raid_iov_list l[K] = {{s0, 1}, {s1, 3}, {s2, 2}, {s3, 2}, {s4, 1}};

	for (int avx2 = 0; avx2 < 2; avx2++) {
		raid_xor_avx2 = avx2;
		for (int k = 1; k <= K; k++) {
			for (size_t i = 0; i < LEN; i++) {
				ref[i] = 0;
				for (int j = 0; j < K; j++) {
					src[j][i] = (uint8_t)(i * (13 + 2 * j) + j + (i >> (j + 1)));
					ref[i] ^= j < k ? src[j][i] : 0;
				}
				dst[i] = 0xa5;
			}
			raid_iov_xor_n(d, 2, l, k, LEN);
			cr_assert_arr_eq(dst, ref, LEN, "k = %d, avx2 allowed %d", k, avx2);
		}
	}
	raid_xor_avx2 = true;
}

Test(raid_layout, iovec_xor_copy_and_sub_ranges)
{
	uint8_t x[64], y[64], z[64];
	struct iovec dx[3] = {{x, 5}, {x + 5, 40}, {x + 45, 19}};
	struct iovec dy[2] = {{y, 33}, {y + 33, 31}};
	struct iovec sub[4];

	for (int i = 0; i < 64; i++)
		x[i] = (uint8_t)i, y[i] = (uint8_t)(200 - i), z[i] = (uint8_t)(i ^ (200 - i));
	raid_iov_xor(dx, 3, dy, 2, 64);
	cr_assert_arr_eq(x, z, 64);
	raid_iov_copy(dy, 2, dx, 3, 64);
	cr_assert_arr_eq(y, z, 64);
	raid_iov_zero(dx, 3, 50);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(x[i], i < 50 ? 0 : z[i]);
	cr_assert_eq(raid_iov_sub(dx, 3, 3, 10, sub, 4), 2);
	cr_assert_eq(sub[0].iov_base, x + 3);
	cr_assert_eq(sub[0].iov_len, 2);
	cr_assert_eq(sub[1].iov_base, x + 5);
	cr_assert_eq(sub[1].iov_len, 8);
	cr_assert_eq(raid_iov_sub(dx, 3, 0, 64, sub, 2), -E2BIG);
	cr_assert_eq(raid_iov_sub(dx, 3, 60, 5, sub, 4), -EINVAL);
}

/* --- superblock ------------------------------------------------------------- */

static struct raid_sb sample(void)
{
	struct raid_sb sb = {
		.uuid = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		.level = 5, .nb_members = 4, .chunk_bytes = 65536, .lbs = 4096,
		.data_offset = RAID_DATA_OFFSET, .member_blocks = 16 * 100, .generation = 42,
		.ctime = 1700000000000000000ULL, .role = 2, .flags = RAID_SB_CLEAN,
		.rebuild_slot = 3, .rebuild_rows = 17,
	};

	sb.states[1] = WEIR_BLK_MEMBER_FAILED;
	sb.states[3] = WEIR_BLK_MEMBER_REBUILDING;
	return sb;
}

Test(raid_layout, crc32c_check_value)
{
	cr_assert_eq(~raid_crc32c(~0u, "123456789", 9), 0xe3069283u);
}

Test(raid_layout, superblock_round_trip)
{
	static uint8_t buf[RAID_SB_SIZE];
	struct raid_sb sb = sample(), got;
	char why[128];

	raid_sb_encode(&sb, buf);
	cr_assert_eq(raid_sb_decode(buf, sizeof(buf), &got, why, sizeof(why)), 0, "%s", why);
	cr_assert_arr_eq(&got, &sb, sizeof(sb));
}

static int decode_with(void (*edit)(uint8_t *), bool fix_crc, char *why, size_t len)
{
	static uint8_t buf[RAID_SB_SIZE];
	struct raid_sb sb = sample(), got;

	raid_sb_encode(&sb, buf);
	edit(buf);
	if (fix_crc) {
		uint32_t c = raid_crc32c(~0u, buf, RAID_SB_USED - 4);

		memcpy(buf + RAID_SB_USED - 4, &c, 4); /* little-endian host */
	}
	return raid_sb_decode(buf, sizeof(buf), &got, why, len);
}

static void flip_generation(uint8_t *b) { b[64] ^= 1; }
static void clear_magic(uint8_t *b) { memset(b, 0, 8); }
static void version_2(uint8_t *b) { b[8] = 2; }
static void level_4(uint8_t *b) { b[32] = 4; }
static void role_9(uint8_t *b) { b[80] = 9; }
static void chunk_odd(uint8_t *b) { b[40] = 1; }
static void state_7(uint8_t *b) { b[104] = 7; }
static void rebuild_past_end(uint8_t *b) { b[96] = 0xff, b[97] = 0xff; }
static void reserved_set(uint8_t *b) { b[200] = 1; }
static void tail_set(uint8_t *b) { b[1000] = 1; }

Test(raid_layout, damaged_and_inconsistent_superblocks_are_named)
{
	char why[128];

	cr_assert_eq(decode_with(flip_generation, false, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "corrupt superblock (checksum"), "%s", why);
	cr_assert_eq(decode_with(clear_magic, false, why, sizeof(why)), -ENODATA);
	cr_assert_eq(decode_with(version_2, true, why, sizeof(why)), -EPROTO);
	cr_assert(strstr(why, "version 2"), "%s", why);
	cr_assert_eq(decode_with(level_4, true, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "(level out of range)"), "%s", why);
	cr_assert_eq(decode_with(role_9, true, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "(role out of range)"), "%s", why);
	cr_assert_eq(decode_with(chunk_odd, true, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "chunk size"), "%s", why);
	cr_assert_eq(decode_with(state_7, true, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "member states"), "%s", why);
	cr_assert_eq(decode_with(rebuild_past_end, true, why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "rebuild checkpoint"), "%s", why);
	cr_assert_eq(decode_with(reserved_set, true, why, sizeof(why)), -EBADMSG);
	cr_assert_eq(decode_with(tail_set, false, why, sizeof(why)), 0, "past the used part");
}
