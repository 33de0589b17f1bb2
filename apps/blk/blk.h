/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir-blk's shared state: the settings (fio's names where fio has one),
 * the per-job engine state (one job per lcore, on its own queue pair), the
 * block-header verification (verify.c) and the reports (report.c). A job's
 * counters are single-writer relaxed atomics the control thread reads for
 * the live line; its histograms are read only after the lcores are joined.
 */
#ifndef WEIR_APP_BLK_H
#define WEIR_APP_BLK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "weir/blk.h"

#include "common/app.h"
#include "common/histogram.h"

#define BLK_MAX_QD 1024
#define BLK_PATTERN_MAX 16

enum blk_rw { BLK_RANDREAD, BLK_RANDWRITE, BLK_READ, BLK_WRITE, BLK_RANDRW, BLK_RW };

/* Per-block expectations of a --verify job (verify.c). */
struct blk_vstate {
	uint32_t *gen;      /* generation the block holds (exact) or at least holds */
	uint8_t *exact;     /* 1: gen is exact (its last write completed in this run) */
	uint32_t *durable;  /* generation made durable by a completed flush */
	uint8_t *busy;      /* an I/O on the block is in flight */
	uint64_t nblocks;   /* of the job's region */
	/* Completed writes not yet covered by a flush, in completion order. */
	struct blk_wlog {
		uint64_t seq, lba;
		uint32_t nblocks;
	} *log;
	uint32_t *lgen; /* each log entry's generation */
	uint32_t log_mask, log_head, log_tail;
	uint64_t dirty_lo, dirty_hi; /* durable[] range to write to the state file */
};

struct blk_job {
	struct blk_app *app;
	uint16_t q;
	uint64_t rng;
	uint64_t first, nblocks; /* the job's region, in device blocks */
	uint64_t next;           /* sequential: next LBA */
	struct weir_blk_req reqs[BLK_MAX_QD];
	struct weir_blk_req *free[BLK_MAX_QD];
	uint16_t nfree;
	struct weir_blk_req flush;
	bool flush_busy;
	uint64_t writes_since_flush;
	uint64_t issued_bytes;   /* --size: stop issuing at the app's size */
	weir_ns_t next_issue;    /* --rate: the intended time of the next I/O */
	struct blk_vstate v;
	struct hist lat, win;    /* whole run; the current half second (live p99) */
	weir_ns_t win_start;
	/* Published for the control thread. */
	_Atomic uint64_t reads, writes, read_bytes, write_bytes, flushes;
	_Atomic uint64_t verified, mismatches, p99_ns;
	_Atomic bool finished;
	weir_ns_t t0, t1;        /* the job's run, for IOPS */
	double cpu_s;            /* the job's thread CPU over the run */
	int err;
};

struct blk_totals {
	uint64_t reads, writes, read_bytes, write_bytes, mismatches, p99_ns;
};

struct blk_app {
	struct app_base base;
	/* settings */
	char *spec;
	int rw;
	unsigned rwmixread; /* percent */
	uint32_t bs;
	uint16_t iodepth;
	uint64_t size;      /* --size: bytes per job (region and amount); 0: the device's share */
	uint64_t cap;       /* bytes a job issues before it stops; 0: until --runtime */
	uint64_t bad;       /* mismatches, summed at teardown for the exit code */
	double rate;        /* I/Os per second per job, 0: as fast as completions allow */
	uint64_t fsync;     /* a flush after every N writes, 0: none */
	bool verify, verify_only, poll;
	char *state_path;
	uint8_t pattern[BLK_PATTERN_MAX];
	uint8_t pattern_len;
	/* state */
	struct weir_blk *dev;
	struct weir_blk_info info;
	uint32_t blocks_per_io;
	struct blk_job *jobs;
	int state_fd;           /* --verify-state, -1: none */
	uint32_t *durable;      /* per device block: generation known durable */
	uint64_t state_loaded;  /* blocks the state file said were durable */
	double proc_cpu0;
	uint64_t run_key; /* in every block header: tells this run's writes apart */
};

/* lcore.c: the engine. */
int blk_lcore_main(void *arg);
/* The first LBA of a request for job j, aimed at its region; false when
 * --verify found every candidate busy (try again after a completion). */
bool blk_aim(struct blk_job *j, struct weir_blk_req *r);

/* verify.c */
int blk_verify_init(struct blk_app *a, struct blk_job *j);
void blk_verify_fini(struct blk_job *j);
/* Fills a write's blocks with headers and data for their next generation. */
void blk_verify_fill(struct blk_job *j, struct weir_blk_req *r);
/* Checks a completed read's blocks; returns how many mismatched (each said
 * on stderr, the first few in full). */
uint32_t blk_verify_check(struct blk_job *j, const struct weir_blk_req *r);
void blk_verify_write_done(struct blk_job *j, const struct weir_blk_req *r);
bool blk_verify_log_full(const struct blk_job *j);
/* A flush covering writes up to seq completed: they are durable. 0 or a
 * negative errno (the state file could not be written). */
int blk_verify_flush_done(struct blk_job *j, uint64_t seq);
void blk_pattern_fill(const struct blk_app *a, struct weir_blk_req *r);
uint32_t blk_pattern_check(struct blk_job *j, const struct weir_blk_req *r);
/* The state file: open (and load, for jobs' verify_init), close. */
int blk_state_open(struct blk_app *a);

/* report.c */
void blk_totals(void *ctx, void *out);
void blk_live(void *ctx, const void *prev, const void *cur, double dt);
void blk_summary(FILE *o, void *ctx);
void blk_json(FILE *o, void *ctx);

/* raid.c: weir-blk raid create|assemble|status|fail|rebuild. */
int blk_raid_main(int argc, char **argv);

#endif
