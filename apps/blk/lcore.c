// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-blk's engine: one job per lcore, on its own queue pair and its own
 * region of the device. The loop keeps --iodepth requests in flight:
 * free requests are aimed (random or sequential LBAs, reads or writes in
 * the --rwmixread proportion), stamped and submitted in one burst; then it
 * waits for completions (asleep in the kernel where the device can,
 * spinning where the spec asked for polling: sqpoll=1, iopoll=1).
 *
 * Latency is measured without coordinated omission: with --rate, request
 * k is due at start + k/rate, and its latency runs from that intended time,
 * not from when a free slot let it go, so a stall that holds requests back
 * counts against every request it delayed (as wrk2 and fio's rate_process
 * do). Without --rate the loop is closed (a request starts when one ends)
 * and the time runs from just before the submit call that carries it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/fastpath.h"
#include "blk/blk.h"

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool range_busy(const struct blk_job *j, uint64_t i, uint32_t nb)
{
	for (uint32_t k = 0; k < nb; k++)
		if (j->v.busy[i + k])
			return true;
	return false;
}

bool blk_aim(struct blk_job *j, struct weir_blk_req *r)
{
	struct blk_app *a = j->app;
	uint32_t nb = a->blocks_per_io;
	uint64_t slots = j->nblocks / nb, i = 0;
	bool seq = a->rw == BLK_READ || a->rw == BLK_WRITE || a->rw == BLK_RW;

	for (int tries = 0; tries < 8; tries++) {
		if (seq) {
			if (j->next + nb > j->nblocks)
				j->next = 0;
			i = j->next;
		} else {
			i = rng_next(&j->rng) % slots * nb;
		}
		/* --verify: one I/O per block at a time, so what a read must
		 * find is known exactly (no false mismatch from reordering). */
		if (!j->v.busy || !range_busy(j, i, nb))
			break;
		if (seq)
			return false;
		if (tries == 7)
			return false;
	}
	if (seq)
		j->next = i + nb;
	if (j->v.busy)
		memset(j->v.busy + i, 1, nb);
	r->lba = j->first + i;
	return true;
}

static uint8_t pick_op(struct blk_job *j)
{
	switch (j->app->rw) {
	case BLK_RANDREAD:
	case BLK_READ:
		return WEIR_BLK_READ;
	case BLK_RANDWRITE:
	case BLK_WRITE:
		return WEIR_BLK_WRITE;
	default:
		return rng_next(&j->rng) % 100 < j->app->rwmixread ? WEIR_BLK_READ : WEIR_BLK_WRITE;
	}
}

static void release(struct blk_job *j, struct weir_blk_req *r)
{
	if (j->v.busy)
		memset(j->v.busy + (r->lba - j->first), 0, r->nblocks);
	j->free[j->nfree++] = r;
}

/* Aims, fills and submits what is free and due. */
static void issue(struct blk_job *j, weir_ns_t now)
{
	struct blk_app *a = j->app;
	struct weir_blk_req *burst[BLK_MAX_QD];
	uint16_t n = 0, taken;

	while (j->nfree && (!a->cap || j->issued_bytes < a->cap)) {
		struct weir_blk_req *r = j->free[j->nfree - 1];
		weir_ns_t stamp = now;
		uint8_t op = pick_op(j);

		if (a->rate > 0) {
			if (weir_time_after(j->next_issue, now))
				break;
			stamp = j->next_issue;
		}
		if (op == WEIR_BLK_WRITE && a->verify && blk_verify_log_full(j))
			break; /* until the flush in flight makes room */
		r->op = op;
		r->nblocks = a->blocks_per_io;
		if (!blk_aim(j, r))
			break;
		j->nfree--;
		if (op == WEIR_BLK_WRITE && a->verify)
			blk_verify_fill(j, r);
		else if (op == WEIR_BLK_WRITE && a->pattern_len)
			blk_pattern_fill(a, r);
		if (a->rate > 0)
			j->next_issue += (weir_ns_t)(1e9 / a->rate);
		r->udata64 = stamp;
		j->issued_bytes += a->bs;
		burst[n++] = r;
	}
	if (!n)
		return;
	taken = weir_blk_submit_burst(a->dev, j->q, burst, n);
	for (uint16_t i = n; i > taken; i--) {
		/* The device's queue is full: these go again later. */
		j->issued_bytes -= a->bs;
		release(j, burst[i - 1]);
	}
}

static void flush_maybe(struct blk_job *j, bool force)
{
	struct weir_blk_req *r = &j->flush;

	if (j->flush_busy || !j->writes_since_flush ||
	    (!force && (!j->app->fsync || j->writes_since_flush < j->app->fsync)))
		return;
	*r = (struct weir_blk_req){.op = WEIR_BLK_FLUSH};
	if (weir_blk_submit_burst(j->app->dev, j->q, &r, 1) == 1) {
		j->flush_busy = true;
		j->writes_since_flush = 0;
	}
}

static int failed(struct blk_job *j, const struct weir_blk_req *r)
{
	fprintf(stderr, "weir-blk: job %u: %s lba %llu: %s (%s)\n", j->q, weir_blk_op_name(r->op),
		(unsigned long long)r->lba, strerror(-r->status),
		weir_blk_qp_error(j->app->dev, j->q));
	return -EIO;
}

static int complete_one(struct blk_job *j, struct weir_blk_req *r, weir_ns_t now)
{
	struct blk_app *a = j->app;
	uint64_t lat = now - r->udata64;

	if (r == &j->flush) {
		j->flush_busy = false;
		if (r->status)
			return failed(j, r);
		ctr_add(&j->flushes, 1);
		return a->verify ? blk_verify_flush_done(j, r->seq) : 0;
	}
	if (r->status) {
		if (a->verify && r->op == WEIR_BLK_WRITE)
			blk_verify_write_done(j, r);
		release(j, r);
		return failed(j, r);
	}
	hist_record(&j->lat, lat);
	hist_record(&j->win, lat);
	if (r->op == WEIR_BLK_READ) {
		uint32_t bad = a->verify ? blk_verify_check(j, r)
			       : a->pattern_len ? blk_pattern_check(j, r) : 0;

		ctr_add(&j->reads, 1);
		ctr_add(&j->read_bytes, a->bs);
		if (a->verify || a->pattern_len)
			ctr_add(&j->verified, r->nblocks);
		if (bad)
			ctr_add(&j->mismatches, bad);
	} else {
		ctr_add(&j->writes, 1);
		ctr_add(&j->write_bytes, a->bs);
		if (a->verify)
			blk_verify_write_done(j, r);
		j->writes_since_flush++;
	}
	release(j, r);
	return 0;
}

/* How long the loop may sleep now. A closed loop: until a completion
 * (the kernel then arms no timer per wait; a stop or the end of the run
 * is seen at the next completion). With --rate: until the next due I/O,
 * the end of the run, and at most 10 ms. */
static uint64_t wait_budget(const struct blk_job *j, weir_ns_t now, weir_ns_t end)
{
	weir_ns_t t = now + 10 * WEIR_NS_PER_MS;

	if (j->app->rate <= 0)
		return WEIR_BLK_WAIT_FOREVER;
	if (j->app->rate > 0 && j->nfree && weir_time_after(t, j->next_issue))
		t = j->next_issue;
	if (end && weir_time_after(t, end))
		t = end;
	return weir_time_after(t, now) ? t - now : 0;
}

/* The live line's p99: of the latest complete half second, so a line
 * printed each second always finds a fresh one. */
static void publish_window(struct blk_job *j, weir_ns_t now)
{
	if (now - j->win_start < WEIR_NS_PER_SEC / 2)
		return;
	atomic_store_explicit(&j->p99_ns, hist_percentile(&j->win, 99), memory_order_relaxed);
	hist_init(&j->win);
	j->win_start = now;
}

static void sleep_until(weir_ns_t t)
{
	struct timespec ts = {.tv_sec = (time_t)(t / WEIR_NS_PER_SEC),
			      .tv_nsec = (long)(t % WEIR_NS_PER_SEC)};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* One pass of the loop: issue, wait, complete. 1 when the job is over. */
static int step(struct blk_job *j, weir_ns_t end)
{
	struct blk_app *a = j->app;
	struct weir_blk_req *done[64];
	weir_ns_t now = weir_clock_now();
	bool stopping = weir_should_stop() || (end && !weir_time_after(end, now)) ||
			(a->cap && j->issued_bytes >= a->cap);
	uint16_t n;
	int err;

	if (!stopping)
		issue(j, now);
	flush_maybe(j, stopping && a->verify);
	if (!weir_blk_inflight(a->dev, j->q)) {
		if (stopping)
			return 1;
		if (a->rate > 0)
			sleep_until(now + wait_budget(j, now, end));
		return 0;
	}
	n = weir_blk_poll_wait(a->dev, j->q, done, 64, stopping ? 100 * WEIR_NS_PER_MS
						      : wait_budget(j, now, end));
	now = weir_clock_now();
	for (uint16_t i = 0; i < n; i++)
		if ((err = complete_one(j, done[i], now)) < 0)
			return err;
	publish_window(j, now);
	return 0;
}

int blk_lcore_main(void *arg)
{
	struct blk_job *j = arg;
	struct blk_app *a = j->app;
	weir_ns_t end = a->base.duration ? a->base.start + a->base.duration : 0;
	double cpu0;
	int r;

	if (weir_time_after(a->base.start, weir_clock_now()))
		sleep_until(a->base.start);
	j->t0 = j->win_start = j->next_issue = weir_clock_now();
	cpu0 = thread_cpu();
	while (!(r = step(j, end)))
		;
	j->t1 = weir_clock_now();
	j->cpu_s = thread_cpu() - cpu0;
	if (r < 0) {
		/* Take back what is in flight, so the buffers come home. */
		struct weir_blk_req *done[64];

		while (weir_blk_inflight(a->dev, j->q))
			weir_blk_poll_wait(a->dev, j->q, done, 64, 100 * WEIR_NS_PER_MS);
	}
	atomic_store_explicit(&j->p99_ns, hist_percentile(&j->win, 99), memory_order_relaxed);
	atomic_store_explicit(&j->finished, true, memory_order_release);
	j->err = r < 0 ? r : 0;
	return j->err;
}
