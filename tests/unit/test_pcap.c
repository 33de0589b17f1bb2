// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the pcap: driver (pmd/pcap.c, pmd/pcap_write.c) through
 * weir/port.h: spec errors as a person reads them; writing frames (single
 * buffers and chains) in pcapng and classic pcap, read back with libpcap
 * (count, bytes, nanosecond timestamps that never go back); replaying
 * files libpcap wrote, at full speed, looped, at a fixed rate and at the
 * file's timing, with frames longer than a pool buffer arriving as chains;
 * damaged and foreign files refused or read up to the damage; a write
 * cut short by a file size limit leaving a dead port and a clean file.
 * fini fails when a packet buffer leaked.
 */
#include <criterion/criterion.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weir/lcore.h"
#include "weir/pkt.h"
#include "weir/port.h"

static struct weir_pool *pool;
static struct weir_port_conf conf;
static char dir[64];

static void init(void)
{
	int err;

	weir_lcore_set_id(WEIR_LCORE_ANY);
	err = weir_pool_create(&(struct weir_pool_conf){.name = "pcap", .n = 1024, .huge = 2},
			       &pool);
	cr_assert_eq(err, 0, "pool: %d", err);
	conf = (struct weir_port_conf){.pool = pool};
	snprintf(dir, sizeof(dir), "/tmp/weir-pcap-%d", (int)getpid());
	cr_assert_eq(mkdir(dir, 0755), 0);
}

static void fini(void)
{
	char cmd[128];
	uint32_t left;

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", dir);
	for (uint32_t i = 0; i < WEIR_MAX_LCORE; i++)
		weir_pool_cache_flush(pool, i);
	left = weir_pool_in_use(pool);
	weir_pool_destroy(pool);
	if (left) {
		cr_log_error("leaked %u packet buffers", left);
		abort();
	}
}

TestSuite(pcap, .init = init, .fini = fini, .timeout = 60);

static const char *path_of(const char *name)
{
	static char p[2][128];
	static int k;

	k ^= 1;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static int try_open(const char *spec, struct weir_port **port, char *why)
{
	return weir_port_open(spec, &conf, port, why, 256);
}

/* Opens pcap:PATH followed by args ("?mode=w", or ""). */
static struct weir_port *open_ok(const char *path, const char *args)
{
	char spec[256], why[256];
	struct weir_port *port;
	int err;

	snprintf(spec, sizeof(spec), "pcap:%s%s", path, args);
	err = try_open(spec, &port, why);
	cr_assert_eq(err, 0, "%s: %d %s", spec, err, why);
	return port;
}

static void fill(uint8_t *d, int pkt, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		d[i] = (uint8_t)(pkt * 7 + i);
}

static uint32_t frame_len(int i)
{
	return 60 + (uint32_t)(i * 53) % 1400;
}

/* A classic pcap file written by libpcap itself: n frames, i-th of
 * frame_len(i) bytes (or len when not 0), gap_ns apart. */
static void write_classic(const char *path, int n, uint32_t len, uint64_t gap_ns)
{
	pcap_t *dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144,
							    PCAP_TSTAMP_PRECISION_NANO);
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	static uint8_t buf[70000];

	cr_assert_not_null(d, "%s", pcap_geterr(dead));
	for (int i = 0; i < n; i++) {
		uint64_t t = 1700000000ull * 1000000000ull + (uint64_t)i * gap_ns;
		struct pcap_pkthdr h = {.caplen = len ? len : frame_len(i)};

		h.len = h.caplen;
		h.ts.tv_sec = (time_t)(t / 1000000000ull);
		h.ts.tv_usec = (suseconds_t)(t % 1000000000ull);
		fill(buf, i, h.caplen);
		pcap_dump((u_char *)d, &h, buf);
	}
	pcap_dump_close(d);
	pcap_close(dead);
}

static uint64_t xstat(struct weir_port *port, const char *name);

/* True while the drain should go on: frames came within quiet_ms, or the
 * replay has not ended (a test descheduled for longer than quiet_ms must
 * not stop early), for at most 10 s of quiet. */
static bool drain_more(struct weir_port *port, weir_ns_t last, int quiet_ms)
{
	weir_ns_t quiet = weir_clock_now() - last;

	if (quiet < (weir_ns_t)quiet_ms * WEIR_NS_PER_MS)
		return true;
	return !xstat(port, "replay_done") && quiet < 10 * WEIR_NS_PER_SEC;
}

/* Receives everything a replay port hands out (until it has been quiet
 * for quiet_ms and the replay has ended), checking each frame's bytes
 * against frame i of a file of per_pass frames (0: one pass); returns the
 * count. */
static int drain_passes(struct weir_port *port, int quiet_ms, uint32_t len, int per_pass)
{
	struct weir_pkt *pkts[32];
	uint8_t *buf = malloc(70000);
	weir_ns_t last = weir_clock_now();
	int n = 0;

	while (drain_more(port, last, quiet_ms)) {
		uint16_t got = weir_port_rx_burst(port, 0, pkts, 32);

		if (got)
			last = weir_clock_now();
		for (uint16_t i = 0; i < got; i++, n++) {
			int k = per_pass ? n % per_pass : n;
			uint32_t want = len ? len : frame_len(k);
			uint8_t *ref = malloc(want);

			cr_assert_eq(pkts[i]->pkt_len, want, "frame %d length", n);
			cr_assert_eq(weir_pkt_copy_out(pkts[i], 0, want, buf), 0);
			fill(ref, k, want);
			cr_assert_eq(memcmp(buf, ref, want), 0, "frame %d bytes", n);
			free(ref);
		}
		weir_pkt_free_bulk(pkts, got);
	}
	free(buf);
	return n;
}

static int drain(struct weir_port *port, int quiet_ms, uint32_t len)
{
	return drain_passes(port, quiet_ms, len, 0);
}

/* Elapsed time less how late the driver ran at worst (never below 0). */
static weir_ns_t less_lateness(struct weir_port *port, weir_ns_t el)
{
	uint64_t late = xstat(port, "replay_dev_max_ns");

	return el > late ? el - late : 0;
}

static uint64_t xstat(struct weir_port *port, const char *name)
{
	struct weir_xstat xs[32];
	int n = weir_port_xstats_get(port, xs, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (!strcmp(xs[i].name, name))
			return xs[i].value;
	cr_assert_fail("no xstat %s", name);
	return 0;
}

/* --- specs ------------------------------------------------------------------ */

Test(pcap, spec_errors_name_the_fix)
{
	struct weir_port *port;
	char why[256], spec[256];

	write_classic(path_of("ok.pcap"), 3, 0, 1000);
	snprintf(spec, sizeof(spec), "pcap:%s?speeed=2", path_of("ok.pcap"));
	cr_assert_eq(try_open(spec, &port, why), -EINVAL);
	cr_assert(strstr(why, "unknown key 'speeed'") && strstr(why, "speed, pps, loop"), "%s",
		  why);
	snprintf(spec, sizeof(spec), "pcap:%s?speed=fast", path_of("ok.pcap"));
	cr_assert_eq(try_open(spec, &port, why), -EINVAL);
	cr_assert(strstr(why, "or max"), "%s", why);
	snprintf(spec, sizeof(spec), "pcap:%s?speed=2&pps=100", path_of("ok.pcap"));
	cr_assert_eq(try_open(spec, &port, why), -EINVAL);
	cr_assert(strstr(why, "do not go together"), "%s", why);
	snprintf(spec, sizeof(spec), "pcap:%s?mode=x", path_of("ok.pcap"));
	cr_assert_eq(try_open(spec, &port, why), -EINVAL);
	cr_assert(strstr(why, "valid: r|w"), "%s", why);
	snprintf(spec, sizeof(spec), "pcap:%s?snaplen=100", path_of("ok.pcap"));
	cr_assert_eq(try_open(spec, &port, why), -EINVAL);
	cr_assert(strstr(why, "snaplen= is for mode=w"), "%s", why);
	snprintf(spec, sizeof(spec), "pcap:%s?mode=w&loop=2", path_of("w.pcapng"));
	cr_assert_eq(try_open(spec, &port, why), -EINVAL);
	cr_assert(strstr(why, "loop= is for replay"), "%s", why);
	cr_assert_eq(try_open("pcap:", &port, why), -EINVAL);
	cr_assert(strstr(why, "needs a file"), "%s", why);
}

Test(pcap, bad_files_are_refused_clearly)
{
	struct weir_port *port;
	char why[256], spec[256];
	FILE *f;

	snprintf(spec, sizeof(spec), "pcap:%s", path_of("missing.pcap"));
	cr_assert_eq(try_open(spec, &port, why), -ENOENT);
	cr_assert(strstr(why, "missing.pcap") && strstr(why, "No such file"), "%s", why);

	f = fopen(path_of("text.pcap"), "w");
	fputs("this is a text file, not a capture\n", f);
	fclose(f);
	snprintf(spec, sizeof(spec), "pcap:%s", path_of("text.pcap"));
	cr_assert_eq(try_open(spec, &port, why), -EINVAL);
	cr_assert(strstr(why, "not a capture file"), "%s", why);

	f = fopen(path_of("empty.pcap"), "w");
	fclose(f);
	snprintf(spec, sizeof(spec), "pcap:%s", path_of("empty.pcap"));
	cr_assert_eq(try_open(spec, &port, why), -EINVAL);
	cr_assert(strstr(why, "truncated"), "%s", why);

	/* Linux cooked capture: not Ethernet. */
	pcap_t *dead = pcap_open_dead(DLT_LINUX_SLL, 65535);
	pcap_dumper_t *d = pcap_dump_open(dead, path_of("sll.pcap"));

	pcap_dump_close(d);
	pcap_close(dead);
	snprintf(spec, sizeof(spec), "pcap:%s", path_of("sll.pcap"));
	cr_assert_eq(try_open(spec, &port, why), -EINVAL);
	cr_assert(strstr(why, "LINUX_SLL") && strstr(why, "Ethernet"), "%s", why);
}

Test(pcap, truncated_file_is_read_up_to_the_damage)
{
	const char *p = path_of("cut.pcap");
	struct weir_port *port;
	struct stat st;

	write_classic(p, 10, 100, 1000);
	cr_assert_eq(stat(p, &st), 0);
	/* 24-byte header, 10 x (16 + 100): cut the 8th record in half. */
	cr_assert_eq(truncate(p, 24 + 7 * 116 + 60), 0);
	port = open_ok(p, "?speed=max");
	cr_assert_eq(drain(port, 20, 100), 7);
	cr_assert_eq(xstat(port, "replay_damaged"), 1);
	cr_assert_eq(xstat(port, "replay_done"), 1);
	weir_port_close(port);
}

/* --- replay ------------------------------------------------------------------ */

Test(pcap, replay_full_speed_and_loops)
{
	const char *p = path_of("in.pcap");
	struct weir_port *port;

	write_classic(p, 40, 0, 1000000000); /* a second apart: max ignores it */
	port = open_ok(p, "?speed=max&loop=3");
	cr_assert_eq(drain_passes(port, 20, 0, 40), 120, "3 passes");
	cr_assert_eq(xstat(port, "replay_frames"), 120);
	cr_assert_eq(xstat(port, "replay_passes"), 3);
	weir_port_close(port);
}

Test(pcap, long_frames_arrive_as_chains)
{
	const char *p = path_of("jumbo.pcap");
	struct weir_pkt *pkts[4];
	struct weir_port *port;
	uint16_t got = 0;

	write_classic(p, 2, 9000, 1000);
	port = open_ok(p, "?speed=max");
	while (got < 2)
		got += weir_port_rx_burst(port, 0, pkts + got, (uint16_t)(2 - got));
	for (int i = 0; i < 2; i++) {
		uint8_t buf[9000], ref[9000];

		cr_assert_gt(pkts[i]->nb_segs, 1, "9000 bytes in 2048-byte buffers");
		cr_assert_eq(pkts[i]->pkt_len, 9000);
		weir_pkt_copy_out(pkts[i], 0, 9000, buf);
		fill(ref, i, 9000);
		cr_assert_eq(memcmp(buf, ref, 9000), 0);
	}
	weir_pkt_free_bulk(pkts, 2);
	weir_port_close(port);
}

Test(pcap, replay_keeps_the_file_timing)
{
	const char *p = path_of("gaps.pcap");
	struct weir_port *port;
	weir_ns_t t0 = weir_clock_now(), el;

	write_classic(p, 21, 0, 5 * WEIR_NS_PER_MS); /* 100 ms of file */
	port = open_ok(p, "");
	cr_assert_eq(drain(port, 30, 0), 21);
	el = weir_clock_now() - t0 - 30 * WEIR_NS_PER_MS;
	cr_assert_geq(el, 100 * WEIR_NS_PER_MS, "finished in %llu ns", (unsigned long long)el);
	/* Upper bounds leave out how late the driver itself ran (its max
	 * deviation from the schedule): a test process descheduled by
	 * parallel suites must not read as replay at the wrong speed. */
	el = less_lateness(port, el);
	cr_assert_lt(el, 400 * WEIR_NS_PER_MS, "took %llu ns", (unsigned long long)el);
	cr_assert_lt(xstat(port, "replay_dev_p99_ns"), 50 * WEIR_NS_PER_MS,
		     "p99 deviation %llu ns", (unsigned long long)xstat(port, "replay_dev_p99_ns"));
	cr_assert_geq(xstat(port, "replay_dev_max_ns"), xstat(port, "replay_dev_p50_ns"));
	weir_port_close(port);
	/* Twice as fast: half the time. */
	t0 = weir_clock_now();
	port = open_ok(p, "?speed=2");
	cr_assert_eq(drain(port, 30, 0), 21);
	el = weir_clock_now() - t0 - 30 * WEIR_NS_PER_MS;
	cr_assert_geq(el, 50 * WEIR_NS_PER_MS);
	el = less_lateness(port, el);
	cr_assert_lt(el, 100 * WEIR_NS_PER_MS, "speed=2 took %llu ns", (unsigned long long)el);
	weir_port_close(port);
}

/* Regression: the second pass of a loop started at the file's own time
 * after the first, not that time divided by speed=. */
Test(pcap, loop_offset_ignored_speed)
{
	const char *p = path_of("loopspeed.pcap");
	struct weir_port *port;
	weir_ns_t t0 = weir_clock_now(), el;

	write_classic(p, 21, 0, 5 * WEIR_NS_PER_MS); /* 100 ms, next pass at 105 */
	port = open_ok(p, "?speed=2&loop=2");
	cr_assert_eq(drain_passes(port, 30, 0, 21), 42);
	el = weir_clock_now() - t0 - 30 * WEIR_NS_PER_MS;
	/* (105 + 100) / 2 = 102.5 ms; the bug made it 105 + 50. */
	cr_assert_geq(el, 100 * WEIR_NS_PER_MS, "took %llu ns", (unsigned long long)el);
	el = less_lateness(port, el);
	cr_assert_lt(el, 145 * WEIR_NS_PER_MS, "took %llu ns", (unsigned long long)el);
	weir_port_close(port);
}

Test(pcap, replay_at_fixed_pps)
{
	const char *p = path_of("pps.pcap");
	struct weir_port *port;
	weir_ns_t t0 = weir_clock_now(), el;

	write_classic(p, 11, 0, 1); /* a ns apart in the file: pps decides */
	port = open_ok(p, "?pps=200");
	cr_assert_eq(drain(port, 30, 0), 11);
	el = weir_clock_now() - t0 - 30 * WEIR_NS_PER_MS;
	cr_assert_geq(el, 50 * WEIR_NS_PER_MS, "10 gaps of 5 ms: took %llu ns",
		      (unsigned long long)el);
	weir_port_close(port);
}

/* --- writing ------------------------------------------------------------------ */

static struct weir_pkt *make_pkt(int i, uint32_t len)
{
	struct weir_pkt *head = weir_pkt_alloc(pool);
	uint8_t *ref = malloc(len);
	uint32_t off = 0;

	fill(ref, i, len);
	while (off < len) {
		uint32_t n = WEIR_MIN(len - off, 1000u); /* chains past 1000 bytes */

		if (off)
			cr_assert_eq(weir_pkt_chain(head, weir_pkt_alloc(pool)), 0);
		memcpy(weir_pkt_put(head, (uint16_t)n), ref + off, n);
		off += n;
	}
	free(ref);
	return head;
}

static void send_frames(struct weir_port *port, int n)
{
	for (int i = 0; i < n; i++) {
		struct weir_pkt *p = make_pkt(i, frame_len(i));

		cr_assert_eq(weir_port_tx_burst(port, 0, &p, 1), 1);
	}
}

static int read_back(const char *path, int *clean)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
							      errbuf);
	struct pcap_pkthdr *h;
	const u_char *d;
	uint64_t last = 0;
	int n = 0, r;

	cr_assert_not_null(pc, "%s: %s", path, errbuf);
	while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
		uint64_t t = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
		uint8_t ref[1500];

		cr_assert_eq(h->caplen, frame_len(n), "frame %d", n);
		fill(ref, n, h->caplen);
		cr_assert_eq(memcmp(d, ref, h->caplen), 0, "frame %d bytes", n);
		cr_assert_geq(t, last, "timestamps never go back");
		cr_assert_gt(t, 1600000000ull * 1000000000ull, "wall clock, in ns");
		last = t;
		n++;
	}
	*clean = r == -2;
	pcap_close(pc);
	return n;
}

Test(pcap, write_pcapng_and_pcap_read_back)
{
	static const char *const fmts[] = {"?mode=w", "?mode=w&format=pcap"};

	for (int k = 0; k < 2; k++) {
		const char *p = path_of(k ? "out.pcap" : "out.pcapng");
		struct weir_port *port = open_ok(p, fmts[k]);
		int clean;

		send_frames(port, 300);
		cr_assert_eq(xstat(port, "write_frames"), 300);
		weir_port_close(port);
		cr_assert_eq(read_back(p, &clean), 300, "%s", p);
		cr_assert(clean, "%s ends on a complete record", p);
	}
}

Test(pcap, written_file_replays_the_same)
{
	const char *p = path_of("rt.pcapng");
	struct weir_port *port = open_ok(p, "?mode=w");

	send_frames(port, 100);
	weir_port_close(port);
	port = open_ok(p, "?speed=max");
	cr_assert_eq(drain(port, 20, 0), 100);
	weir_port_close(port);
}

/* Every stats_ms the buffer reaches the file (behind an ISB in pcapng):
 * a process killed before close loses at most that much. */
Test(pcap, periodic_flush_reaches_the_file)
{
	static const char *const args[] = {"?mode=w&stats_ms=1", "?mode=w&format=pcap&stats_ms=1"};

	for (int k = 0; k < 2; k++) {
		const char *p = path_of(k ? "tick.pcap" : "tick.pcapng");
		struct weir_port *port = open_ok(p, args[k]);
		struct weir_pkt *last;
		int clean;

		send_frames(port, 20);
		usleep(2000);
		last = make_pkt(20, frame_len(20));
		cr_assert_eq(weir_port_tx_burst(port, 0, &last, 1), 1); /* the tick comes with a burst */
		cr_assert_eq(read_back(p, &clean), 21, "%s: on disk before close", p);
		cr_assert(clean);
		if (!k)
			cr_assert_geq(xstat(port, "write_isb_blocks"), 1);
		weir_port_close(port);
	}
}

Test(pcap, unwritable_path_is_refused)
{
	struct weir_port *port;
	char why[256];

	cr_assert_eq(try_open("pcap:/nonexistent-dir/x.pcapng?mode=w", &port, why), -ENOENT);
	cr_assert(strstr(why, "/nonexistent-dir/x.pcapng"), "%s", why);
	cr_assert_eq(try_open("pcap:/dev/full?mode=w", &port, why), -ENOSPC);
	cr_assert(strstr(why, "/dev/full") && strstr(why, "No space left"), "%s", why);
	cr_assert_eq(try_open("pcap:/dev/full?mode=w&format=pcap", &port, why), -ENOSPC);
	cr_assert(strstr(why, "/dev/full"), "%s", why);
}

/* The file system fills up mid-capture (a file size limit here: the
 * kernel takes part of a write, then refuses): the port dies once, drops
 * what follows, and the file reads cleanly up to its last whole block. */
static void full_disk(const char *args, const char *name)
{
	const char *p = path_of(name);
	struct rlimit rl = {.rlim_cur = 200000, .rlim_max = RLIM_INFINITY};
	struct weir_port *port;
	int clean, n;

	signal(SIGXFSZ, SIG_IGN);
	port = open_ok(p, args);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	send_frames(port, 1000);
	cr_assert(weir_port_is_dead(port), "the port stopped");
	cr_assert_eq(xstat(port, "write_failed"), 1);
	cr_assert_gt(xstat(port, "write_dropped"), 0);
	weir_port_close(port);
	n = read_back(p, &clean);
	cr_assert(clean, "%s: ends on a complete block after %d frames", name, n);
	cr_assert_gt(n, 100, "what fit is there: %d frames", n);
}

Test(pcap, full_disk_pcapng)
{
	full_disk("?mode=w", "full.pcapng");
}

Test(pcap, full_disk_pcap)
{
	full_disk("?mode=w&format=pcap", "full.pcap");
}
