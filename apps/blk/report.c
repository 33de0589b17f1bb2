// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-blk's reports: the live line (from the jobs' published counters and
 * each job's p99 over its last half second), the text summary and the JSON
 * document. Latency percentiles come from the jobs' histograms, merged,
 * and only once every job has finished (they are single-threaded); the
 * telemetry document of a running job has counters only.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "weir/log.h"

#include "common/fastpath.h"
#include "common/report.h"
#include "blk/blk.h"

static const char *const rw_names[] = {"randread", "randwrite", "read", "write", "randrw", "rw"};

void blk_totals(void *ctx, void *out)
{
	struct blk_app *a = ctx;
	struct blk_totals *t = out;

	memset(t, 0, sizeof(*t));
	for (uint16_t q = 0; q < a->base.queues; q++) {
		struct blk_job *j = &a->jobs[q];

		t->reads += ctr(&j->reads);
		t->writes += ctr(&j->writes);
		t->read_bytes += ctr(&j->read_bytes);
		t->write_bytes += ctr(&j->write_bytes);
		t->mismatches += ctr(&j->mismatches);
		t->p99_ns = WEIR_MAX(t->p99_ns, ctr(&j->p99_ns));
	}
}

void blk_live(void *ctx, const void *prev, const void *cur, double dt)
{
	const struct blk_totals *p = prev, *c = cur;
	struct blk_app *a = ctx;
	double ios = (double)(c->reads + c->writes - p->reads - p->writes) / dt;
	double mb = (double)(c->read_bytes + c->write_bytes - p->read_bytes - p->write_bytes) / dt;
	char b1[32], b2[32], b3[32], b4[32];

	fprintf(stderr, "weir-blk: %s IOPS (read %s, write %s)  %.1f MB/s  p99 %s%s",
		app_fmt_si(ios, b1, sizeof(b1)),
		app_fmt_si((double)(c->reads - p->reads) / dt, b2, sizeof(b2)),
		app_fmt_si((double)(c->writes - p->writes) / dt, b3, sizeof(b3)), mb / 1e6,
		app_fmt_ns((double)c->p99_ns, b4, sizeof(b4)), a->verify ? "" : "\n");
	if (a->verify)
		fprintf(stderr, "  verify: %" PRIu64 " bad\n", c->mismatches);
}

struct blk_result {
	struct blk_totals t;
	double secs, cpu_s, proc_s;
	uint64_t ios, flushes, verified;
	bool done; /* every job finished: percentiles are valid */
	struct hist *lat;
};

static double proc_cpu(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
	       (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* Sums the jobs; the merged histogram only when all have finished. */
static void result(struct blk_app *a, struct blk_result *r)
{
	weir_ns_t t0 = 0, t1 = 0;

	memset(r, 0, sizeof(*r));
	blk_totals(a, &r->t);
	r->ios = r->t.reads + r->t.writes;
	r->done = true;
	r->lat = malloc(sizeof(*r->lat));
	if (r->lat)
		hist_init(r->lat);
	for (uint16_t q = 0; q < a->base.queues; q++) {
		struct blk_job *j = &a->jobs[q];

		if (!atomic_load_explicit(&j->finished, memory_order_acquire)) {
			r->done = false;
			continue;
		}
		if (!t0 || weir_time_after(t0, j->t0))
			t0 = j->t0;
		if (weir_time_after(j->t1, t1))
			t1 = j->t1;
		r->cpu_s += j->cpu_s;
		r->flushes += ctr(&j->flushes);
		r->verified += ctr(&j->verified);
		if (r->lat)
			hist_merge(r->lat, &j->lat);
	}
	r->secs = r->done && t1 != t0 ? (double)(t1 - t0) / 1e9
				      : (double)(weir_clock_now() - a->base.start) / 1e9;
	r->proc_s = proc_cpu() - a->proc_cpu0;
}

static double per_io(double s, uint64_t ios)
{
	return ios ? s * 1e9 / (double)ios : 0;
}

static void lat_line(FILE *o, const struct hist *h, const char *name, double p)
{
	fprintf(o, "%s %.1f", name, (double)hist_percentile(h, p) / 1e3);
}

void blk_summary(FILE *o, void *ctx)
{
	struct blk_app *a = ctx;
	struct blk_result r;

	result(a, &r);
	fprintf(o, "weir-blk: %s, bs %u, iodepth %u, %u job%s, %s (%s)\n",
		a->verify_only ? "verify-only" : rw_names[a->rw], a->bs, a->iodepth,
		a->base.queues, a->base.queues > 1 ? "s" : "", weir_blk_label(a->dev),
		(a->info.features & WEIR_BLK_F_WAIT) ? "waits for completions" : "polls");
	fprintf(o, "  read:  %10" PRIu64 " I/Os  %10.0f IOPS  %9.1f MB/s\n", r.t.reads,
		(double)r.t.reads / r.secs, (double)r.t.read_bytes / r.secs / 1e6);
	fprintf(o, "  write: %10" PRIu64 " I/Os  %10.0f IOPS  %9.1f MB/s  (%" PRIu64 " flushes)\n",
		r.t.writes, (double)r.t.writes / r.secs, (double)r.t.write_bytes / r.secs / 1e6,
		r.flushes);
	if (r.lat && r.lat->count) {
		fprintf(o, "  latency us%s: ", a->rate > 0 ? " (from each I/O's intended start)" : "");
		lat_line(o, r.lat, "p50", 50);
		lat_line(o, r.lat, "  p90", 90);
		lat_line(o, r.lat, "  p99", 99);
		lat_line(o, r.lat, "  p99.9", 99.9);
		fprintf(o, "  max %.1f  mean %.1f\n", (double)r.lat->max / 1e3, hist_mean(r.lat) / 1e3);
	}
	fprintf(o, "  cpu: %.0f ns per I/O (the jobs' threads), %.0f ns (the process, with the "
		   "kernel's threads)  over %.2f s\n", per_io(r.cpu_s, r.ios), per_io(r.proc_s, r.ios),
		r.secs);
	if (a->verify || a->pattern_len)
		fprintf(o, "  verify: %" PRIu64 " blocks checked, %" PRIu64 " mismatches%s\n",
			r.verified, r.t.mismatches, r.t.mismatches ? "  FAILED" : "");
	if (a->state_path)
		fprintf(o, "  state: %s (%llu blocks were durable at the start)\n", a->state_path,
			(unsigned long long)a->state_loaded);
	free(r.lat);
}

static void json_lat(FILE *o, const struct hist *h)
{
	fprintf(o, ",\"lat_ns\":{\"p50\":%" PRIu64 ",\"p90\":%" PRIu64 ",\"p99\":%" PRIu64
		   ",\"p99_9\":%" PRIu64 ",\"max\":%" PRIu64 ",\"mean\":%.0f}",
		hist_percentile(h, 50), hist_percentile(h, 90), hist_percentile(h, 99),
		hist_percentile(h, 99.9), h->max, hist_mean(h));
}

void blk_json(FILE *o, void *ctx)
{
	struct blk_app *a = ctx;
	struct blk_result r;
	struct weir_blk_xstat xs[32];
	int n;

	result(a, &r);
	fputs("{\"app\":\"weir-blk\",\"spec\":", o);
	report_json_str(o, a->spec);
	fprintf(o, ",\"rw\":\"%s\",\"bs\":%u,\"iodepth\":%u,\"jobs\":%u,\"wait\":%s,\"runtime_s\":%.3f",
		a->verify_only ? "verify-only" : rw_names[a->rw], a->bs, a->iodepth, a->base.queues,
		(a->info.features & WEIR_BLK_F_WAIT) ? "true" : "false", r.secs);
	fprintf(o, ",\"finished\":%s,\"iops\":%.0f,\"mbps\":%.2f", r.done ? "true" : "false",
		(double)r.ios / r.secs,
		(double)(r.t.read_bytes + r.t.write_bytes) / r.secs / 1e6);
	fprintf(o, ",\"read\":{\"ios\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"iops\":%.0f}",
		r.t.reads, r.t.read_bytes, (double)r.t.reads / r.secs);
	fprintf(o, ",\"write\":{\"ios\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"iops\":%.0f}"
		   ",\"flushes\":%" PRIu64, r.t.writes, r.t.write_bytes,
		(double)r.t.writes / r.secs, r.flushes);
	if (r.done && r.lat)
		json_lat(o, r.lat);
	fprintf(o, ",\"cpu_ns_per_io\":%.0f,\"proc_cpu_ns_per_io\":%.0f", per_io(r.cpu_s, r.ios),
		per_io(r.proc_s, r.ios));
	fprintf(o, ",\"verify\":{\"on\":%s,\"blocks\":%" PRIu64 ",\"mismatches\":%" PRIu64
		   ",\"durable_at_start\":%" PRIu64 "}",
		a->verify || a->pattern_len ? "true" : "false", r.verified, r.t.mismatches,
		a->state_loaded);
	n = weir_blk_xstats_get(a->dev, xs, 32);
	fputs(",\"xstats\":{", o);
	for (int i = 0; i < n && i < 32; i++) {
		fputs(i ? "," : "", o);
		report_json_str(o, xs[i].name);
		fprintf(o, ":%" PRIu64, xs[i].value);
	}
	fputs("}}\n", o);
	free(r.lat);
}
