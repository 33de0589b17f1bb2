// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for pmd/raid*.c over uring members on tmpfs files: arrays
 * created, written with requests of every shape (full stripes, RMW, RCW)
 * and read back; reassembly in another member order; a member that starts
 * returning I/O errors mid-run (a test-only stacked driver, faulty:, puts
 * them in), after which every block still reads right (reconstructed) and
 * writes go on; a rebuild onto a new member, after which another member is
 * failed so that every block must come from the rebuilt one; RAID1 reads
 * spread over both mirrors; a rebuild cut by a close resuming at its
 * checkpoint; a stale member, a foreign one, a blank one, a corrupt
 * superblock and create over an existing array refused with the reason;
 * two lcores writing the same RAID5 rows at once (parity kept consistent
 * by the row locks); a member dying with I/O of many slices in flight, at
 * many points. fini fails when a pool buffer leaked.
 */
#include <pthread.h>

#include "blk_helpers.h"
#include "weir/blk_driver.h"

TestSuite(raid, .init = blk_pool_init, .fini = blk_pool_fini, .timeout = 120);

/* --- faulty: a stacked test driver that fails I/O on command ---------------- */

struct fault {
	_Atomic int fail;       /* every I/O completes with -EIO */
	_Atomic uint64_t reads; /* reads passed down */
	_Atomic int fail_after; /* > 0: fail from the fail_after-th request on */
};

static struct fault faults[8];

struct faulty_priv {
	struct weir_blk *inner;
	int id;
};

static int faulty_open(struct weir_blk *dev, const struct weir_blk_conf *conf)
{
	struct faulty_priv *fp = dev->priv;
	char *spec[1], why[WEIR_BLK_ERRSIZE];
	uint64_t id;
	int n, err;

	if ((err = weir_blk_arg_u64(dev, "id", 0, 0, 7, &id)))
		return err;
	fp->id = (int)id;
	n = weir_blk_members(dev, spec, 1);
	if (n < 0)
		return n;
	err = weir_blk_open(spec[0], conf, &fp->inner, why, sizeof(why));
	weir_blk_members_free(spec, n);
	if (err)
		return weir_blk_fail(dev, err, "%s", why);
	weir_blk_info_get(fp->inner, &dev->info);
	dev->info.features |= WEIR_BLK_F_STACKED;
	return weir_blk_alloc_qps(dev, dev->info.nb_qp, dev->info.qd);
}

static uint16_t faulty_submit(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n)
{
	struct faulty_priv *fp = qp->dev->priv;
	struct fault *f = &faults[fp->id];

	for (uint16_t i = 0; i < n && atomic_load(&f->fail_after) > 0; i++)
		if (atomic_fetch_sub(&f->fail_after, 1) == 1)
			atomic_store(&f->fail, 1); /* with earlier requests still in flight */
	if (atomic_load(&f->fail)) {
		for (uint16_t i = 0; i < n; i++)
			weir_blk_qp_complete(qp, reqs[i], -EIO);
		return n;
	}
	for (uint16_t i = 0; i < n; i++)
		atomic_fetch_add(&faults[fp->id].reads, reqs[i]->op == WEIR_BLK_READ);
	return weir_blk_submit_burst(fp->inner, qp->id, reqs, n);
}

static uint16_t faulty_poll(struct weir_blk_qp *qp, uint16_t budget)
{
	struct faulty_priv *fp = qp->dev->priv;
	struct weir_blk_req *done[64];
	uint16_t k = weir_blk_poll_burst(fp->inner, qp->id, done, budget > 64 ? 64 : budget);

	for (uint16_t i = 0; i < k; i++)
		weir_blk_qp_complete(qp, done[i],
				     atomic_load(&faults[fp->id].fail) ? -EIO : done[i]->status);
	return k;
}

static void faulty_close(struct weir_blk *dev)
{
	weir_blk_close(((struct faulty_priv *)dev->priv)->inner);
}

static const struct weir_blk_param faulty_params[] = {
	{"id", "fault slot 0..7", NULL},
	{NULL, NULL, NULL},
};

static const struct weir_blk_ops faulty_ops = {
	.open = faulty_open, .submit = faulty_submit, .poll = faulty_poll, .close = faulty_close,
};

static struct weir_blk_driver faulty_driver = {
	.name = "faulty", .help = "faulty:SPEC?id=N (tests)", .ops = &faulty_ops,
	.params = faulty_params, .priv_size = sizeof(struct faulty_priv), .stacked = true,
};

WEIR_BLK_DRIVER_REGISTER(faulty_driver)

/* --- helpers ----------------------------------------------------------------- */

#define MEMBER_BYTES (6u << 20)
#define ZEROED UINT32_MAX /* gen of a block written with zeroes (create, write-zeroes) */

struct arr {
	char files[6][64];
	int n;
	uint32_t *gen; /* per block: the generation last written */
	uint64_t nblocks;
};

static void make_files(struct arr *a, int n)
{
	memset(a, 0, sizeof(*a));
	a->n = n;
	for (int i = 0; i < n; i++)
		scratch_file("/dev/shm", MEMBER_BYTES, a->files[i], sizeof(a->files[i]));
}

static void drop_files(struct arr *a)
{
	for (int i = 0; i < 6; i++)
		if (a->files[i][0])
			unlink(a->files[i]);
	free(a->gen);
}

/* "raidL:[faulty:uring:F0?id=0],...?keys", members in the order given. */
static void spec_of(const struct arr *a, int level, const int *order, int n, const char *keys,
		    char *buf, size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "raid%d:", level);

	for (int i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s[faulty:uring:%s?id=%d]",
					i ? "," : "", a->files[order[i]], order[i]);
	snprintf(buf + off, len - off, "?direct=0%s%s", keys[0] ? "&" : "", keys);
}

static struct weir_blk *arr_open(struct arr *a, int level, const int *order, int n,
				 const char *keys, uint16_t nb_qp)
{
	char spec[600];
	struct weir_blk *dev;
	struct weir_blk_info in;

	spec_of(a, level, order, n, keys, spec, sizeof(spec));
	dev = blk_open_ok(spec, nb_qp);
	weir_blk_info_get(dev, &in);
	if (!a->gen) {
		a->nblocks = in.nblocks;
		a->gen = calloc(in.nblocks, sizeof(*a->gen));
	}
	cr_assert_eq(in.nblocks, a->nblocks);
	return dev;
}

static int open_err(struct arr *a, int level, const int *order, int n, const char *keys,
		    char *why, size_t len)
{
	char spec[600];
	struct weir_blk *dev = NULL;
	int err;

	spec_of(a, level, order, n, keys, spec, sizeof(spec));
	err = weir_blk_open(spec, &(struct weir_blk_conf){.pool = pool}, &dev, why, len);
	if (!err)
		weir_blk_close(dev);
	return err;
}

static const int in_order[] = {0, 1, 2, 3, 4, 5};

/* Writes [lba, lba + nb) in requests of the sizes given (cycled), 16 in
 * flight, with generation gen. */
static void arr_write(struct arr *a, struct weir_blk *dev, uint16_t qp, uint64_t lba, uint64_t nb,
		      uint32_t gen, const uint32_t *sizes, int nsizes)
{
	struct weir_blk_req reqs[16], *rp[16];
	int si = 0;

	while (nb) {
		int n = 0;

		for (; n < 16 && nb; n++) {
			uint32_t want = sizes[si++ % nsizes]; /* WEIR_MIN evaluates twice */
			uint32_t k = (uint32_t)WEIR_MIN(want, nb);

			reqs[n] = (struct weir_blk_req){.op = WEIR_BLK_WRITE, .lba = lba, .nblocks = k};
			cr_assert_eq(weir_blk_buf_alloc(pool, k * 512, &reqs[n].pkt), 0);
			pkt_pattern(reqs[n].pkt, lba * 512, gen);
			rp[n] = &reqs[n];
			for (uint32_t b = 0; b < k; b++)
				a->gen[lba + b] = gen;
			lba += k;
			nb -= k;
		}
		blk_run(dev, qp, rp, (uint16_t)n);
		for (int i = 0; i < n; i++) {
			cr_assert_eq(reqs[i].status, 0, "write lba %llu+%u: %s",
				     (unsigned long long)reqs[i].lba, reqs[i].nblocks,
				     weir_blk_qp_error(dev, qp));
			weir_pkt_free(reqs[i].pkt);
		}
	}
}

/* Reads the whole array back, 64 blocks a request, 16 in flight, and
 * checks every block against the generation last written there. */
static void arr_verify(struct arr *a, struct weir_blk *dev)
{
	struct weir_blk_req reqs[16], *rp[16];

	for (uint64_t lba = 0; lba < a->nblocks;) {
		int n = 0;

		for (; n < 16 && lba < a->nblocks; n++) {
			uint32_t k = (uint32_t)WEIR_MIN(64, a->nblocks - lba);

			reqs[n] = (struct weir_blk_req){.op = WEIR_BLK_READ, .lba = lba, .nblocks = k};
			cr_assert_eq(weir_blk_buf_alloc(pool, k * 512, &reqs[n].pkt), 0);
			rp[n] = &reqs[n];
			lba += k;
		}
		blk_run(dev, 0, rp, (uint16_t)n);
		for (int i = 0; i < n; i++) {
			uint8_t buf[512];

			cr_assert_eq(reqs[i].status, 0, "read lba %llu: %s",
				     (unsigned long long)reqs[i].lba, weir_blk_qp_error(dev, 0));
			for (uint32_t b = 0; b < reqs[i].nblocks; b++) {
				uint64_t l = reqs[i].lba + b;

				weir_pkt_copy_out(reqs[i].pkt, b * 512, 512, buf);
				if (a->gen[l] == ZEROED) {
					for (int k = 0; k < 512; k++)
						cr_assert_eq(buf[k], 0, "block %llu is not zero",
							     (unsigned long long)l);
					continue;
				}
				cr_assert_eq(pattern_find_bad(buf, 512, l * 512, a->gen[l]), -1,
					     "block %llu is not generation %u", (unsigned long long)l,
					     a->gen[l]);
			}
			weir_pkt_free(reqs[i].pkt);
		}
	}
}

static struct weir_blk_raid_status status(struct weir_blk *dev)
{
	struct weir_blk_raid_status st;

	cr_assert_eq(weir_blk_raid_status(dev, &st), 0);
	return st;
}

/* Polls queue pair 0 (where the rebuild runs) until it is done. */
static void rebuild_wait(struct weir_blk *dev)
{
	struct weir_blk_req *done[8];

	for (unsigned i = 0; status(dev).rebuild_slot >= 0; i++) {
		weir_blk_poll_burst(dev, 0, done, 8);
		cr_assert(i < 20000000, "rebuild never finished");
	}
}

static const uint32_t shapes[] = {1, 7, 128, 255, 16, 384, 3, 256, 129};

static void reset_faults(void)
{
	for (int i = 0; i < 8; i++)
		atomic_store(&faults[i].fail, 0), atomic_store(&faults[i].reads, 0),
			atomic_store(&faults[i].fail_after, 0);
}

/* --- tests ------------------------------------------------------------------ */

Test(raid, raid5_reads_back_every_write_shape_and_reassembles_in_any_order)
{
	static const int order[] = {2, 0, 1};
	struct weir_blk_raid_status st;
	struct weir_blk *dev;
	struct arr a;
	uint64_t gen0;

	reset_faults();
	make_files(&a, 3);
	dev = arr_open(&a, 5, in_order, 3, "create=1", 1);
	for (uint64_t l = 0; l < a.nblocks; l++)
		a.gen[l] = ZEROED;
	arr_verify(&a, dev); /* create zeroes the members */
	arr_write(&a, dev, 0, 0, a.nblocks, 1, shapes, WEIR_ARRAY_SIZE(shapes));
	arr_write(&a, dev, 0, 512, 256 * 8, 2, (uint32_t[]){256}, 1); /* whole rows */
	cr_assert_gt(xstat(dev, "full_stripe_writes"), 0);
	cr_assert_gt(xstat(dev, "rmw_writes") + xstat(dev, "rcw_writes"), 0);
	cr_assert_eq(blk_op(dev, 0, WEIR_BLK_WRITE_ZEROES, 1000, 300), 0, "%s",
		     weir_blk_qp_error(dev, 0));
	for (uint64_t l = 1000; l < 1300; l++)
		a.gen[l] = ZEROED;
	cr_assert_eq(blk_op(dev, 0, WEIR_BLK_DISCARD, 5000, 64), 0, "advisory on raid5");
	cr_assert_eq(blk_op(dev, 0, WEIR_BLK_FLUSH, 0, 0), 0);
	arr_verify(&a, dev);
	gen0 = status(dev).generation;
	weir_blk_close(dev);

	dev = arr_open(&a, 5, order, 3, "", 1);
	st = status(dev);
	cr_assert(!st.degraded);
	cr_assert_gt(st.generation, gen0);
	cr_assert_str_eq(weir_blk_note(dev), "", "closed cleanly: no note");
	arr_verify(&a, dev);
	weir_blk_close(dev);
	drop_files(&a);
}

Test(raid, raid5_member_failing_mid_run_then_a_rebuild_loses_nothing)
{
	struct weir_blk_raid_status st;
	char spare[160], why[WEIR_BLK_ERRSIZE];
	struct weir_blk *dev;
	struct arr a;

	reset_faults();
	make_files(&a, 4);
	dev = arr_open(&a, 5, in_order, 3, "create=1", 1);
	arr_write(&a, dev, 0, 0, a.nblocks / 2, 1, shapes, WEIR_ARRAY_SIZE(shapes));
	atomic_store(&faults[1].fail, 1); /* member 1 starts failing every I/O */
	arr_write(&a, dev, 0, a.nblocks / 2, a.nblocks / 2, 2, shapes, WEIR_ARRAY_SIZE(shapes));
	arr_write(&a, dev, 0, 100, 3000, 3, shapes, WEIR_ARRAY_SIZE(shapes));
	st = status(&*dev);
	cr_assert(st.degraded && !st.failed);
	cr_assert_eq(st.m[1].state, WEIR_BLK_MEMBER_FAILED);
	cr_assert(strstr(st.m[1].why, "Input/output error"), "%s", st.m[1].why);
	cr_assert_gt(st.m[1].errors, 0);
	arr_verify(&a, dev);
	cr_assert_gt(xstat(dev, "reconstructed_reads"), 0, "reads of member 1 came from parity");
	cr_assert_gt(xstat(dev, "rcw_writes") + xstat(dev, "degraded_writes"), 0);

	snprintf(spare, sizeof(spare), "uring:%s?direct=0", a.files[3]);
	cr_assert_eq(weir_blk_raid_replace(dev, 0, spare, why, sizeof(why)), -EBUSY);
	cr_assert(strstr(why, "member 0 is active: fail it first"), "%s", why);
	cr_assert_eq(weir_blk_raid_set_rate(dev, 8 << 20), 0);
	cr_assert_eq(weir_blk_raid_replace(dev, 1, spare, why, sizeof(why)), 0, "%s", why);
	st = status(dev);
	cr_assert_eq(st.rebuild_slot, 1);
	cr_assert_eq(st.m[1].state, WEIR_BLK_MEMBER_REBUILDING);
	/* Online: writes while it rebuilds, on rows before and after it. */
	arr_write(&a, dev, 0, 0, 4000, 4, shapes, WEIR_ARRAY_SIZE(shapes));
	arr_write(&a, dev, 0, a.nblocks - 4000, 4000, 5, shapes, WEIR_ARRAY_SIZE(shapes));
	cr_assert_eq(weir_blk_raid_set_rate(dev, 0), 0);
	rebuild_wait(dev);
	st = status(dev);
	cr_assert(!st.degraded, "rebuilt: every member active");
	/* Every block of member 0 must now come from parity and member 1. */
	cr_assert_eq(weir_blk_raid_fail(dev, 0, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(weir_blk_raid_fail(dev, 2, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "would lose data"), "%s", why);
	arr_verify(&a, dev);
	weir_blk_close(dev);
	drop_files(&a);
}

Test(raid, raid1_reads_both_mirrors_survives_one_and_rebuilds)
{
	struct weir_blk_raid_status st;
	char spare[160], why[WEIR_BLK_ERRSIZE];
	struct weir_blk *dev;
	struct arr a;
	uint64_t r0, r1;

	reset_faults();
	make_files(&a, 3);
	dev = arr_open(&a, 1, in_order, 2, "create=1", 1);
	arr_write(&a, dev, 0, 0, a.nblocks, 1, shapes, WEIR_ARRAY_SIZE(shapes));
	reset_faults();
	arr_verify(&a, dev);
	r0 = atomic_load(&faults[0].reads);
	r1 = atomic_load(&faults[1].reads);
	cr_assert(r0 > (r0 + r1) / 4 && r1 > (r0 + r1) / 4, "reads %llu and %llu",
		  (unsigned long long)r0, (unsigned long long)r1);
	atomic_store(&faults[0].fail, 1);
	arr_write(&a, dev, 0, 2000, 5000, 2, shapes, WEIR_ARRAY_SIZE(shapes));
	arr_verify(&a, dev);
	st = status(dev);
	cr_assert_eq(st.m[0].state, WEIR_BLK_MEMBER_FAILED);
	cr_assert_eq(weir_blk_raid_fail(dev, 1, why, sizeof(why)), -EINVAL, "the last mirror");
	snprintf(spare, sizeof(spare), "uring:%s?direct=0", a.files[2]);
	cr_assert_eq(weir_blk_raid_replace(dev, 0, spare, why, sizeof(why)), 0, "%s", why);
	rebuild_wait(dev);
	cr_assert_eq(weir_blk_raid_fail(dev, 1, why, sizeof(why)), 0, "%s", why);
	arr_verify(&a, dev); /* from the rebuilt mirror alone */
	weir_blk_close(dev);
	drop_files(&a);
}

Test(raid, a_rebuild_cut_by_a_close_resumes_at_its_checkpoint)
{
	static const int with_spare[] = {0, 1, 3};
	struct weir_blk_raid_status st;
	char spare[160], why[WEIR_BLK_ERRSIZE];
	struct weir_blk_req *done[8];
	struct weir_blk *dev;
	uint64_t done_at_close;
	struct arr a;

	reset_faults();
	make_files(&a, 4);
	dev = arr_open(&a, 5, in_order, 3, "create=1", 1);
	arr_write(&a, dev, 0, 0, a.nblocks, 1, shapes, WEIR_ARRAY_SIZE(shapes));
	cr_assert_eq(weir_blk_raid_fail(dev, 2, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(weir_blk_raid_set_rate(dev, 4 << 20), 0);
	snprintf(spare, sizeof(spare), "uring:%s?direct=0", a.files[3]);
	cr_assert_eq(weir_blk_raid_replace(dev, 2, spare, why, sizeof(why)), 0, "%s", why);
	for (weir_ns_t end = weir_clock_now() + 300 * WEIR_NS_PER_MS; weir_clock_now() < end;)
		weir_blk_poll_burst(dev, 0, done, 8);
	st = status(dev);
	done_at_close = st.rebuild_done;
	cr_assert(done_at_close > 0 && done_at_close < st.rebuild_total, "%llu of %llu",
		  (unsigned long long)done_at_close, (unsigned long long)st.rebuild_total);
	weir_blk_close(dev);

	dev = arr_open(&a, 5, with_spare, 3, "", 1);
	st = status(dev);
	cr_assert_eq(st.rebuild_slot, 2, "the rebuild resumes");
	cr_assert_eq(st.rebuild_done, done_at_close, "at the checkpoint the close wrote");
	rebuild_wait(dev);
	cr_assert_eq(weir_blk_raid_fail(dev, 0, why, sizeof(why)), 0, "%s", why);
	arr_verify(&a, dev);
	weir_blk_close(dev);
	drop_files(&a);
}

static void corrupt(const char *file, long off)
{
	FILE *f = fopen(file, "r+b");

	cr_assert_not_null(f);
	fseek(f, off, SEEK_SET);
	fputc(0x5a, f);
	fclose(f);
}

Test(raid, restart_refuses_foreign_blank_corrupt_and_stale_members)
{
	static const int foreign[] = {0, 4, 2}, blank[] = {0, 1, 5}, two[] = {0, 1};
	char why[WEIR_BLK_ERRSIZE];
	struct weir_blk_raid_status st;
	struct weir_blk *dev;
	struct arr a, b;

	reset_faults();
	make_files(&a, 6); /* 0-2: array A, 3-4 + 0..: array B below, 5 blank */
	dev = arr_open(&a, 5, in_order, 3, "create=1", 1);
	arr_write(&a, dev, 0, 0, a.nblocks, 1, shapes, WEIR_ARRAY_SIZE(shapes));
	weir_blk_close(dev);
	memset(&b, 0, sizeof(b));
	b.n = 3;
	memcpy(b.files[0], a.files[3], 64);
	memcpy(b.files[1], a.files[4], 64);
	scratch_file("/dev/shm", MEMBER_BYTES, b.files[2], sizeof(b.files[2]));
	weir_blk_close(arr_open(&b, 5, in_order, 3, "create=1", 1));

	cr_assert_eq(open_err(&a, 5, foreign, 3, "", why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "member 1 (") && strstr(why, "belongs to another array"), "%s", why);
	cr_assert_eq(open_err(&a, 5, blank, 3, "", why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "member 2 (") && strstr(why, "has no weir RAID superblock"), "%s",
		  why);
	cr_assert_eq(open_err(&a, 1, in_order, 3, "", why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "the members hold a raid5 array, not raid1"), "%s", why);
	cr_assert_eq(open_err(&a, 5, in_order, 3, "create=1", why, sizeof(why)), -EEXIST);
	cr_assert(strstr(why, "already belongs to a raid5 array") && strstr(why, "force=1"), "%s",
		  why);
	cr_assert_eq(open_err(&a, 5, in_order, 1, "", why, sizeof(why)), -ENODEV);
	cr_assert(strstr(why, "raid5 survives one member out, 2 are"), "%s", why);

	corrupt(a.files[2], 4096 + 70);
	cr_assert_eq(open_err(&a, 5, in_order, 3, "", why, sizeof(why)), -EBADMSG);
	cr_assert(strstr(why, "member 2 (") && strstr(why, "corrupt superblock (checksum"), "%s",
		  why);
	/* Without it, A runs degraded with its data intact. */
	dev = arr_open(&a, 5, two, 2, "", 1);
	cr_assert(status(dev).degraded);
	arr_verify(&a, dev);
	weir_blk_close(dev);

	/* B: member 0 fails while the array runs; at the next open it is stale. */
	dev = arr_open(&b, 5, in_order, 3, "", 1);
	cr_assert_eq(weir_blk_raid_fail(dev, 0, why, sizeof(why)), 0, "%s", why);
	weir_blk_close(dev);
	dev = arr_open(&b, 5, in_order, 3, "", 1);
	st = status(dev);
	cr_assert_eq(st.m[0].state, WEIR_BLK_MEMBER_FAILED, "as the others' superblocks say");
	cr_assert(strstr(st.m[0].why, "is stale (generation"), "%s", st.m[0].why);
	cr_assert_str_eq(st.m[0].spec, "", "the stale device is not used");
	cr_assert(strstr(weir_blk_note(dev), "stale"), "%s", weir_blk_note(dev));
	weir_blk_close(dev);
	/* create over it needs force. */
	dev = arr_open(&b, 5, in_order, 3, "create=1&force=1", 1);
	cr_assert(!status(dev).degraded);
	weir_blk_close(dev);
	unlink(b.files[2]);
	free(b.gen);
	drop_files(&a);
}

Test(raid, raid0_stripes_and_a_lost_member_fails_its_requests)
{
	char why[WEIR_BLK_ERRSIZE];
	struct weir_blk *dev;
	struct arr a;

	reset_faults();
	make_files(&a, 3);
	dev = arr_open(&a, 0, in_order, 2, "create=1&chunk=16k", 1);
	arr_write(&a, dev, 0, 0, a.nblocks, 1, shapes, WEIR_ARRAY_SIZE(shapes));
	arr_verify(&a, dev);
	cr_assert_eq(weir_blk_raid_fail(dev, 1, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "raid0 has no redundancy"), "%s", why);
	atomic_store(&faults[1].fail, 1);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 256, 1), -EIO);
	cr_assert(status(dev).failed);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 16, 1), 0, "chunk 0 is on member 0");
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 32, 16, 1), -EIO, "chunk 1 was on member 1");
	cr_assert(strstr(weir_blk_qp_error(dev, 0), "no copy is left"), "%s",
		  weir_blk_qp_error(dev, 0));
	cr_assert_eq(weir_blk_raid_replace(dev, 1, "uring:/x", why, sizeof(why)), -EINVAL);
	weir_blk_close(dev);
	drop_files(&a);
}

struct rows_arg {
	struct arr *a;
	struct weir_blk *dev;
	uint16_t qp;
};

/* Chunk qp of every row, in pieces: the other lcore writes the other
 * chunk of the same rows, so both update each row's parity at once. */
static void *write_rows(void *p)
{
	struct rows_arg *r = p;
	static const uint32_t pieces[] = {32, 96, 7, 121};

	weir_lcore_set_id(r->qp + 1u);
	for (uint64_t row = 0; row * 256 < r->a->nblocks; row++)
		arr_write(r->a, r->dev, r->qp, row * 256 + r->qp * 128, 128, 10 + r->qp, pieces, 4);
	weir_pool_cache_flush(pool, r->qp + 1u);
	return NULL;
}

Test(raid, two_lcores_on_the_same_rows_keep_parity_consistent)
{
	struct rows_arg ra[2];
	pthread_t t[2];
	char why[WEIR_BLK_ERRSIZE];
	struct weir_blk *dev;
	struct arr a;

	reset_faults();
	make_files(&a, 3);
	dev = arr_open(&a, 5, in_order, 3, "create=1", 2);
	for (uint16_t i = 0; i < 2; i++) {
		ra[i] = (struct rows_arg){.a = &a, .dev = dev, .qp = i};
		cr_assert_eq(pthread_create(&t[i], NULL, write_rows, &ra[i]), 0);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(weir_blk_raid_fail(dev, 0, why, sizeof(why)), 0, "%s", why);
	arr_verify(&a, dev);
	weir_blk_close(dev);
	drop_files(&a);
}

Test(raid, spec_errors_name_the_fix)
{
	char spec[400], why[WEIR_BLK_ERRSIZE];
	struct weir_blk *dev;
	struct arr a;

	make_files(&a, 3);
	snprintf(spec, sizeof(spec), "raid5:uring:%s,uring:%s?create=1", a.files[0], a.files[1]);
	cr_assert_eq(weir_blk_open(spec, NULL, &dev, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "raid5 needs at least 3 members, 2 given"), "%s", why);
	snprintf(spec, sizeof(spec), "raid1:uring:%s,uring:%s?chnk=4k", a.files[0], a.files[1]);
	cr_assert_eq(weir_blk_open(spec, NULL, &dev, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "unknown key 'chnk'") && strstr(why, "raid1 itself takes chunk"),
		  "%s", why);
	snprintf(spec, sizeof(spec), "raid1:uring:%s,uring:%s?create=1&chunk=12k", a.files[0],
		 a.files[1]);
	cr_assert_eq(weir_blk_open(spec, NULL, &dev, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "chunk=12288 is not a power of two"), "%s", why);
	snprintf(spec, sizeof(spec), "raid1:uring:%s?direct=0,uring:%s", a.files[0], a.files[1]);
	cr_assert_eq(weir_blk_open(spec, NULL, &dev, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "goes in brackets"), "%s", why);
	snprintf(spec, sizeof(spec), "raid1:uring:%s,uring:%s?force=1", a.files[0], a.files[1]);
	cr_assert_eq(weir_blk_open(spec, NULL, &dev, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "force=1 only goes with create=1"), "%s", why);
	snprintf(spec, sizeof(spec), "raid1:uring:%s,uring:%s", a.files[0], a.files[1]);
	cr_assert_eq(weir_blk_open(spec, NULL, &dev, why, sizeof(why)), -ENODATA);
	cr_assert(strstr(why, "to make a new array add create=1"), "%s", why);
	snprintf(spec, sizeof(spec), "raid1:uring:%s,uring:%s?create=1", a.files[0], a.files[0]);
	cr_assert_eq(weir_blk_open(spec, NULL, &dev, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "members 0 and 1 are the same device"), "%s", why);
	drop_files(&a);
}

/* The member dies with member I/O of many slices in flight (reads of RMW,
 * data and parity writes): every slice is planned again and nothing is
 * lost, at every point of failure tried. */
Test(raid, a_member_dying_with_io_in_flight_loses_nothing)
{
	static const int levels[] = {5, 1};
	struct weir_blk *dev;
	struct arr a;

	for (int li = 0; li < 2; li++) {
		for (int after = 1; after < (li ? 90 : 250); after += li ? 11 : 31) {
			reset_faults();
			make_files(&a, 3);
			dev = arr_open(&a, levels[li], in_order, levels[li] == 5 ? 3 : 2, "create=1", 1);
			arr_write(&a, dev, 0, 0, a.nblocks / 4, 1, shapes, WEIR_ARRAY_SIZE(shapes));
			atomic_store(&faults[1].fail_after, after);
			arr_write(&a, dev, 0, 0, a.nblocks, 2, shapes, WEIR_ARRAY_SIZE(shapes));
			cr_assert(atomic_load(&faults[1].fail), "member 1 got fewer than %d requests",
				  after);
			cr_assert_eq(status(dev).m[1].state, WEIR_BLK_MEMBER_FAILED, "after %d", after);
			arr_verify(&a, dev);
			weir_blk_close(dev);
			drop_files(&a);
		}
	}
}

/* Plain uring members (no faulty wrapper): the array waits as they do. */
static struct weir_blk *plain_open(struct arr *a, const char *keys)
{
	char spec[600];
	struct weir_blk *dev;
	struct weir_blk_info in;

	snprintf(spec, sizeof(spec), "raid5:uring:%s,uring:%s,uring:%s?direct=0&create=1%s",
		 a->files[0], a->files[1], a->files[2], keys);
	dev = blk_open_ok(spec, 1);
	weir_blk_info_get(dev, &in);
	a->nblocks = in.nblocks;
	free(a->gen);
	a->gen = calloc(in.nblocks, sizeof(*a->gen));
	return dev;
}

Test(raid, an_array_waits_for_completions_when_its_members_can)
{
	struct weir_blk_req *got;
	struct weir_blk_info in;
	struct weir_blk *dev;
	struct arr a;

	reset_faults();
	make_files(&a, 3);
	/* inline=0: tmpfs members would otherwise complete in submit (inline=auto). */
	dev = plain_open(&a, "&inline=0");
	weir_blk_info_get(dev, &in);
	cr_assert(in.features & WEIR_BLK_F_WAIT, "uring members wait: so does the array");
	cr_assert_eq(weir_blk_poll_wait(dev, 0, &got, 1, WEIR_NS_PER_SEC), 0, "nothing in flight");
	/* blk_run waits (poll_wait) on a device that can: every shape, back. */
	arr_write(&a, dev, 0, 0, a.nblocks, 3, shapes, WEIR_ARRAY_SIZE(shapes));
	arr_verify(&a, dev);
	weir_blk_close(dev);
	/* A member that polls (wait=0) makes the array poll too. */
	dev = plain_open(&a, "&sqpoll=1&wait=0&force=1");
	weir_blk_info_get(dev, &in);
	cr_assert_eq(in.features & WEIR_BLK_F_WAIT, 0);
	arr_write(&a, dev, 0, 0, 2048, 4, shapes, WEIR_ARRAY_SIZE(shapes));
	weir_blk_close(dev);
	drop_files(&a);
}
