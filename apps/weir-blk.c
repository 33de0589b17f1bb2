// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-blk: fio-like load on any block spec (uring:, raid0/1/5:), with
 * data verification that survives reordering and crashes, and the RAID
 * control subcommands (weir-blk raid ..., apps/blk/raid.c).
 *
 * One job per lcore (--jobs), each on its own queue pair and its own
 * region of the device (--size each, or an equal share), --iodepth
 * requests in flight; the engine is apps/blk/lcore.c, the block headers
 * and the durability record apps/blk/verify.c, the reports
 * apps/blk/report.c; this file holds the options, setup and teardown, and
 * hands the rest to the app harness.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "weir/log.h"
#include "weir/pool.h"

#include "blk/blk.h"
#include "common/app.h"
#include "common/fastpath.h"
#include "common/opts.h"

static const struct app_opt blk_opts[] = {
	{"dev", 'd', "SPEC", "the block device, e.g. uring:/dev/loop0, uring:/tmp/f?direct=0,\n"
			     "raid5:uring:/a,uring:/b,uring:/c (keys: see README, or a wrong one)"},
	{"rw", 0, "MODE", "randread (default), randwrite, read, write, randrw, rw"},
	{"rwmixread", 0, "PCT", "randrw/rw: percent of reads (default 50)"},
	{"bs", 0, "BYTES", "bytes per I/O, a multiple of the logical block (default 4k)"},
	{"iodepth", 0, "N", "I/Os in flight per job (default 1)"},
	{"jobs", 0, "N", "jobs, one lcore and queue pair each, each its own region (default 1)"},
	APP_OPT_CORES,
	{"runtime", 't', "TIME", "run for TIME over the region (default: one pass of --size)"},
	{"size", 0, "BYTES", "each job's region and, without --runtime, how much it does\n"
			     "(default: the device split between the jobs)"},
	{"rate", 0, "IOPS", "per job: I/O k is due at k/IOPS, latency counted from then\n"
			    "(no coordinated omission; default: as fast as it completes)"},
	{"fsync", 0, "N", "a flush after every N writes (default 0; 128 with --verify)"},
	{"verify", 0, NULL, "headers in every written block (LBA, generation, checksum),\n"
			    "checked by every read"},
	{"verify-only", 0, NULL, "read the region once and check every block written earlier"},
	{"verify-state", 0, "FILE", "record which writes were durable (--verify), and check\n"
				    "them all (--verify-only), also after a crash"},
	{"pattern", 0, "HEX", "write this byte pattern, check it on reads (fio's\n"
			      "--buffer_pattern/--verify_pattern), e.g. 0xdeadbeef"},
	{"seed", 0, "N", "seed for random offsets and the mix (default 1)"},
	{"pool", 0, "N", "data buffers of 4 KiB (default: what the jobs need)"},
	{"stats-socket", 's', "PATH", "serve JSON telemetry on a unix socket"},
	APP_OPTS_OUTPUT,
};

static const char *const rw_modes[] = {"randread", "randwrite", "read", "write", "randrw",
				       "rw", NULL};

static int set_pattern(struct blk_app *a, const char *val, char *why, size_t len)
{
	const char *h = !strncmp(val, "0x", 2) ? val + 2 : val;
	size_t n = strlen(h);

	if (!n || n % 2 || n / 2 > BLK_PATTERN_MAX || !weir_is_pow2((uint32_t)(n / 2)) ||
	    strspn(h, "0123456789abcdefABCDEF") != n) {
		snprintf(why, len, "'%s': 1, 2, 4, 8 or 16 bytes in hex, e.g. 0xdeadbeef", val);
		return -EINVAL;
	}
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;

		sscanf(h + 2 * i, "%2x", &v);
		a->pattern[i] = (uint8_t)v;
	}
	a->pattern_len = (uint8_t)(n / 2);
	return 0;
}

static int set_num(const char *name, const char *val, struct blk_app *a, char *why, size_t len)
{
	uint64_t v;
	int r;

	if (!strcmp(name, "rwmixread")) {
		if (!(r = app_parse_u64(val, 0, 100, &v, why, len)))
			a->rwmixread = (unsigned)v;
	} else if (!strcmp(name, "bs")) {
		if (!(r = app_parse_bytes(val, 512, 256 << 10, &v, why, len)))
			a->bs = (uint32_t)v;
	} else if (!strcmp(name, "iodepth")) {
		if (!(r = app_parse_u64(val, 1, BLK_MAX_QD, &v, why, len)))
			a->iodepth = (uint16_t)v;
	} else if (!strcmp(name, "size")) {
		r = app_parse_bytes(val, 512, UINT64_MAX, &a->size, why, len);
	} else if (!strcmp(name, "fsync")) {
		r = app_parse_u64(val, 0, 1u << 20, &a->fsync, why, len);
	} else if (!strcmp(name, "rate")) {
		if (!(r = app_parse_u64(val, 1, 100000000, &v, why, len)))
			a->rate = (double)v;
	} else {
		return 1;
	}
	return r;
}

static int blk_set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct blk_app *a = ctx;
	int r = set_num(name, val, a, why, len);

	if (r <= 0)
		return r;
	if (!strcmp(name, "dev"))
		return app_set_str(&a->spec, val, why, len);
	if (!strcmp(name, "jobs"))
		return app_base_set(&a->base, "queues", val, why, len);
	if (!strcmp(name, "runtime"))
		return app_base_set(&a->base, "duration", val, why, len);
	if (!strcmp(name, "verify-state"))
		return app_set_str(&a->state_path, val, why, len);
	if (!strcmp(name, "pattern"))
		return set_pattern(a, val, why, len);
	if (!strcmp(name, "verify") || !strcmp(name, "verify-only")) {
		a->verify = true;
		a->verify_only |= !strcmp(name, "verify-only");
		return 0;
	}
	if (!strcmp(name, "rw")) {
		for (int i = 0; rw_modes[i]; i++)
			if (!strcmp(val, rw_modes[i])) {
				a->rw = i;
				return 0;
			}
		snprintf(why, len, "unknown mode '%s' (randread, randwrite, read, write, randrw, rw)",
			 val);
		return -EINVAL;
	}
	snprintf(why, len, "unknown option");
	return -EINVAL;
}

static int blk_check(void *ctx)
{
	struct blk_app *a = ctx;

	if (!a->spec) {
		fprintf(stderr, "weir-blk: give a device: --dev SPEC (e.g. --dev uring:/tmp/f; "
				"try --help)\n");
		return -EINVAL;
	}
	if (a->verify && a->pattern_len) {
		fprintf(stderr, "weir-blk: --pattern and --verify are two formats: pick one\n");
		return -EINVAL;
	}
	if (a->verify_only && a->base.duration) {
		fprintf(stderr, "weir-blk: --verify-only reads the region once: drop --runtime\n");
		return -EINVAL;
	}
	if (a->verify_only)
		a->rw = BLK_READ;
	if (a->state_path && !a->verify) {
		fprintf(stderr, "weir-blk: --verify-state goes with --verify or --verify-only\n");
		return -EINVAL;
	}
	if (a->verify && !a->fsync && a->rw != BLK_RANDREAD && a->rw != BLK_READ)
		a->fsync = 128;
	return 0;
}

static bool writes(const struct blk_app *a)
{
	return a->rw != BLK_RANDREAD && a->rw != BLK_READ;
}

/* What the device must take: block size, queue depth, writability. */
static int check_device(struct blk_app *a)
{
	const struct weir_blk_info *in = &a->info;
	uint32_t need = a->iodepth + (a->fsync || a->verify ? 1 : 0);

	if (a->bs % in->lbs || a->bs / in->lbs > in->max_blocks) {
		fprintf(stderr, "weir-blk: --bs %u: %s %u-byte logical blocks of %s (at most %u per "
				"I/O; or change lbs= in the spec)\n", a->bs,
			a->bs % in->lbs ? "not a whole number of the" : "too many", in->lbs,
			weir_blk_label(a->dev), in->max_blocks);
		return -EINVAL;
	}
	if (need > in->qd) {
		fprintf(stderr, "weir-blk: --iodepth %u%s needs %u requests in flight, %s takes %u "
				"(add qd=%u to the spec)\n", a->iodepth,
			need > a->iodepth ? " plus a flush" : "", need, weir_blk_label(a->dev),
			in->qd, need);
		return -EINVAL;
	}
	if (writes(a) && (in->features & WEIR_BLK_F_READONLY)) {
		fprintf(stderr, "weir-blk: --rw %s writes, but %s is open read-only (drop ro=1 from "
				"the spec, or use --rw randread)\n", rw_modes[a->rw],
			weir_blk_label(a->dev));
		return -EROFS;
	}
	return 0;
}

/* Each job's region: --size, or an equal share; whole I/Os. */
static int plan_regions(struct blk_app *a)
{
	const struct weir_blk_info *in = &a->info;
	uint64_t share = a->size ? a->size / in->lbs : in->nblocks / a->base.queues;

	share -= share % a->blocks_per_io;
	if (a->size && share * a->base.queues > in->nblocks) {
		fprintf(stderr, "weir-blk: --size %llu x %u jobs is past the end of %s (%llu bytes): "
				"a smaller --size, or fewer --jobs\n", (unsigned long long)a->size,
			a->base.queues, weir_blk_label(a->dev),
			(unsigned long long)(in->nblocks * in->lbs));
		return -EINVAL;
	}
	if (!share) {
		fprintf(stderr, "weir-blk: %s is too small for %u jobs of --bs %u\n",
			weir_blk_label(a->dev), a->base.queues, a->bs);
		return -EINVAL;
	}
	a->cap = a->base.duration ? 0 : share * in->lbs;
	for (uint16_t q = 0; q < a->base.queues; q++) {
		a->jobs[q].first = q * share;
		a->jobs[q].nblocks = share;
	}
	return 0;
}

static int alloc_reqs(struct blk_app *a, struct blk_job *j)
{
	for (uint16_t i = 0; i < a->iodepth; i++) {
		struct weir_blk_req *r = &j->reqs[i];

		if (weir_blk_buf_alloc(a->base.pool, a->bs, &r->pkt) < 0) {
			fprintf(stderr, "weir-blk: out of data buffers (a larger --pool)\n");
			return -ENOBUFS;
		}
		/* Reads of data nobody wrote look like no header at all. */
		for (struct weir_pkt *s = r->pkt; s; s = s->next)
			memset(weir_pkt_data(s), 0, s->data_len);
		j->free[j->nfree++] = r;
	}
	return 0;
}

static int open_dev(struct blk_app *a)
{
	struct weir_blk_conf conf = {.pool = a->base.pool, .nb_qp = a->base.queues};
	char why[WEIR_BLK_ERRSIZE];
	int err = weir_blk_open(a->spec, &conf, &a->dev, why, sizeof(why));

	if (err < 0) {
		fprintf(stderr, "weir-blk: %s\n", why);
		return err;
	}
	weir_blk_info_get(a->dev, &a->info);
	if (a->info.nb_qp < a->base.queues) {
		fprintf(stderr, "weir-blk: %s has %u queue pairs, --jobs %u needs one each\n",
			weir_blk_label(a->dev), a->info.nb_qp, a->base.queues);
		return -EINVAL;
	}
	return 0;
}

static int blk_setup(void *ctx)
{
	struct blk_app *a = ctx;
	uint32_t segs = (a->bs + 4095) / 4096;
	struct weir_pool_conf pc = {.name = "weir-blk", .buf_size = 4096,
				    .cache_size = UINT32_MAX};
	struct rusage ru;
	int err;

	pc.n = a->base.pool_size ? a->base.pool_size : a->base.queues * a->iodepth * segs + 64;
	if ((err = weir_pool_create(&pc, &a->base.pool)) < 0) {
		fprintf(stderr, "weir-blk: cannot create a pool of %u buffers: %s\n", pc.n,
			strerror(-err));
		return err;
	}
	a->jobs = calloc(a->base.queues, sizeof(*a->jobs));
	if (!a->jobs)
		return -ENOMEM;
	if ((err = open_dev(a)) < 0 || (err = check_device(a)) < 0)
		return err;
	a->blocks_per_io = a->bs / a->info.lbs;
	if ((err = plan_regions(a)) < 0 || (a->verify && (err = blk_state_open(a)) < 0))
		return err;
	a->run_key = rng_next(&(uint64_t){a->base.seed ^ (uint64_t)getpid()});
	for (uint16_t q = 0; q < a->base.queues; q++) {
		struct blk_job *j = &a->jobs[q];

		j->app = a;
		j->q = q;
		hist_init(&j->lat);
		hist_init(&j->win);
		if ((err = alloc_reqs(a, j)) < 0)
			return err;
		if (a->verify && (err = blk_verify_init(a, j)) < 0) {
			fprintf(stderr, "weir-blk: --verify: out of memory for %llu blocks\n",
				(unsigned long long)j->nblocks);
			return err;
		}
	}
	getrusage(RUSAGE_SELF, &ru);
	a->proc_cpu0 = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	return 0;
}

static void blk_teardown(void *ctx)
{
	struct blk_app *a = ctx;

	for (uint16_t q = 0; a->jobs && q < a->base.queues; q++) {
		struct blk_job *j = &a->jobs[q];

		a->bad += ctr(&j->mismatches);
		for (uint16_t i = 0; i < BLK_MAX_QD; i++)
			if (j->reqs[i].pkt)
				weir_pkt_free(j->reqs[i].pkt);
		blk_verify_fini(j);
	}
	weir_blk_close(a->dev);
	if (a->state_fd >= 0)
		close(a->state_fd);
	free(a->durable);
	free(a->jobs);
	free(a->spec);
	free(a->state_path);
}

static void *blk_lcore_arg(void *ctx, uint16_t q)
{
	struct blk_app *a = ctx;
	struct blk_job *j = &a->jobs[q];

	j->rng = a->base.seed * 0x9e3779b97f4a7c15ULL + q;
	return j;
}

static bool blk_done(void *ctx, weir_ns_t now)
{
	struct blk_app *a = ctx;

	if (a->base.duration && !weir_time_after(a->base.start + a->base.duration, now))
		return true;
	for (uint16_t q = 0; q < a->base.queues; q++)
		if (!atomic_load_explicit(&a->jobs[q].finished, memory_order_acquire))
			return false;
	return true;
}

/* Wakes often enough to see jobs finish (--size) soon after they do. */
static weir_ns_t blk_wake(void *ctx, weir_ns_t now, weir_ns_t line)
{
	(void)ctx;
	return weir_time_after(line, now + 20 * WEIR_NS_PER_MS) ? now + 20 * WEIR_NS_PER_MS : line;
}

static const struct app_cli blk_cli = {
	.prog = "weir-blk",
	.section = "blk",
	.synopsis = "weir-blk --dev SPEC [--rw MODE] [--bs N] [--iodepth N] [--jobs N]\n"
		    "         [--runtime T | --size N] [--verify | --verify-only] [OPTIONS]\n"
		    "weir-blk raid create|assemble|status|fail|rebuild ... (weir-blk raid --help)",
	.about = "fio-like load on a weir block device: IOPS, MB/s and latency percentiles\n"
		 "(p50 to max; with --rate from each I/O's intended start), CPU per I/O, and\n"
		 "verification: every written block carries its LBA, a generation and a\n"
		 "checksum, so reordered writes never look wrong and --verify-only can check\n"
		 "a device after a crash (every write reported durable must be intact).",
	.footer = "Examples:\n"
		  "  weir-blk -d 'uring:/tmp/f?direct=1' --rw randread --iodepth 32 -t 10s\n"
		  "  weir-blk -d 'uring:/dev/loop0' --rw randwrite --verify --verify-state s -t 5s\n"
		  "  weir-blk -d 'uring:/dev/loop0' --verify-only --verify-state s\n"
		  "  weir-blk -d 'raid5:uring:/a,uring:/b,uring:/c' --rw randrw --jobs 2 -c 0,1\n"
		  "Exit status: 0 ok, 1 bad usage, 2 the device failed or data did not verify,\n"
		  "3 buffers leaked.\n",
	.opts = blk_opts,
	.set = blk_set,
};

static const struct app_def blk_def = {
	.cli = &blk_cli,
	.check = blk_check,
	.setup = blk_setup,
	.teardown = blk_teardown,
	.lcore_main = blk_lcore_main,
	.lcore_arg = blk_lcore_arg,
	.wake = blk_wake,
	.done = blk_done,
	.totals_size = sizeof(struct blk_totals),
	.totals = blk_totals,
	.live = blk_live,
	.json = blk_json,
	.summary = blk_summary,
	.start_delay = 10 * WEIR_NS_PER_MS,
};

int main(int argc, char **argv)
{
	struct blk_app *a;
	int rc;

	if (argc > 1 && !strcmp(argv[1], "raid"))
		return blk_raid_main(argc - 1, argv + 1);
	a = calloc(1, sizeof(*a));
	if (!a)
		return APP_EXIT_FAIL;
	a->base.queues = 1;
	a->base.burst = 32;
	a->base.seed = 1;
	a->rw = BLK_RANDREAD;
	a->rwmixread = 50;
	a->bs = 4096;
	a->iodepth = 1;
	a->state_fd = -1;
	rc = app_main(&blk_def, &a->base, a, argc, argv);
	if (rc == APP_EXIT_OK && a->bad) {
		fprintf(stderr, "weir-blk: %llu blocks did not verify\n", (unsigned long long)a->bad);
		rc = APP_EXIT_FAIL;
	}
	free(a);
	return rc;
}
