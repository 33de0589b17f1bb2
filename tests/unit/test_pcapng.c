// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the pcapng writer (src/pcapng.c). The encoders are
 * checked word by word against the block layouts of the pcapng spec
 * (draft-ietf-opsawg-pcapng sections 4.1, 4.2, 4.3, 4.6): block type,
 * total length at both ends, fixed fields, each option's code, length,
 * value and zero padding to 32 bits, opt_endofopt. The writer is checked
 * by reading its files back with libpcap (count, bytes, nanosecond
 * timestamps), on a descriptor that refuses writes (/dev/full), and on a
 * file whose size limit cuts a write in the middle of a block: the file
 * must still end on a complete block.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weir/lcore.h"
#include "weir/pcapng.h"

TestSuite(pcapng, .timeout = 60);

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Checks the frame every block shares; returns its length. */
static uint32_t check_block(const uint8_t *b, int n, uint32_t type)
{
	cr_assert_gt(n, 0, "encoder failed: %d", n);
	cr_assert_eq(n % 4, 0, "block length %d is not a multiple of 4", n);
	cr_assert_eq(rd32(b), type, "block type 0x%08x, want 0x%08x", rd32(b), type);
	cr_assert_eq(rd32(b + 4), (uint32_t)n, "leading length %u, block is %d", rd32(b + 4), n);
	cr_assert_eq(rd32(b + n - 4), (uint32_t)n, "trailing length %u, block is %d",
		     rd32(b + n - 4), n);
	return (uint32_t)n;
}

/* Checks one option at *off and moves past it (padding checked zero). */
static const uint8_t *check_opt(const uint8_t *b, size_t *off, uint16_t code, uint16_t len)
{
	const uint8_t *o = b + *off;
	size_t padded = (len + 3u) & ~3u;

	cr_assert_eq(rd16(o), code, "option code %u at %zu, want %u", rd16(o), *off, code);
	cr_assert_eq(rd16(o + 2), len, "option %u length %u, want %u", code, rd16(o + 2), len);
	for (size_t i = len; i < padded; i++)
		cr_assert_eq(o[4 + i], 0, "option %u padding byte %zu is %u", code, i, o[4 + i]);
	*off += 4 + padded;
	return o + 4;
}

Test(pcapng, shb_layout)
{
	uint8_t b[128];
	size_t off = 24;
	int n = weir_pcapng_encode_shb(b, sizeof(b), "weir-test");

	check_block(b, n, WEIR_PCAPNG_SHB);
	cr_assert_eq(rd32(b + 8), 0x1A2B3C4D);
	cr_assert_eq(rd16(b + 12), 1, "major version");
	cr_assert_eq(rd16(b + 14), 0, "minor version");
	cr_assert_eq((int64_t)rd64(b + 16), -1, "section length unknown");
	cr_assert_eq(memcmp(check_opt(b, &off, 4, 9), "weir-test", 9), 0);
	check_opt(b, &off, 0, 0);
	cr_assert_eq(off + 4, (size_t)n, "nothing between opt_endofopt and the length");
	/* No options: no opt_endofopt either. */
	n = weir_pcapng_encode_shb(b, sizeof(b), NULL);
	cr_assert_eq(check_block(b, n, WEIR_PCAPNG_SHB), 28);
	cr_assert_eq(weir_pcapng_encode_shb(b, 27, NULL), -ENOSPC);
}

Test(pcapng, idb_layout)
{
	uint8_t b[128];
	size_t off = 16;
	int n = weir_pcapng_encode_idb(b, sizeof(b),
				       &(struct weir_pcapng_if){.name = "veth0", .snaplen = 1600});

	check_block(b, n, WEIR_PCAPNG_IDB);
	cr_assert_eq(rd16(b + 8), 1, "LINKTYPE_ETHERNET by default");
	cr_assert_eq(rd16(b + 10), 0, "reserved");
	cr_assert_eq(rd32(b + 12), 1600, "snaplen");
	cr_assert_eq(memcmp(check_opt(b, &off, 2, 5), "veth0", 5), 0, "if_name");
	cr_assert_eq(*check_opt(b, &off, 9, 1), 9, "if_tsresol: nanoseconds");
	check_opt(b, &off, 0, 0);
	cr_assert_eq(off + 4, (size_t)n);
	/* No name, default snaplen, another link type. */
	off = 16;
	n = weir_pcapng_encode_idb(b, sizeof(b), &(struct weir_pcapng_if){.linktype = 113});
	check_block(b, n, WEIR_PCAPNG_IDB);
	cr_assert_eq(rd16(b + 8), 113);
	cr_assert_eq(rd32(b + 12), WEIR_PCAPNG_SNAPLEN_DEFAULT);
	cr_assert_eq(*check_opt(b, &off, 9, 1), 9);
	check_opt(b, &off, 0, 0);
	cr_assert_eq(off + 4, (size_t)n);
	cr_assert_eq(weir_pcapng_encode_idb(b, 20, &(struct weir_pcapng_if){0}), -ENOSPC);
}

Test(pcapng, epb_layout_and_padding)
{
	static const uint8_t data[11] = "0123456789";
	weir_ns_t ts = 0x123456789abcdef0ull;
	uint8_t b[128];

	for (uint32_t caplen = 0; caplen <= 9; caplen++) {
		struct iovec iov[3] = {{(void *)data, 2}, {(void *)(data + 2), 3},
				       {(void *)(data + 5), 6}};
		size_t padded = (caplen + 3u) & ~3u, off = 28 + padded;
		int n;

		memset(b, 0xee, sizeof(b));
		n = weir_pcapng_encode_epb(b, sizeof(b), 3, ts, iov, 3, caplen, 1000,
					   WEIR_PCAPNG_DIR_OUT);
		check_block(b, n, WEIR_PCAPNG_EPB);
		cr_assert_eq((size_t)n, weir_pcapng_epb_size(caplen));
		cr_assert_eq(rd32(b + 8), 3, "interface id");
		cr_assert_eq(rd32(b + 12), 0x12345678, "timestamp high word first");
		cr_assert_eq(rd32(b + 16), 0x9abcdef0, "timestamp low word");
		cr_assert_eq(rd32(b + 20), caplen);
		cr_assert_eq(rd32(b + 24), 1000, "original length");
		cr_assert_eq(memcmp(b + 28, data, caplen), 0, "data gathered across iovecs");
		for (size_t i = caplen; i < padded; i++)
			cr_assert_eq(b[28 + i], 0, "caplen %u: pad byte %zu", caplen, i);
		cr_assert_eq(rd32(check_opt(b, &off, 2, 4)), 2, "epb_flags: outbound");
		check_opt(b, &off, 0, 0);
		cr_assert_eq(off + 4, (size_t)n);
		/* Direction unknown: no options at all. */
		n = weir_pcapng_encode_epb(b, sizeof(b), 0, ts, iov, 3, caplen, caplen,
					   WEIR_PCAPNG_DIR_UNKNOWN);
		cr_assert_eq(check_block(b, n, WEIR_PCAPNG_EPB), 32 + padded);
	}
}

Test(pcapng, epb_refusals)
{
	uint8_t b[64], d[40] = {0};
	struct iovec iov = {d, sizeof(d)};

	cr_assert_eq(weir_pcapng_encode_epb(b, sizeof(b), 0, 0, &iov, 1, 10, 9,
					    WEIR_PCAPNG_DIR_IN), -EINVAL, "caplen > origlen");
	cr_assert_eq(weir_pcapng_encode_epb(b, sizeof(b), 0, 0, &iov, 1, 40, 40,
					    WEIR_PCAPNG_DIR_IN), -ENOSPC);
	iov.iov_len = 4;
	cr_assert_eq(weir_pcapng_encode_epb(b, sizeof(b), 0, 0, &iov, 1, 8, 8,
					    WEIR_PCAPNG_DIR_IN), -EINVAL, "iovecs too short");
}

Test(pcapng, isb_layout)
{
	struct weir_pcapng_stats st = {.start = 5000000001ull, .ifrecv = 77, .ifdrop = 3,
				       .osdrop = 1ull << 40};
	weir_ns_t ts = 9000000002ull;
	uint8_t b[128];
	size_t off = 20;
	const uint8_t *v;
	int n = weir_pcapng_encode_isb(b, sizeof(b), 1, ts, &st);

	check_block(b, n, WEIR_PCAPNG_ISB);
	cr_assert_eq(rd32(b + 8), 1);
	cr_assert_eq(((uint64_t)rd32(b + 12) << 32 | rd32(b + 16)), ts);
	v = check_opt(b, &off, 2, 8);
	cr_assert_eq(((uint64_t)rd32(v) << 32 | rd32(v + 4)), st.start, "isb_starttime");
	v = check_opt(b, &off, 3, 8);
	cr_assert_eq(((uint64_t)rd32(v) << 32 | rd32(v + 4)), ts, "isb_endtime");
	cr_assert_eq(rd64(check_opt(b, &off, 4, 8)), 77, "isb_ifrecv");
	cr_assert_eq(rd64(check_opt(b, &off, 5, 8)), 3, "isb_ifdrop");
	cr_assert_eq(rd64(check_opt(b, &off, 7, 8)), 1ull << 40, "isb_osdrop");
	check_opt(b, &off, 0, 0);
	cr_assert_eq(off + 4, (size_t)n);
	st.start = 0;
	n = weir_pcapng_encode_isb(b, sizeof(b), 1, ts, &st);
	cr_assert_eq(check_block(b, n, WEIR_PCAPNG_ISB), 76, "no starttime: 12 bytes less");
	cr_assert_eq(weir_pcapng_encode_isb(b, 75, 1, ts, &st), -ENOSPC);
}

static char *tmp_path(const char *tag)
{
	static char path[128];

	snprintf(path, sizeof(path), "/tmp/weir-pcapng-%s-%d.pcapng", tag, (int)getpid());
	return path;
}

/* Reads a file with libpcap at nanosecond precision: packets seen, and
 * whether it ended cleanly (EOF) rather than on an error. */
static int read_back(const char *path, uint32_t *lens, uint64_t *ts, int max, bool *clean)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO,
							      errbuf);
	struct pcap_pkthdr *h;
	const u_char *d;
	int n = 0, r;

	cr_assert_not_null(pc, "libpcap refuses %s: %s", path, errbuf);
	cr_assert_eq(pcap_datalink(pc), DLT_EN10MB);
	while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
		if (n < max) {
			lens[n] = h->caplen;
			ts[n] = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
			for (uint32_t i = 0; i < h->caplen; i++)
				cr_assert_eq(d[i], (uint8_t)(n + i), "packet %d byte %u", n, i);
		}
		n++;
	}
	*clean = r == -2;
	if (!*clean)
		cr_log_info("%s: %s", path, pcap_geterr(pc));
	pcap_close(pc);
	return n;
}

static void fill(uint8_t *d, int pkt, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		d[i] = (uint8_t)(pkt + i);
}

Test(pcapng, writer_reads_back_with_libpcap)
{
	char *path = tmp_path("rb"), why[256];
	struct weir_pcapng *w;
	uint8_t d[2000];
	uint32_t lens[64];
	uint64_t ts[64];
	bool clean;
	int err, n;

	err = weir_pcapng_open(path, &(struct weir_pcapng_conf){.buf_size = 4096}, &w, why,
			       sizeof(why));
	cr_assert_eq(err, 0, "%s", why);
	cr_assert_eq(weir_pcapng_add_if(w, &(struct weir_pcapng_if){.name = "t0"}), 0);
	for (int i = 0; i < 50; i++) {
		uint32_t len = 60 + (uint32_t)i * 37;

		fill(d, i, len);
		cr_assert_eq(weir_pcapng_write_data(w, 0, 1700000000000000000ull + (uint64_t)i * 1001,
						    d, len, len, WEIR_PCAPNG_DIR_OUT), 0);
		if (i % 10 == 9)
			cr_assert_eq(weir_pcapng_write_stats(w, 0, 1700000000000000000ull + (uint64_t)i * 1001,
							     &(struct weir_pcapng_stats){.ifrecv = (uint64_t)i + 1}), 0);
	}
	cr_assert_eq(weir_pcapng_close(w), 0);
	n = read_back(path, lens, ts, 64, &clean);
	cr_assert_eq(n, 50);
	cr_assert(clean);
	for (int i = 0; i < 50; i++) {
		cr_assert_eq(lens[i], 60 + (uint32_t)i * 37);
		cr_assert_eq(ts[i], 1700000000000000000ull + (uint64_t)i * 1001, "ns timestamp %d", i);
	}
	unlink(path);
}

Test(pcapng, writer_snaplen_cuts_chains)
{
	char *path = tmp_path("snap"), why[256];
	struct weir_pool *pool;
	struct weir_pkt *p, *q;
	struct weir_pcapng *w;
	uint32_t lens[4];
	uint64_t ts[4];
	bool clean;

	weir_lcore_set_id(WEIR_LCORE_ANY);
	cr_assert_eq(weir_pool_create(&(struct weir_pool_conf){.n = 8, .huge = 2}, &pool), 0);
	p = weir_pkt_alloc(pool);
	q = weir_pkt_alloc(pool);
	fill(weir_pkt_put(p, 100), 0, 100);
	fill(weir_pkt_put(q, 100), 100, 100);
	cr_assert_eq(weir_pkt_chain(p, q), 0);
	cr_assert_eq(weir_pcapng_open(path, NULL, &w, why, sizeof(why)), 0, "%s", why);
	{
		struct stat stt;

		cr_assert_eq(stat(path, &stt), 0);
		cr_expect_eq(stt.st_mode & 0777, 0600, "a capture file is the owner's only (mode %o)",
			     stt.st_mode & 0777);
	}
	cr_assert_eq(weir_pcapng_add_if(w, &(struct weir_pcapng_if){.snaplen = 150}), 0);
	cr_assert_eq(weir_pcapng_write_pkt(w, 0, 1, p, WEIR_PCAPNG_DIR_IN), 0);
	cr_assert_eq(weir_pcapng_write_pkt(w, 1, 1, p, WEIR_PCAPNG_DIR_IN), -EINVAL,
		     "no interface 1");
	cr_assert_eq(weir_pcapng_close(w), 0);
	weir_pkt_free(p);
	cr_assert_eq(read_back(path, lens, ts, 4, &clean), 1);
	cr_assert_eq(lens[0], 150, "cut to the snaplen, across the segment boundary");
	weir_pool_cache_flush(pool, WEIR_LCORE_ANY);
	cr_assert_eq(weir_pool_in_use(pool), 0);
	weir_pool_destroy(pool);
	unlink(path);
}

Test(pcapng, writer_error_is_kept_and_named)
{
	struct weir_pcapng *w;
	char why[256];
	int fd = open("/dev/full", O_WRONLY);
	uint8_t d[64] = {0};

	cr_assert_geq(fd, 0);
	cr_assert_eq(weir_pcapng_fdopen(fd, "/dev/full", NULL, &w, why, sizeof(why)), 0);
	cr_assert_eq(weir_pcapng_add_if(w, &(struct weir_pcapng_if){0}), 0);
	cr_assert_eq(weir_pcapng_write_data(w, 0, 1, d, 64, 64, 0), 0, "buffered: no error yet");
	cr_assert_eq(weir_pcapng_flush(w, false), -ENOSPC);
	cr_assert_eq(weir_pcapng_error(w), -ENOSPC);
	cr_assert(strstr(weir_pcapng_errmsg(w), "/dev/full"), "%s", weir_pcapng_errmsg(w));
	cr_assert(strstr(weir_pcapng_errmsg(w), strerror(ENOSPC)), "%s", weir_pcapng_errmsg(w));
	cr_assert_eq(weir_pcapng_write_data(w, 0, 1, d, 64, 64, 0), -ENOSPC, "kept");
	cr_assert_eq(weir_pcapng_close(w), -ENOSPC);
}

Test(pcapng, writer_unwritable_path)
{
	struct weir_pcapng *w;
	char why[256];

	cr_assert_eq(weir_pcapng_open("/nonexistent-dir/x.pcapng", NULL, &w, why, sizeof(why)),
		     -ENOENT);
	cr_assert(strstr(why, "/nonexistent-dir/x.pcapng"), "%s", why);
}

/* A write cut short in the middle of a block (RLIMIT_FSIZE lets part of
 * it through, then refuses with EFBIG, as a filling disk does with
 * ENOSPC): the file is cut back to the last complete block. */
Test(pcapng, torn_write_leaves_complete_blocks)
{
	char *path = tmp_path("torn"), why[256];
	struct rlimit rl = {.rlim_cur = 10000, .rlim_max = RLIM_INFINITY};
	struct weir_pcapng *w;
	uint8_t d[1000];
	uint32_t lens[64];
	uint64_t ts[64];
	struct stat st;
	bool clean;
	int err = 0, i, n;

	signal(SIGXFSZ, SIG_IGN);
	cr_assert_eq(weir_pcapng_open(path, &(struct weir_pcapng_conf){.buf_size = 4096}, &w, why,
				      sizeof(why)), 0, "%s", why);
	cr_assert_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	cr_assert_eq(weir_pcapng_add_if(w, &(struct weir_pcapng_if){0}), 0);
	for (i = 0; i < 60 && !err; i++) {
		fill(d, i, sizeof(d));
		err = weir_pcapng_write_data(w, 0, (uint64_t)i + 1, d, sizeof(d), sizeof(d), 0);
	}
	cr_assert_eq(err, -EFBIG, "the limit must be hit: %d", err);
	cr_assert_eq(weir_pcapng_close(w), -EFBIG);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_lt(st.st_size, 10000);
	n = read_back(path, lens, ts, 64, &clean);
	cr_assert(clean, "file ends on a complete block");
	cr_assert_gt(n, 5, "what was written before the limit is there (%d packets)", n);
	cr_assert_eq(lens[n - 1], sizeof(d));
	unlink(path);
}
