// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for weir-cap's output (apps/cap/out.c, files.c) and filter
 * (filter.c), without lcores: frames written through the writev path are
 * read back with libpcap (count, bytes, wire and captured lengths,
 * nanosecond timestamps) in both formats; a chain is written from its
 * segments and cut at the snaplen; a write cut short by RLIMIT_FSIZE
 * leaves a file of complete blocks and counts only the frames in them;
 * rotated names carry the sequence and the -G boundary; -W removes the
 * oldest file; the filter matches a chain whose head is shorter than the
 * headers it reads (the linearised path) as it matches the flat frame.
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
#include "weir/pool.h"

#include "cap/cap.h"

TestSuite(cap, .timeout = 60);

static struct weir_pool *pool;

static void setup_pool(void)
{
	weir_lcore_set_id(WEIR_LCORE_ANY);
	cr_assert_eq(weir_pool_create(&(struct weir_pool_conf){.n = 512, .huge = 2}, &pool), 0);
}

static void check_pool(void)
{
	weir_pool_cache_flush(pool, WEIR_LCORE_ANY);
	cr_assert_eq(weir_pool_in_use(pool), 0, "packets leaked: %u", weir_pool_in_use(pool));
	weir_pool_destroy(pool);
}

/* A UDP/IPv4 frame to port dport, len bytes, byte i of the payload = seed + i. */
static void udp_frame(uint8_t *f, uint32_t len, uint16_t dport, uint8_t seed)
{
	memset(f, 0, len);
	f[12] = 0x08;
	f[14] = 0x45;
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
	f[22] = 64;
	f[23] = 17;
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	for (uint32_t i = 42; i < len; i++)
		f[i] = (uint8_t)(seed + i);
}

/* A packet of f's len bytes, in segments of seg bytes (0: one segment). */
static struct weir_pkt *make_pkt(const uint8_t *f, uint32_t len, uint32_t seg, weir_ns_t ts)
{
	struct weir_pkt *head = NULL;

	for (uint32_t off = 0; off < len;) {
		uint32_t n = seg && len - off > seg ? seg : len - off;
		struct weir_pkt *p = weir_pkt_alloc(pool);

		cr_assert_not_null(p);
		memcpy(weir_pkt_put(p, (uint16_t)n), f + off, n);
		if (head)
			cr_assert_eq(weir_pkt_chain(head, p), 0);
		else
			head = p;
		off += n;
	}
	head->timestamp = ts;
	head->udata64 = CAP_META(0, WEIR_PCAPNG_DIR_IN);
	return head;
}

static void out_init(struct cap_out *o, const char *path, enum cap_format fmt, uint32_t snaplen)
{
	static const char *names[] = {"port0"};

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->format = fmt;
	o->path = path;
	o->snaplen = snaplen;
	o->nifs = 1;
	o->ifnames[0] = names[0];
}

static char *tmp_path(const char *tag)
{
	static char p[128];

	snprintf(p, sizeof(p), "/tmp/weir-test-cap-%d-%s", getpid(), tag);
	return p;
}

/* Reads path with libpcap: frames, and the first ones' lengths and bytes. */
static int read_back(const char *path, uint32_t *caplen, uint32_t *len, uint64_t *ts,
		     uint8_t (*data)[2048], int max)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
	struct pcap_pkthdr *h;
	const u_char *d;
	int n = 0, r;

	cr_assert_not_null(p, "libpcap cannot read %s: %s", path, err);
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		if (n < max) {
			caplen[n] = h->caplen;
			len[n] = h->len;
			ts[n] = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
			memcpy(data[n], d, h->caplen < 2048 ? h->caplen : 2048);
		}
		n++;
	}
	cr_assert_eq(r, PCAP_ERROR_BREAK, "libpcap stops at frame %d: %s", n, pcap_geterr(p));
	pcap_close(p);
	return n;
}

static void write_and_read(enum cap_format fmt)
{
	char *path = tmp_path(fmt == CAP_FMT_PCAP ? "rb.pcap" : "rb.pcapng");
	static uint8_t got[4][2048];
	uint8_t f[3][1500];
	uint32_t lens[3] = {60, 1500, 333}, cl[4], wl[4];
	uint64_t ts[4];
	struct cap_out o;

	setup_pool();
	out_init(&o, path, fmt, 1000);
	cr_assert_eq(cap_files_open(&o, 1), 0, "%s", o.errmsg);
	cr_assert_eq(cap_out_start(&o, 1), 0);
	for (int i = 0; i < 3; i++) {
		udp_frame(f[i], lens[i], 53, (uint8_t)i);
		/* The second frame is a chain of 100-byte segments. */
		cr_assert_eq(cap_out_frame(&o, make_pkt(f[i], lens[i], i == 1 ? 100 : 0,
							1700000000123456789ull + (uint64_t)i)), 0);
	}
	cap_out_finish(&o);
	cr_assert_eq(o.err, 0, "%s", o.errmsg);
	cr_assert_eq(o.frames, 3);
	cr_assert_eq(read_back(path, cl, wl, ts, got, 4), 3);
	for (int i = 0; i < 3; i++) {
		uint32_t want = lens[i] < 1000 ? lens[i] : 1000;

		cr_assert_eq(cl[i], want, "frame %d: caplen %u, want %u", i, cl[i], want);
		cr_assert_eq(wl[i], lens[i], "frame %d: wire length %u", i, wl[i]);
		cr_assert_eq(ts[i], 1700000000123456789ull + (uint64_t)i, "frame %d: ts %llu", i,
			     (unsigned long long)ts[i]);
		cr_assert_eq(memcmp(got[i], f[i], want), 0, "frame %d: bytes differ", i);
	}
	check_pool();
	unlink(path);
}

Test(cap, pcapng_reads_back_with_libpcap)
{
	write_and_read(CAP_FMT_PCAPNG);
}

Test(cap, pcap_reads_back_with_libpcap)
{
	write_and_read(CAP_FMT_PCAP);
}

/* The disk fills in the middle of a batch: complete blocks stay, the
 * frames counted are the ones in them, nothing more is written. */
Test(cap, torn_write_keeps_complete_blocks)
{
	char *path = tmp_path("torn.pcapng");
	struct rlimit rl = {.rlim_cur = 20000, .rlim_max = RLIM_INFINITY};
	static uint8_t got[1][2048];
	uint32_t cl[1], wl[1];
	uint64_t ts[1];
	uint8_t f[700];
	struct cap_out o;
	struct stat st;
	int n;

	setup_pool();
	signal(SIGXFSZ, SIG_IGN);
	out_init(&o, path, CAP_FMT_PCAPNG, 262144);
	cr_assert_eq(cap_files_open(&o, 1), 0);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	cr_assert_eq(cap_out_start(&o, 1), 0);
	udp_frame(f, sizeof(f), 9, 1);
	for (int i = 0; i < 100; i++)
		cap_out_frame(&o, make_pkt(f, sizeof(f), 0, 1000 + (uint64_t)i));
	cap_out_finish(&o);
	cr_assert_eq(o.err, -EFBIG, "the limit must be hit: %d", o.err);
	cr_assert(strstr(o.errmsg, path) && strstr(o.errmsg, "write failed"), "%s", o.errmsg);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_lt(st.st_size, 20000);
	cr_assert_eq((uint64_t)st.st_size, o.off, "file %lld bytes, writer says %llu",
		     (long long)st.st_size, (unsigned long long)o.off);
	n = read_back(path, cl, wl, ts, got, 1);
	cr_assert_eq((uint64_t)n, o.frames, "file holds %d frames, %llu counted", n,
		     (unsigned long long)o.frames);
	cr_assert_gt(n, 10);
	check_pool();
	unlink(path);
}

Test(cap, rotated_names_and_ring)
{
	char dir[64], path[128], want[256];
	struct cap_out o;
	struct stat st;

	snprintf(dir, sizeof(dir), "/tmp/weir-test-cap-%d-rot", getpid());
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/x.pcapng", dir);
	out_init(&o, path, CAP_FMT_PCAPNG, 100);
	o.named = true;
	o.rot_ns = 60 * WEIR_NS_PER_SEC;
	o.ring_files = 2;
	/* 2026-12-01 10:00:30 UTC: the file starts at the minute. */
	cr_assert_eq(cap_files_open(&o, 1796119230ull * WEIR_NS_PER_SEC), 0, "%s", o.errmsg);
	snprintf(want, sizeof(want), "%s/x_00001_20261201100000.pcapng", dir);
	cr_assert_str_eq(o.name, want);
	cr_assert_eq(o.next_rot, 1796119260ull * WEIR_NS_PER_SEC);
	cap_files_close(&o);
	cr_assert_eq(cap_files_open(&o, 1796119260ull * WEIR_NS_PER_SEC), 0);
	cap_files_close(&o);
	cr_assert_eq(cap_files_open(&o, 1796119320ull * WEIR_NS_PER_SEC), 0);
	cap_files_close(&o);
	cr_assert_neq(stat(want, &st), 0, "-W 2: the first file must be gone");
	snprintf(want, sizeof(want), "%s/x_00003_20261201100200.pcapng", dir);
	cr_assert_eq(stat(want, &st), 0, "no %s", want);
	snprintf(want, sizeof(want), "%s/x_00002_20261201100100.pcapng", dir);
	cr_assert_eq(stat(want, &st), 0, "no %s", want);
	unlink(want);
	snprintf(want, sizeof(want), "%s/x_00003_20261201100200.pcapng", dir);
	unlink(want);
	cap_files_free(&o);
	rmdir(dir);
}

Test(cap, filter_chain_head_shorter_than_headers)
{
	struct cap_filter flt;
	uint8_t f[200], *scratch = malloc(262144);
	struct weir_pkt *flat, *chain, *other;
	char why[256];

	setup_pool();
	cr_assert_eq(cap_filter_compile(&flt, "udp dst port 53", 262144, why, sizeof(why)), 0,
		     "%s", why);
	udp_frame(f, sizeof(f), 53, 0);
	flat = make_pkt(f, sizeof(f), 0, 1);
	chain = make_pkt(f, sizeof(f), 20, 1); /* the UDP header is in the third segment */
	udp_frame(f, sizeof(f), 54, 0);
	other = make_pkt(f, sizeof(f), 20, 1);
	cr_assert(cap_filter_match(&flt, flat, 262144, scratch));
	cr_assert(cap_filter_match(&flt, chain, 262144, scratch), "the linearised head matches");
	cr_assert_not(cap_filter_match(&flt, other, 262144, scratch));
	/* With a 30-byte snaplen the filter cannot see the port: no match. */
	cr_assert_not(cap_filter_match(&flt, chain, 30, scratch));
	weir_pkt_free(flat);
	weir_pkt_free(chain);
	weir_pkt_free(other);
	cap_filter_free(&flt);
	cr_assert_eq(cap_filter_compile(&flt, "udp port", 262144, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "'udp port'") && strstr(why, "pcap-filter"), "%s", why);
	cr_assert_eq(cap_filter_compile(&flt, "  ", 262144, why, sizeof(why)), 0);
	cr_assert_not(flt.compiled, "an empty expression matches everything");
	free(scratch);
	check_pool();
}
