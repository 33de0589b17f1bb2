// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for how pmd/uring hands bursts to the kernel and waits for
 * completions, on scratch files in /tmp (a disk: direct I/O for real) and
 * /dev/shm (tmpfs): batch= groups a burst's SQEs into io_uring_enter calls
 * of at most N (xstat batch_submits), wait mode sleeps in the kernel and
 * returns at its timeout or a completion, wait=0 with SQPOLL spins, and
 * SQPOLL's default spins on the completion queue for spin= us before it
 * sleeps (xstat spin_hits), never with the poller pinned to its own CPU;
 * inline=auto does tmpfs I/O in submit, completions still polled, and
 * steps aside for an explicit wait=1/defer=1, which inline=1 refuses.
 * fini fails when a pool buffer leaked.
 */
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "blk_helpers.h"

TestSuite(blk_wait, .init = blk_pool_init, .fini = blk_pool_fini, .timeout = 60);

/* batch=N: a burst of 9 separate reads goes to the kernel in groups of N
 * as it is prepared (unplugged), the last group with the wait's enter. */
static uint64_t groups_for_burst(const char *f, const char *keys)
{
	struct weir_blk_req reqs[9], *rp[9];
	struct weir_pkt *p[9];
	struct weir_blk *dev;
	char spec[160];
	uint64_t g;

	snprintf(spec, sizeof(spec), "uring:%s?%s", f, keys);
	dev = blk_open_ok(spec, 1);
	for (int i = 0; i < 9; i++) {
		cr_assert_eq(weir_blk_buf_alloc(pool, 4096, &p[i]), 0);
		/* Every other 4 KiB: nothing merges. */
		reqs[i] = (struct weir_blk_req){.op = WEIR_BLK_READ, .lba = (uint64_t)i * 16,
						.nblocks = 8, .pkt = p[i]};
		rp[i] = &reqs[i];
	}
	blk_run(dev, 0, rp, 9);
	for (int i = 0; i < 9; i++) {
		cr_assert_eq(reqs[i].status, 0, "%s: read %d: %d", keys, i, reqs[i].status);
		weir_pkt_free(p[i]);
	}
	g = xstat(dev, "batch_submits");
	weir_blk_close(dev);
	return g;
}

Test(blk_wait, batch_hands_a_burst_to_the_kernel_in_groups)
{
	char f[64];

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	cr_assert_eq(groups_for_burst(f, "direct=1&lbs=512"), 4, "default batch=2: 4 groups of 2 "
		     "before the last one");
	cr_assert_eq(groups_for_burst(f, "direct=1&lbs=512&batch=4"), 2);
	cr_assert_eq(groups_for_burst(f, "direct=1&lbs=512&batch=0"), 0, "batch=0: one enter");
	cr_assert_eq(groups_for_burst(f, "direct=0&lbs=512"), 0, "direct=0: one enter by default");
	unlink(f);
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(blk_wait, poll_wait_sleeps_in_the_kernel_and_returns_at_the_timeout_or_a_completion)
{
	char f[64], spec[160];
	struct weir_blk_req r = {.op = WEIR_BLK_FLUSH}, *rp = &r, *got;
	struct weir_blk *dev;
	weir_ns_t t0, el;
	double cpu0, cpu;

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=1", f);
	dev = blk_open_ok(spec, 1);
	/* Nothing in flight: nothing to wait for, at once. */
	t0 = weir_clock_now();
	cr_assert_eq(weir_blk_poll_wait(dev, 0, &got, 1, WEIR_NS_PER_SEC), 0);
	cr_assert_lt(weir_clock_now() - t0, 100 * WEIR_NS_PER_MS);
	/* Many writes then a flush: the wait sleeps until it completes. */
	for (int i = 0; i < 32; i++)
		cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, (uint64_t)i * 64, 64, 3), 0);
	cr_assert_eq(weir_blk_submit_burst(dev, 0, &rp, 1), 1);
	cpu0 = thread_cpu_s();
	t0 = weir_clock_now();
	cr_assert_eq(weir_blk_poll_wait(dev, 0, &got, 1, 10 * WEIR_NS_PER_SEC), 1);
	el = weir_clock_now() - t0;
	cpu = thread_cpu_s() - cpu0;
	cr_assert_eq(got, &r);
	cr_assert_eq(r.status, 0, "%s", weir_blk_qp_error(dev, 0));
	cr_assert_geq(xstat(dev, "waits"), 1, "the completion was not waited for");
	/* Asleep, not spinning: only a long wait is measurable. */
	if (el > 5 * WEIR_NS_PER_MS)
		cr_assert_lt(cpu, (double)el / 1e9 / 2, "%.3f ms CPU in a %.3f ms wait", cpu * 1e3,
			     (double)el / 1e6);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 64, 64, 3), 0);
	weir_blk_close(dev);
	unlink(f);
}

Test(blk_wait, poll_wait_on_a_polling_device_spins_until_its_timeout)
{
	char f[64], spec[160];
	struct weir_blk_info in;
	struct weir_blk *dev;
	struct weir_blk_req *got;

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=1&sqpoll=1&wait=0", f);
	dev = blk_open_ok(spec, 1);
	weir_blk_info_get(dev, &in);
	cr_assert_eq(in.features & WEIR_BLK_F_WAIT, 0);
	cr_assert_eq(weir_blk_poll_wait(dev, 0, &got, 1, WEIR_NS_PER_MS), 0);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 0, 8, 5), 0);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 8, 5), 0);
	cr_assert_eq(xstat(dev, "waits"), 0);
	weir_blk_close(dev);
	unlink(f);
}

/* sqpoll=1 waits by default, spinning on the CQ for spin= us first: a
 * quick completion is caught spinning (xstat spin_hits), not slept for. */
static void sqpoll_reads(const char *spec, uint64_t *hits, uint64_t *waits)
{
	struct weir_blk *dev = blk_open_ok(spec, 1);
	struct weir_blk_info in;

	weir_blk_info_get(dev, &in);
	cr_assert(in.features & WEIR_BLK_F_WAIT, "%s: sqpoll=1 waits by default", spec);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 0, 8, 4), 0);
	for (int i = 0; i < 20; i++)
		cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 8, 4), 0, "%s", spec);
	*hits = xstat(dev, "spin_hits");
	*waits = xstat(dev, "waits");
	weir_blk_close(dev);
}

Test(blk_wait, sqpoll_spins_briefly_on_the_completion_queue_then_sleeps)
{
	char f[64], spec[160];
	uint64_t hits, waits;
	cpu_set_t old, one;

	scratch_file("/dev/shm", 1 << 20, f, sizeof(f));
	/* 20 ms: a tmpfs read by the polling thread takes microseconds, so
	 * even on a loaded machine nearly all come within it. */
	snprintf(spec, sizeof(spec), "uring:%s?direct=0&sqpoll=1&spin=20000", f);
	sqpoll_reads(spec, &hits, &waits);
	cr_assert_geq(hits, 15, "%llu of 21 caught spinning (%llu slept for)",
		      (unsigned long long)hits, (unsigned long long)waits);
	snprintf(spec, sizeof(spec), "uring:%s?direct=0&sqpoll=1&spin=0", f);
	sqpoll_reads(spec, &hits, &waits);
	cr_assert_eq(hits, 0, "spin=0 never spins");
	cr_assert_geq(waits, 1, "spin=0: every completion not already there is slept for");
	/* The poller pinned to the waiting thread's own CPU: no spin (it
	 * would hold off the very thread it waits for). */
	cr_assert_eq(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	cr_assert_eq(sched_setaffinity(0, sizeof(one), &one), 0);
	snprintf(spec, sizeof(spec), "uring:%s?direct=0&sqpoll=1&sq_cpu=0&spin=20000", f);
	sqpoll_reads(spec, &hits, &waits);
	sched_setaffinity(0, sizeof(old), &old);
	cr_assert_eq(hits, 0, "spun with the poller on this CPU");
	unlink(f);
}

/* inline=auto on tmpfs (which refuses RWF_NOWAIT: io_uring would hand
 * each request to a kernel worker): submit does the I/O, poll_burst still
 * hands the completions over, adjacent requests merge, and a FUA write is
 * durable on completion, a plain one only after a flush. */
Test(blk_wait, inline_on_tmpfs_completes_in_submit_and_keeps_the_queue_pair_contract)
{
	struct weir_blk_req w[5], rd = {.op = WEIR_BLK_READ, .lba = 0, .nblocks = 8};
	struct weir_blk_req *rp[5], *done[8];
	struct weir_blk_conf conf = {.pool = pool};
	char f[64], spec[160], why[WEIR_BLK_ERRSIZE];
	struct weir_blk *dev;

	scratch_file("/dev/shm", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=0&lbs=512", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(xstat(dev, "inline"), 1, "tmpfs, buffered: inline=auto is on");
	for (int i = 0; i < 5; i++) {
		/* One FUA write at 64, four adjacent plain ones from 0. */
		w[i] = (struct weir_blk_req){.op = WEIR_BLK_WRITE, .lba = i < 4 ? (uint64_t)i * 8 : 64,
					     .nblocks = 8, .flags = i < 4 ? 0 : WEIR_BLK_REQ_FUA};
		cr_assert_eq(weir_blk_buf_alloc(pool, 4096, &w[i].pkt), 0);
		pkt_pattern(w[i].pkt, w[i].lba * 512, 7);
		rp[i] = &w[i];
	}
	cr_assert_eq(weir_blk_submit_burst(dev, 0, rp, 5), 5);
	cr_assert_eq(weir_blk_inflight(dev, 0), 5, "done, but not yet polled");
	cr_assert_eq(xstat(dev, "inline_ios"), 2, "four adjacent writes merged into one");
	cr_assert_eq(weir_blk_poll_burst(dev, 0, done, 8), 5);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(w[i].status, 0, "write %d: %d", i, w[i].status);
		cr_assert_eq(!!(w[i].done_flags & WEIR_BLK_DONE_DURABLE), i == 4, "write %d", i);
		weir_pkt_free(w[i].pkt);
	}
	cr_assert_lt(weir_blk_durable_seq(dev, 0), w[0].seq, "no flush yet");
	cr_assert_eq(blk_op(dev, 0, WEIR_BLK_FLUSH, 0, 0), 0);
	cr_assert_geq(weir_blk_durable_seq(dev, 0), w[3].seq, "the flush covers them");
	cr_assert_eq(weir_blk_buf_alloc(pool, 4096, &rd.pkt), 0);
	cr_assert_eq(weir_blk_sync(dev, 0, &rd), 0);
	cr_assert_eq(pkt_find_bad(rd.pkt, 0, 7), -1);
	weir_pkt_free(rd.pkt);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 64, 8, 7), 0);
	weir_blk_close(dev);
	/* inline=0 keeps io_uring; sqpoll=1 and inline=1 contradict. */
	snprintf(spec, sizeof(spec), "uring:%s?direct=0&inline=0", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 64, 8, 7), 0);
	cr_assert_eq(xstat(dev, "inline") + xstat(dev, "inline_ios"), 0);
	weir_blk_close(dev);
	snprintf(spec, sizeof(spec), "uring:%s?direct=0&inline=1&sqpoll=1", f);
	cr_assert_eq(weir_blk_open(spec, &conf, &dev, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "inline=1 runs I/O in the submitting thread"), "%s", why);
	unlink(f);
	/* A disk file (it has RWF_NOWAIT): auto leaves io_uring in charge. */
	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=0", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(xstat(dev, "inline"), 0, "a disk file's page cache: no inline");
	weir_blk_close(dev);
	unlink(f);
}

/* inline=1 does the I/O in submit: an explicit wait=1 or defer=1 (a sleep
 * in the kernel) contradicts it and is refused, naming both fixes;
 * inline=auto on tmpfs steps aside for them and keeps io_uring. */
Test(blk_wait, inline_refuses_an_explicit_wait_and_auto_steps_aside)
{
	static const char *const asks[] = {"wait=1", "defer=1"};
	struct weir_blk_conf conf = {.pool = pool};
	char f[64], spec[160], why[WEIR_BLK_ERRSIZE];
	struct weir_blk *dev;

	scratch_file("/dev/shm", 1 << 20, f, sizeof(f));
	for (int i = 0; i < 2; i++) {
		snprintf(spec, sizeof(spec), "uring:%s?direct=0&inline=1&%s", f, asks[i]);
		cr_assert_eq(weir_blk_open(spec, &conf, &dev, why, sizeof(why)), -EINVAL, "%s",
			     spec);
		cr_assert(strstr(why, asks[i]) && strstr(why, "inline=0"), "%s: %s", spec, why);
		snprintf(spec, sizeof(spec), "uring:%s?direct=0&%s", f, asks[i]);
		dev = blk_open_ok(spec, 1);
		cr_assert_eq(xstat(dev, "inline"), 0, "%s: auto keeps io_uring", spec);
		cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 0, 8, 3), 0);
		cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 8, 3), 0);
		cr_assert_geq(xstat(dev, "waits"), 1, "%s: slept in the kernel", spec);
		cr_assert_eq(xstat(dev, "inline_ios"), 0);
		weir_blk_close(dev);
	}
	/* wait=0 is no contradiction. */
	snprintf(spec, sizeof(spec), "uring:%s?direct=0&inline=1&wait=0", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(xstat(dev, "inline"), 1);
	weir_blk_close(dev);
	unlink(f);
}
