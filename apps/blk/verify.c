// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-blk --verify: every logical block written carries a 40-byte header
 *
 *     magic "weir-blk" | LBA | generation | block size | run key | checksum
 *
 * followed by data drawn from (LBA, generation, run key); the checksum (an
 * xxHash64-style hash) covers the header's other fields and the data. The
 * generation counts the writes of that block. A job never has two I/Os on
 * one block in flight (blk_aim skips busy blocks), so when a read
 * completes, the generation the block must hold is exactly the last one
 * whose write completed: asynchronous writes completing out of order can
 * never make a false mismatch. What a block must hold is "exact" once this
 * run wrote (or read) it; before that it is "at least" the generation the
 * state file says was durable (0: never written, any valid header or none).
 *
 * Durability follows blk.h: a write is durable once a flush submitted
 * after its completion was polled has completed. Completed writes go into
 * a log in completion order; a flush's completion (req->seq: the highest
 * write number it covers) moves what it covers into the durable table, and
 * the table's changed range is written to the --verify-state file and
 * fdatasync'ed before the next flush can claim more. A crash at any point
 * leaves a file whose every entry is a true lower bound, so --verify-only
 * after a crash (kill -9, power loss) fails only on a lost or damaged
 * durable write, never on a write that was not yet reported durable.
 *
 * --pattern (fio interop): data is a repeated byte pattern, as fio's
 * --buffer_pattern / --verify_pattern write it, and reads compare every
 * byte.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/pkt.h"

#include "common/fastpath.h"
#include "blk/blk.h"

#define VHDR_MAGIC 0x6b6c622d72696577ULL /* "weir-blk" */
#define STATE_MAGIC "weirvst1"
#define STATE_HDR 64
#define SAY_MAX 10

struct vhdr {
	uint64_t magic;
	uint64_t lba;
	uint32_t gen;
	uint32_t lbs;
	uint64_t key;
	uint64_t csum;
};

_Static_assert(sizeof(struct vhdr) == 40, "header layout");

#define P1 0x9e3779b185ebca87ULL
#define P2 0xc2b2ae3d27d4eb4fULL

static inline uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

/* The checksum of a block: its header without csum, then its data. */
static uint64_t block_csum(const uint8_t *b, uint32_t lbs)
{
	uint64_t h = P2 ^ lbs;

	for (uint32_t i = 0; i < lbs; i += 8) {
		uint64_t w;

		if (i == offsetof(struct vhdr, csum))
			continue;
		memcpy(&w, b + i, 8);
		h = rotl(h + w * P2, 31) * P1;
	}
	h ^= h >> 33;
	h *= P2;
	return h ^ (h >> 29);
}

/* Calls fn on each logical block of r's data (segments are whole blocks:
 * blk_alloc_reqs makes them so). */
#define FOR_EACH_BLOCK(r, lbs, ptr, k)                                                  \
	for (const struct weir_pkt *s_ = (r)->pkt; s_; s_ = s_->next)                   \
		for (uint32_t o_ = 0; o_ < s_->data_len; o_ += (lbs), (k)++)            \
			if (((ptr) = weir_pkt_data(s_) + o_), 1)

static void fill_block(uint8_t *b, uint32_t lbs, uint64_t lba, uint32_t gen, uint64_t key)
{
	struct vhdr h = {.magic = VHDR_MAGIC, .lba = lba, .gen = gen, .lbs = lbs, .key = key};
	uint64_t s = lba * P1 ^ (uint64_t)gen << 32 ^ key;

	for (uint32_t i = sizeof(h); i < lbs; i += 8) {
		uint64_t w = rng_next(&s);

		memcpy(b + i, &w, 8);
	}
	memcpy(b, &h, sizeof(h));
	h.csum = block_csum(b, lbs);
	memcpy(b + offsetof(struct vhdr, csum), &h.csum, 8);
}

void blk_verify_fill(struct blk_job *j, struct weir_blk_req *r)
{
	struct blk_app *a = j->app;
	uint32_t lbs = a->info.lbs, gen = 0, k = 0;
	uint64_t i0 = r->lba - j->first;
	uint8_t *b;

	/* One generation for the whole request: higher than each block's. */
	for (uint32_t x = 0; x < r->nblocks; x++)
		gen = WEIR_MAX(gen, j->v.gen[i0 + x]);
	gen++;
	r->udata = (void *)(uintptr_t)gen;
	FOR_EACH_BLOCK(r, lbs, b, k)
		fill_block(b, lbs, r->lba + k, gen, a->run_key);
}

static void say(struct blk_job *j, uint64_t lba, const char *what, uint32_t want, bool exact,
		const struct vhdr *h)
{
	if (atomic_load_explicit(&j->mismatches, memory_order_relaxed) >= SAY_MAX)
		return;
	fprintf(stderr, "weir-blk: verify: job %u: lba %llu: %s (wanted generation %s%u; the "
		"block's header says lba %llu, generation %u)\n", j->q, (unsigned long long)lba,
		what, exact ? "" : ">= ", want, (unsigned long long)h->lba, h->gen);
}

/* One block against what it must hold; true when it does. */
static bool check_block(struct blk_job *j, const uint8_t *b, uint64_t lba)
{
	uint32_t lbs = j->app->info.lbs;
	uint64_t i = lba - j->first;
	uint32_t want = j->v.gen[i];
	bool exact = j->v.exact[i];
	struct vhdr h;

	memcpy(&h, b, sizeof(h));
	if (h.magic != VHDR_MAGIC) {
		if (!want && !exact)
			return true; /* never written */
		say(j, lba, "no weir-blk header: a lost write", want, exact, &h);
		return false;
	}
	if (h.lba != lba || h.lbs != lbs) {
		say(j, lba, "the header is another block's: a misdirected write", want, exact, &h);
		return false;
	}
	if (block_csum(b, lbs) != h.csum) {
		say(j, lba, "checksum mismatch: the data is damaged", want, exact, &h);
		return false;
	}
	if (exact ? h.gen != want : h.gen < want) {
		say(j, lba, h.gen < want ? "an older generation: a lost write"
					 : "a newer generation than was written", want, exact, &h);
		return false;
	}
	/* From here on, no I/O of this run can move it without our knowing. */
	j->v.gen[i] = h.gen;
	j->v.exact[i] = 1;
	return true;
}

uint32_t blk_verify_check(struct blk_job *j, const struct weir_blk_req *r)
{
	uint32_t lbs = j->app->info.lbs, k = 0, bad = 0;
	const uint8_t *b;

	FOR_EACH_BLOCK(r, lbs, b, k)
		bad += !check_block(j, b, r->lba + k);
	return bad;
}

void blk_verify_write_done(struct blk_job *j, const struct weir_blk_req *r)
{
	uint64_t i0 = r->lba - j->first;
	uint32_t gen = (uint32_t)(uintptr_t)r->udata;
	struct blk_vstate *v = &j->v;

	for (uint32_t x = 0; x < r->nblocks; x++) {
		/* A failed write may have landed in part: then at least the
		 * old generation, and the new one is valid too. */
		v->exact[i0 + x] = r->status == 0;
		if (r->status == 0)
			v->gen[i0 + x] = gen;
	}
	if (r->status)
		return;
	/* The entry keeps its generation: the block may be written again
	 * before a flush covers this write. */
	v->lgen[v->log_tail & v->log_mask] = gen;
	v->log[v->log_tail++ & v->log_mask] = (struct blk_wlog){r->seq, r->lba, r->nblocks};
}

bool blk_verify_log_full(const struct blk_job *j)
{
	return j->v.log_tail - j->v.log_head + j->app->iodepth + 1 > j->v.log_mask;
}

static int state_write(struct blk_job *j)
{
	struct blk_app *a = j->app;
	uint64_t lo = j->v.dirty_lo, hi = j->v.dirty_hi;
	size_t len = (size_t)(hi - lo) * sizeof(uint32_t);
	off_t off = STATE_HDR + (off_t)((j->first + lo) * sizeof(uint32_t));

	if (a->state_fd < 0 || hi <= lo)
		return 0;
	j->v.dirty_lo = UINT64_MAX;
	j->v.dirty_hi = 0;
	if (pwrite(a->state_fd, j->v.durable + lo, len, off) != (ssize_t)len ||
	    fdatasync(a->state_fd) < 0) {
		fprintf(stderr, "weir-blk: --verify-state: cannot write: %s\n", strerror(errno));
		return -EIO;
	}
	return 0;
}

int blk_verify_flush_done(struct blk_job *j, uint64_t seq)
{
	struct blk_vstate *v = &j->v;

	while (v->log_head != v->log_tail && v->log[v->log_head & v->log_mask].seq <= seq) {
		uint32_t idx = v->log_head++ & v->log_mask;
		const struct blk_wlog *e = &v->log[idx];
		uint64_t i0 = e->lba - j->first;

		for (uint32_t x = 0; x < e->nblocks; x++)
			if (v->durable[i0 + x] < v->lgen[idx])
				v->durable[i0 + x] = v->lgen[idx];
		v->dirty_lo = WEIR_MIN(v->dirty_lo, i0);
		v->dirty_hi = WEIR_MAX(v->dirty_hi, i0 + e->nblocks);
	}
	return state_write(j);
}

int blk_verify_init(struct blk_app *a, struct blk_job *j)
{
	struct blk_vstate *v = &j->v;
	uint32_t log = (uint32_t)weir_align_pow2(4 * ((uint32_t)a->fsync + a->iodepth) + 64);

	v->nblocks = j->nblocks;
	v->gen = calloc(j->nblocks, sizeof(*v->gen));
	v->exact = calloc(j->nblocks, 1);
	v->busy = calloc(j->nblocks, 1);
	v->log = calloc(log, sizeof(*v->log));
	v->lgen = calloc(log, sizeof(*v->lgen));
	if (!v->gen || !v->exact || !v->busy || !v->log || !v->lgen)
		return -ENOMEM;
	v->log_mask = log - 1;
	v->durable = a->durable + j->first;
	v->dirty_lo = UINT64_MAX;
	/* What the state file says was durable is what the blocks hold at
	 * least; this run's writes continue its generations. */
	memcpy(v->gen, v->durable, j->nblocks * sizeof(*v->gen));
	return 0;
}

void blk_verify_fini(struct blk_job *j)
{
	free(j->v.gen);
	free(j->v.exact);
	free(j->v.busy);
	free(j->v.log);
	free(j->v.lgen);
	memset(&j->v, 0, sizeof(j->v));
}

/* --- the state file --------------------------------------------------- */

static int state_load(struct blk_app *a, const uint8_t *hdr, ssize_t got)
{
	uint64_t nb;
	uint32_t lbs;
	size_t len = a->info.nblocks * sizeof(uint32_t);

	memcpy(&lbs, hdr + 8, 4);
	memcpy(&nb, hdr + 16, 8);
	if (got != STATE_HDR || memcmp(hdr, STATE_MAGIC, 8)) {
		fprintf(stderr, "weir-blk: --verify-state %s: not a weir-blk state file (remove it "
				"to start afresh)\n", a->state_path);
		return -EINVAL;
	}
	if (lbs != a->info.lbs || nb != a->info.nblocks) {
		fprintf(stderr, "weir-blk: --verify-state %s: written for %llu blocks of %u bytes, "
				"the device has %llu of %u (another device? remove it to start "
				"afresh)\n", a->state_path, (unsigned long long)nb, lbs,
			(unsigned long long)a->info.nblocks, a->info.lbs);
		return -EINVAL;
	}
	if (pread(a->state_fd, a->durable, len, STATE_HDR) != (ssize_t)len) {
		fprintf(stderr, "weir-blk: --verify-state %s: truncated\n", a->state_path);
		return -EINVAL;
	}
	for (uint64_t i = 0; i < a->info.nblocks; i++)
		a->state_loaded += a->durable[i] != 0;
	return 0;
}

int blk_state_open(struct blk_app *a)
{
	uint8_t hdr[STATE_HDR] = STATE_MAGIC;
	ssize_t got;

	a->durable = calloc(a->info.nblocks, sizeof(*a->durable));
	if (!a->durable)
		return -ENOMEM;
	if (!a->state_path)
		return 0;
	a->state_fd = open(a->state_path, (a->verify_only ? O_RDONLY : O_RDWR | O_CREAT) |
				O_CLOEXEC, 0600);
	if (a->state_fd < 0) {
		fprintf(stderr, "weir-blk: --verify-state %s: %s%s\n", a->state_path,
			strerror(errno), a->verify_only ? " (written by an earlier --verify run)" : "");
		return -errno;
	}
	got = pread(a->state_fd, hdr, STATE_HDR, 0);
	if (got > 0)
		return state_load(a, hdr, got);
	if (a->verify_only) {
		fprintf(stderr, "weir-blk: --verify-state %s: empty\n", a->state_path);
		return -EINVAL;
	}
	memcpy(hdr + 8, &a->info.lbs, 4);
	memcpy(hdr + 16, &a->info.nblocks, 8);
	if (pwrite(a->state_fd, hdr, STATE_HDR, 0) != STATE_HDR ||
	    ftruncate(a->state_fd, STATE_HDR + (off_t)(a->info.nblocks * sizeof(uint32_t))) < 0 ||
	    fdatasync(a->state_fd) < 0) {
		fprintf(stderr, "weir-blk: --verify-state %s: %s\n", a->state_path, strerror(errno));
		return -EIO;
	}
	return 0;
}

/* --- fio's patterns ----------------------------------------------------- */

void blk_pattern_fill(const struct blk_app *a, struct weir_blk_req *r)
{
	for (struct weir_pkt *s = r->pkt; s; s = s->next)
		for (uint32_t o = 0; o < s->data_len; o++)
			weir_pkt_data(s)[o] = a->pattern[o % a->pattern_len];
}

uint32_t blk_pattern_check(struct blk_job *j, const struct weir_blk_req *r)
{
	const struct blk_app *a = j->app;
	uint32_t lbs = a->info.lbs, k = 0, bad = 0;
	const uint8_t *b;

	FOR_EACH_BLOCK(r, lbs, b, k) {
		for (uint32_t o = 0; o < lbs; o++) {
			if (b[o] == a->pattern[o % a->pattern_len])
				continue;
			if (atomic_load_explicit(&j->mismatches, memory_order_relaxed) + bad < SAY_MAX)
				fprintf(stderr, "weir-blk: verify: job %u: lba %llu: byte %u is 0x%02x, "
						"the pattern has 0x%02x there\n", j->q,
					(unsigned long long)(r->lba + k), o, b[o],
					a->pattern[o % a->pattern_len]);
			bad++;
			break;
		}
	}
	return bad;
}
