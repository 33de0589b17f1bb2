// SPDX-License-Identifier: BSD-3-Clause
/*
 * bench/blk: the weir side of bench/blk.sh, which runs it against fio's
 * io_uring engine on the same file and core.
 *
 *   blk randread SPEC SECONDS [QD]      4 KiB reads at uniformly random
 *                                       4 KiB-aligned offsets, QD in flight
 *                                       (default: the spec's qd=)
 *   blk write SECONDS BS QD SPEC...     sequential writes of BS bytes, QD in
 *                                       flight on each device, from 1 MiB
 *                                       (rounded up to BS) to the end, then
 *                                       round again; all devices from one
 *                                       thread (RAID5 full stripes against
 *                                       its members written directly)
 *
 * A closed loop: a request is resubmitted as soon as its completion is
 * polled, so at QD1 each I/O starts when the previous one ends. Latency is
 * measured per I/O, from just before the submit call that carries it to
 * the poll that returns it (what fio calls lat: submission plus
 * completion), into a log-linear histogram (HDR-style, 1/128 precision).
 * Only I/Os completed within SECONDS count; the rest are drained unseen.
 *
 * Prints one line of key=value results: ios, iops, mbps, p50_us, p99_us,
 * p999_us, max_us, cpu_ns_per_io (this thread's utime+stime over the run,
 * per I/O: what fio's usr_cpu+sys_cpu measure) and proc_cpu_ns_per_io (the
 * whole process: with sqpoll=1 that includes the kernel's polling thread).
 *
 * BLK_XSTATS=1 also prints each device's driver counters (xstats) to
 * stderr at the end, one "xstats LABEL: name=value ..." line per device.
 *
 * BLK_SQ_CPU=N moves the kernel's submission-polling threads (sqpoll=1,
 * named iou-sqp-PID) to CPU N after open, as fio's --sqthread_poll_cpu
 * does: the uring driver has no key for it, and a poller sharing the CPU
 * of a thread that spins on completions starves.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "weir/blk.h"
#include "weir/clock.h"
#include "weir/lcore.h"

#define BENCH_MAX_DEV 8
#define BENCH_MAX_QD 1024
#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS (2 * HIST_SUB + 40 * HIST_SUB)

#define FAIL(...)                                                      \
	do {                                                           \
		fprintf(stderr, "blk bench: " __VA_ARGS__);            \
		fputc('\n', stderr);                                   \
		exit(1);                                               \
	} while (0)

/* Latencies in ns: exact below 256, then 128 buckets per power of two. */
static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_max;

static unsigned hist_index(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	if (shift > 40)
		return HIST_BUCKETS - 1;
	return 2 * HIST_SUB + (shift - 1) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

/* The middle of bucket i, in ns. */
static double hist_value(unsigned i)
{
	unsigned shift;

	if (i < 2 * HIST_SUB)
		return i;
	shift = (i - 2 * HIST_SUB) / HIST_SUB + 1;
	return (double)(((uint64_t)(HIST_SUB + (i - 2 * HIST_SUB) % HIST_SUB) << shift) +
			((1ull << shift) >> 1));
}

static void hist_add(uint64_t ns)
{
	hist[hist_index(ns)]++;
	if (ns > hist_max)
		hist_max = ns;
}

/* The q-quantile (0 < q <= 1) of n recorded values, in µs. */
static double hist_quantile(uint64_t n, double q)
{
	uint64_t want = (uint64_t)((double)n * q + 0.999999), seen = 0;

	if (!n)
		return 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += hist[i];
		if (seen >= want)
			return hist_value(i) / 1e3;
	}
	return (double)hist_max / 1e3;
}

static double cpu_seconds(int who)
{
	struct rusage r;

	getrusage(who, &r);
	return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
	       (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rng_next(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* One device under load: its requests and where the next write goes. */
struct bench_dev {
	struct weir_blk *blk;
	struct weir_blk_info info;
	struct weir_blk_req reqs[BENCH_MAX_QD];
	struct weir_blk_req *pending[BENCH_MAX_QD]; /* taken back, to resubmit */
	uint16_t npending;
	uint32_t io_blocks; /* blocks per I/O */
	uint64_t first, next; /* sequential: first LBA of the loop, next LBA */
	bool seq;
};

/*
 * BLK_SQ_CPU: pins this process's other threads to that CPU. Right after
 * open they are the iou-sqp threads of sqpoll=1 rings (this program starts
 * none of its own); a new one may not have named itself yet.
 */
static void pin_sq_threads(void)
{
	const char *env = getenv("BLK_SQ_CPU");
	struct dirent *e;
	unsigned moved = 0;
	cpu_set_t set;
	DIR *d;

	if (!env || !*env || !(d = opendir("/proc/self/task")))
		return;
	CPU_ZERO(&set);
	CPU_SET(atoi(env), &set);
	while ((e = readdir(d))) {
		int tid = atoi(e->d_name);

		if (tid <= 0 || tid == getpid())
			continue;
		if (sched_setaffinity(tid, sizeof(set), &set))
			FAIL("cannot move thread %d to CPU %s: %s", tid, env, strerror(errno));
		moved++;
	}
	closedir(d);
	if (!moved)
		fprintf(stderr, "blk bench: BLK_SQ_CPU=%s but no polling thread (sqpoll=0?)\n", env);
}

static struct weir_pool *pool;
static struct bench_dev devs[BENCH_MAX_DEV];
static unsigned ndev;

static void open_dev(struct bench_dev *d, const char *spec, uint32_t bytes, bool seq)
{
	char why[WEIR_BLK_ERRSIZE];

	if (weir_blk_open(spec, &(struct weir_blk_conf){.pool = pool}, &d->blk, why, sizeof(why)))
		FAIL("%s", why);
	weir_blk_info_get(d->blk, &d->info);
	if (weir_blk_note(d->blk)[0])
		fprintf(stderr, "blk bench: note: %s\n", weir_blk_note(d->blk));
	if (bytes % d->info.lbs || bytes / d->info.lbs > d->info.max_blocks)
		FAIL("%s: %u-byte I/Os do not fit its %u-byte blocks (at most %u per request)",
		     spec, bytes, d->info.lbs, d->info.max_blocks);
	pin_sq_threads();
	d->io_blocks = bytes / d->info.lbs;
	d->seq = seq;
	d->first = ((1u << 20) + bytes - 1) / bytes * d->io_blocks;
	d->next = d->first;
	if (d->first + d->io_blocks > d->info.nblocks)
		FAIL("%s: too small for %u-byte I/Os from 1 MiB on", spec, bytes);
}

/* Points r at the next block range of d. */
static void aim(struct bench_dev *d, struct weir_blk_req *r)
{
	if (d->seq) {
		if (d->next + d->io_blocks > d->info.nblocks)
			d->next = d->first;
		r->lba = d->next;
		d->next += d->io_blocks;
	} else {
		r->lba = rng_next() % (d->info.nblocks / d->io_blocks) * d->io_blocks;
	}
}

static void prepare(struct bench_dev *d, uint16_t qd, uint8_t op, uint32_t bytes)
{
	for (uint16_t i = 0; i < qd; i++) {
		struct weir_blk_req *r = &d->reqs[i];

		*r = (struct weir_blk_req){.op = op, .nblocks = d->io_blocks};
		if (weir_blk_buf_alloc(pool, bytes, &r->pkt))
			FAIL("out of pool buffers");
		for (struct weir_pkt *p = r->pkt; p; p = p->next)
			memset(weir_pkt_data(p), 0x5a ^ (int)i, p->data_len);
		aim(d, r);
		d->pending[i] = r;
	}
	d->npending = qd;
}

/* Submits what d has pending, stamped with now. */
static void submit_pending(struct bench_dev *d, weir_ns_t now)
{
	uint16_t n;

	for (uint16_t i = 0; i < d->npending; i++)
		d->pending[i]->udata64 = now;
	n = weir_blk_submit_burst(d->blk, 0, d->pending, d->npending);
	if (n < d->npending)
		memmove(d->pending, d->pending + n, (size_t)(d->npending - n) * sizeof(*d->pending));
	d->npending = (uint16_t)(d->npending - n);
}

/* Polls d once: records and re-aims what completed. Returns how many. */
static uint16_t reap(struct bench_dev *d, bool record)
{
	struct weir_blk_req *done[64];
	uint16_t n = weir_blk_poll_burst(d->blk, 0, done, 64);
	weir_ns_t now;

	if (!n)
		return 0;
	now = weir_clock_now();
	for (uint16_t i = 0; i < n; i++) {
		struct weir_blk_req *r = done[i];

		if (r->status)
			FAIL("%s: %s at lba %llu: %s", weir_blk_label(d->blk),
			     weir_blk_op_name(r->op), (unsigned long long)r->lba,
			     weir_blk_qp_error(d->blk, 0));
		if (record) {
			hist_add(now - r->udata64);
			aim(d, r);
			d->pending[d->npending++] = r;
		}
	}
	if (record)
		submit_pending(d, now);
	return n;
}

/* Runs every device for secs; prints the results line. */
static void run(double secs, uint32_t bytes)
{
	double cpu0 = cpu_seconds(RUSAGE_THREAD), pcpu0 = cpu_seconds(RUSAGE_SELF);
	weir_ns_t t0 = weir_clock_now(), end = t0 + (weir_ns_t)(secs * 1e9), now = t0;
	uint64_t ios = 0;
	double el, cpu, pcpu;

	for (unsigned i = 0; i < ndev; i++)
		submit_pending(&devs[i], t0);
	while (now < end) {
		for (unsigned i = 0; i < ndev; i++) {
			ios += reap(&devs[i], true);
			if (devs[i].npending)
				submit_pending(&devs[i], weir_clock_now());
		}
		now = weir_clock_now();
	}
	el = (double)(now - t0) / 1e9;
	cpu = cpu_seconds(RUSAGE_THREAD) - cpu0;
	pcpu = cpu_seconds(RUSAGE_SELF) - pcpu0;
	for (unsigned i = 0; i < ndev; i++)
		while (weir_blk_inflight(devs[i].blk, 0))
			reap(&devs[i], false);
	printf("ios=%llu secs=%.3f iops=%.0f mbps=%.1f p50_us=%.2f p99_us=%.2f p999_us=%.2f "
	       "max_us=%.2f cpu_ns_per_io=%.0f proc_cpu_ns_per_io=%.0f\n",
	       (unsigned long long)ios, el, (double)ios / el, (double)ios * bytes / el / 1e6,
	       hist_quantile(ios, 0.5), hist_quantile(ios, 0.99), hist_quantile(ios, 0.999),
	       (double)hist_max / 1e3, ios ? cpu * 1e9 / (double)ios : 0,
	       ios ? pcpu * 1e9 / (double)ios : 0);
}

static void make_pool(uint32_t n)
{
	int err = weir_pool_create(&(struct weir_pool_conf){.name = "blk-bench", .n = n,
							    .buf_size = 4096, .huge = -1},
				   &pool);

	if (err)
		FAIL("pool of %u buffers: %s", n, strerror(-err));
}

/* BLK_XSTATS=1: the driver's counters of every device, to stderr. */
static void print_xstats(void)
{
	struct weir_blk_xstat xs[32];

	if (!getenv("BLK_XSTATS") || strcmp(getenv("BLK_XSTATS"), "1"))
		return;
	for (unsigned i = 0; i < ndev; i++) {
		int n = weir_blk_xstats_get(devs[i].blk, xs, 32);

		fprintf(stderr, "xstats %s:", weir_blk_label(devs[i].blk));
		for (int j = 0; j < n && j < 32; j++)
			fprintf(stderr, " %s=%llu", xs[j].name, (unsigned long long)xs[j].value);
		fputc('\n', stderr);
	}
}

static void finish(void)
{
	print_xstats();
	for (unsigned i = 0; i < ndev; i++) {
		for (unsigned j = 0; j < BENCH_MAX_QD; j++)
			if (devs[i].reqs[j].pkt)
				weir_pkt_free(devs[i].reqs[j].pkt);
		weir_blk_close(devs[i].blk);
	}
	weir_pool_destroy(pool);
}

static uint16_t parse_qd(const char *s)
{
	long qd = strtol(s, NULL, 0);

	if (qd < 1 || qd > BENCH_MAX_QD)
		FAIL("queue depth %s: 1..%d", s, BENCH_MAX_QD);
	return (uint16_t)qd;
}

static void usage(void)
{
	FAIL("usage: blk randread SPEC SECONDS [QD] | blk write SECONDS BS QD SPEC...");
}

int main(int argc, char **argv)
{
	uint32_t bytes = 4096;
	uint16_t qd;

	weir_lcore_set_id(0);
	if (argc >= 4 && !strcmp(argv[1], "randread")) {
		make_pool(BENCH_MAX_QD + 64);
		open_dev(&devs[0], argv[2], bytes, false);
		ndev = 1;
		qd = argc > 4 ? parse_qd(argv[4]) : devs[0].info.qd;
		if (qd > devs[0].info.qd || qd > BENCH_MAX_QD)
			FAIL("QD %u is more than the device's qd=%u", qd, devs[0].info.qd);
		prepare(&devs[0], qd, WEIR_BLK_READ, bytes);
		run(strtod(argv[3], NULL), bytes);
	} else if (argc >= 6 && !strcmp(argv[1], "write")) {
		bytes = (uint32_t)strtoul(argv[3], NULL, 0);
		qd = parse_qd(argv[4]);
		if (!bytes || bytes % 4096 || bytes / 4096 > WEIR_BLK_MAX_IOV)
			FAIL("BS %s: a multiple of 4096 up to %d KiB", argv[3], WEIR_BLK_MAX_IOV * 4);
		if (argc - 5 > BENCH_MAX_DEV)
			FAIL("at most %d devices", BENCH_MAX_DEV);
		make_pool((uint32_t)(argc - 5) * qd * (bytes / 4096) + 64);
		for (int i = 5; i < argc; i++, ndev++) {
			open_dev(&devs[ndev], argv[i], bytes, true);
			prepare(&devs[ndev], qd, WEIR_BLK_WRITE, bytes);
		}
		run(strtod(argv[2], NULL), bytes);
	} else {
		usage();
	}
	finish();
	return 0;
}
