// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for src/blk.c and pmd/uring.c on scratch files in /tmp (a
 * disk file system: direct I/O for real) and /dev/shm (tmpfs: page cache,
 * no ZERO_RANGE): every malformed spec (asserting on the message a person
 * reads), data read back identical in every driver mode (parameterized:
 * buffered, direct, fixed buffers or not, SQPOLL, IOPOLL's fallback, 4 KiB
 * blocks, no merging), merging and fixed buffers actually used, refused
 * requests (misaligned buffer, partial device block, wrong length, past the
 * end, too large, read-only, both data forms) that change nothing,
 * durability numbering, write-zeroes and discard, a file that shrank
 * under the device, queue-full, two lcores each on its own queue pair, a
 * queue pair handed from thread to thread (DEFER_TASKRUN rings).
 * Submission groups and waiting are in test_blk_wait.c. fini fails when a
 * pool buffer leaked.
 */
#include <liburing.h>
#include <pthread.h>

#include "blk_helpers.h"

TestSuite(blk, .init = blk_pool_init, .fini = blk_pool_fini, .timeout = 60);

static void open_fails(const char *spec, int want, const char *needle)
{
	struct weir_blk_conf conf = {.pool = pool};
	struct weir_blk *dev = NULL;
	char why[WEIR_BLK_ERRSIZE] = "";
	int err = weir_blk_open(spec, &conf, &dev, why, sizeof(why));

	cr_assert_eq(err, want, "%s: got %d (%s), want %d", spec, err, why, want);
	cr_assert_null(dev);
	cr_assert(strstr(why, needle), "%s: message '%s' lacks '%s'", spec, why, needle);
}

Test(blk, spec_errors_say_what_and_what_is_valid)
{
	char f[64], spec[160];

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	open_fails("uring", -EINVAL, "driver:name");
	open_fails("nosuch:/x", -ENOENT, "drivers: ");
	open_fails("nosuch:/x", -ENOENT, "uring");
	open_fails("uring:", -EINVAL, "no name");
	open_fails("uring:/nonexistent/weir/file", -ENOENT, "truncate -s");
	snprintf(spec, sizeof(spec), "uring:%s?qdd=4", f);
	open_fails(spec, -EINVAL, "unknown key 'qdd' (valid keys: direct, qd, sqpoll, iopoll");
	snprintf(spec, sizeof(spec), "uring:%s?direct=2", f);
	open_fails(spec, -EINVAL, "direct=2 is not valid (valid: 0|1)");
	snprintf(spec, sizeof(spec), "uring:%s?qd=0", f);
	open_fails(spec, -EINVAL, "qd=0 is out of range (valid: 1..4096)");
	snprintf(spec, sizeof(spec), "uring:%s?qd=lots", f);
	open_fails(spec, -EINVAL, "qd=lots is not a number");
	snprintf(spec, sizeof(spec), "uring:%s?qd=4&&ro=1", f);
	open_fails(spec, -EINVAL, "empty key=value field");
	snprintf(spec, sizeof(spec), "uring:%s?", f);
	open_fails(spec, -EINVAL, "'?' with no key=value");
	snprintf(spec, sizeof(spec), "uring:%s?qd=4&qd=8", f);
	open_fails(spec, -EINVAL, "key 'qd' given twice");
	snprintf(spec, sizeof(spec), "uring:%s?ro", f);
	open_fails(spec, -EINVAL, "'ro' is not key=value");
	snprintf(spec, sizeof(spec), "uring:%s?iopoll=1&direct=0", f);
	open_fails(spec, -EINVAL, "iopoll needs direct=1");
	snprintf(spec, sizeof(spec), "uring:%s?iopoll=1&direct=1&wait=1", f);
	open_fails(spec, -EINVAL, "iopoll=1 polls the device, so wait=1 would spin");
	snprintf(spec, sizeof(spec), "uring:%s?sq_cpu=0", f);
	open_fails(spec, -EINVAL, "sq_cpu=0 pins the SQPOLL thread: add sqpoll=1");
	snprintf(spec, sizeof(spec), "uring:%s?sqpoll=1&sq_cpu=100000", f);
	open_fails(spec, -EINVAL, "sq_cpu");
	snprintf(spec, sizeof(spec), "uring:%s?iopoll=always", f);
	open_fails(spec, -EINVAL, "iopoll=always is not valid (valid: 0|1|force)");
	snprintf(spec, sizeof(spec), "uring:%s?lbs=1024", f);
	open_fails(spec, -EINVAL, "lbs=1024 is not valid (valid: 512|4096)");
	snprintf(spec, sizeof(spec), "uring:%s?defer=1&sqpoll=1", f);
	open_fails(spec, -EINVAL, "defer=1 runs completions when the thread waits: it needs wait=1");
	snprintf(spec, sizeof(spec), "uring:%s?defer=1&wait=0", f);
	open_fails(spec, -EINVAL, "defer=1 runs completions when the thread waits");
	snprintf(spec, sizeof(spec), "uring:%s?sqpoll=1&batch=4", f);
	open_fails(spec, -EINVAL, "batch=4: with sqpoll=1 the polling thread submits");
	snprintf(spec, sizeof(spec), "uring:%s?spin=50", f);
	open_fails(spec, -EINVAL, "only sqpoll=1's thread fills it without a system call");
	snprintf(spec, sizeof(spec), "uring:%s?sqpoll=1&wait=0&spin=50", f);
	open_fails(spec, -EINVAL, "wait=0 always spins");
	snprintf(spec, sizeof(spec), "uring:%s?qd=8&batch=9", f);
	open_fails(spec, -EINVAL, "batch=9 is out of range (valid: 0..8)");
	open_fails("uring:/tmp", -EINVAL, "not a regular file, block device");
	unlink(f);
}

/* regression: block specs read numbers with base 0 (qd=010 was 8, qd=0x10
 * 16), unlike port specs; both now share one parser (weir/spec.h). */
Test(blk, regression_spec_integers_parsed_in_base_0)
{
	struct weir_blk_conf conf = {.pool = pool};
	struct weir_blk_info info;
	struct weir_blk *dev = NULL;
	char f[64], spec[160], why[WEIR_BLK_ERRSIZE] = "";

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?qd=010", f);
	cr_assert_eq(weir_blk_open(spec, &conf, &dev, why, sizeof(why)), 0, "%s", why);
	weir_blk_info_get(dev, &info);
	cr_expect_eq(info.qd, 10, "qd=010 is ten, not octal eight");
	weir_blk_close(dev);
	snprintf(spec, sizeof(spec), "uring:%s?qd=0x10", f);
	open_fails(spec, -EINVAL, "numbers in a spec are decimal (write qd=16");
	unlink(f);
}

Test(blk, fixed_without_a_pool_and_empty_file_are_refused)
{
	char f[64], spec[160], why[WEIR_BLK_ERRSIZE];
	struct weir_blk *dev = NULL;

	scratch_file("/tmp", 0, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?fixed=1", f);
	cr_assert_eq(weir_blk_open(spec, NULL, &dev, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "fixed=1 needs a pool"), "%s", why);
	snprintf(spec, sizeof(spec), "uring:%s", f);
	open_fails(spec, -EINVAL, "smaller than one 512-byte block (size it first");
	unlink(f);
}

/* --- data read back identical in every mode ------------------------------ */

/* Arrays, not pointers: Criterion runs each test in a fresh process. */
struct mode {
	char dir[16];
	char keys[64];
};

ParameterizedTestParameters(blk, every_mode_reads_back_what_it_wrote)
{
	static struct mode modes[] = {
		{"/tmp", "direct=0&fixed=0"},
		{"/tmp", "direct=0&fixed=1"},
		{"/tmp", "direct=1&fixed=0"},
		{"/tmp", "direct=1&fixed=1"},
		{"/tmp", "direct=1&sqpoll=1"},
		{"/tmp", "direct=0&sqpoll=1&fixed=0"},
		{"/tmp", "direct=1&iopoll=1"},
		{"/tmp", "direct=1&lbs=4096"},
		{"/tmp", "direct=1&merge=0&qd=8"},
		{"/tmp", "direct=1&merge=0&batch=1"},
		{"/tmp", "direct=0&merge=0&batch=3&wait=0"},
		{"/tmp", "direct=1&wait=0"},
		{"/tmp", "direct=0&wait=1"},
		{"/tmp", "direct=1&sqpoll=1&wait=1&sq_cpu=0"},
		{"/dev/shm", "direct=0"},
		{"/dev/shm", "direct=0&inline=0"},
		{"/dev/shm", "direct=1&lbs=4096"},
		{"/dev/shm", "direct=0&inline=0&fixed=0&lbs=4096"},
		{"/tmp", "direct=0&inline=1"},
		{"/tmp", "direct=1&inline=1&fixed=0"},
		{"/dev/shm", "direct=1&sqpoll=1&lbs=4096"},
	};

	return cr_make_param_array(struct mode, modes, sizeof(modes) / sizeof(modes[0]));
}

/* Bursts of writes of 1..16 blocks over the whole device, out of order,
 * then reads of other shapes; every byte must come back. */
static void write_read_all(struct weir_blk *dev, uint32_t gen)
{
	struct weir_blk_info in;
	struct weir_blk_req reqs[48], *rp[48];
	uint64_t lba = 0;
	int n;

	weir_blk_info_get(dev, &in);
	for (int op = WEIR_BLK_WRITE; op >= WEIR_BLK_READ; op--) {
		lba = 0;
		while (lba < in.nblocks) {
			for (n = 0; n < 48 && lba < in.nblocks; n++) {
				uint32_t nb = op == WEIR_BLK_WRITE ? 1 + (uint32_t)(lba * 7 % 16)
								   : 1 + (uint32_t)(lba * 5 % 11);

				nb = (uint32_t)WEIR_MIN(nb, in.nblocks - lba);
				reqs[n] = (struct weir_blk_req){.op = (uint8_t)op, .lba = lba,
								.nblocks = nb};
				cr_assert_eq(weir_blk_buf_alloc(pool, nb * in.lbs, &reqs[n].pkt), 0);
				if (op == WEIR_BLK_WRITE)
					pkt_pattern(reqs[n].pkt, lba * in.lbs, gen);
				rp[n] = &reqs[n];
				lba += nb;
			}
			blk_run(dev, 0, rp, (uint16_t)n);
			for (int i = 0; i < n; i++) {
				cr_assert_eq(reqs[i].status, 0, "%s lba %llu: %d %s",
					     weir_blk_op_name(reqs[i].op),
					     (unsigned long long)reqs[i].lba, reqs[i].status,
					     weir_blk_qp_error(dev, 0));
				if (op == WEIR_BLK_READ)
					cr_assert_eq(pkt_find_bad(reqs[i].pkt, reqs[i].lba * in.lbs,
								  gen), -1,
						     "lba %llu", (unsigned long long)reqs[i].lba);
				weir_pkt_free(reqs[i].pkt);
			}
		}
	}
}

ParameterizedTest(struct mode *m, blk, every_mode_reads_back_what_it_wrote)
{
	char f[64], spec[200];
	struct weir_blk_stats st;
	struct weir_blk_info in;
	struct weir_blk *dev;
	bool inl;

	scratch_file(m->dir, 2 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?%s", f, m->keys);
	dev = blk_open_ok(spec, 1);
	weir_blk_info_get(dev, &in);
	/* The mode asked for is the mode running. */
	cr_assert_eq(!!(in.features & WEIR_BLK_F_DIRECT), !!strstr(m->keys, "direct=1"));
	cr_assert_eq(!!(in.features & WEIR_BLK_F_SQPOLL), !!strstr(m->keys, "sqpoll=1"));
	cr_assert_eq(!!(in.features & WEIR_BLK_F_FIXED), !strstr(m->keys, "fixed=0"));
	cr_assert_eq(in.lbs, strstr(m->keys, "lbs=4096") ? 4096u : 512u);
	/* inline=auto: on for tmpfs (no RWF_NOWAIT), never else. */
	inl = strstr(m->keys, "inline=1") ||
	      (!strcmp(m->dir, "/dev/shm") && !strstr(m->keys, "inline=0") &&
	       !strstr(m->keys, "sqpoll=1"));
	cr_assert_eq(xstat(dev, "inline"), inl, "%s: inline", m->keys);
	/* An inline device never sleeps: its completions are there at once. */
	cr_assert_eq(!!(in.features & WEIR_BLK_F_WAIT),
		     !inl && (strstr(m->keys, "wait=1") || (!strstr(m->keys, "wait=0") &&
							     !strstr(m->keys, "iopoll=1"))));
	write_read_all(dev, 1);
	write_read_all(dev, 2);
	cr_assert_eq(!!xstat(dev, "inline_ios"), inl);
	cr_assert_eq(!!xstat(dev, "fixed_ios"), !strstr(m->keys, "fixed=0") && !inl);
	cr_assert_eq(blk_op(dev, 0, WEIR_BLK_FLUSH, 0, 0), 0);
	weir_blk_stats_get(dev, &st);
	cr_assert_eq(st.errors + st.refused, 0);
	if (strstr(m->keys, "merge=0"))
		cr_assert_eq(st.merged, 0);
	else
		cr_assert_gt(st.merged, 0, "consecutive requests of a burst were not merged");
	weir_blk_close(dev);
	/* A second open of the same file sees the same data. */
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 64, 2), 0);
	weir_blk_close(dev);
	unlink(f);
}

Test(blk, iopoll_on_a_device_that_cannot_poll_says_so_and_falls_back)
{
	char f[64], spec[160];
	struct weir_blk_info in;
	struct weir_blk *dev;

	scratch_file("/dev/shm", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?iopoll=1", f);
	dev = blk_open_ok(spec, 1);
	weir_blk_info_get(dev, &in);
	cr_assert_eq(in.features & WEIR_BLK_F_IOPOLL, 0);
	cr_assert(strstr(weir_blk_note(dev), "iopoll=1: the file system is not on a block "
				       "device; completions come by interrupt instead"),
		  "note: %s", weir_blk_note(dev));
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 3, 2, 9), 0);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 3, 2, 9), 0);
	weir_blk_close(dev);
	unlink(f);
}


Test(blk, fixed_buffers_are_used_for_pool_memory_and_not_for_other_memory)
{
	char f[64], spec[160];
	struct weir_blk *dev;
	void *heap = NULL;
	struct iovec v;
	struct weir_blk_req r = {.op = WEIR_BLK_WRITE, .lba = 8, .nblocks = 8, .iov = &v,
				 .nb_iov = 1};

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=1&fixed=1", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 0, 8, 4), 0);
	cr_assert_eq(xstat(dev, "fixed_ios"), 1);
	cr_assert_eq(posix_memalign(&heap, 4096, 4096), 0);
	pattern_fill(heap, 4096, 8 * 512, 4);
	v = (struct iovec){heap, 4096};
	cr_assert_eq(weir_blk_sync(dev, 0, &r), 0, "%s", weir_blk_qp_error(dev, 0));
	cr_assert_eq(xstat(dev, "fixed_ios"), 1, "heap memory is not registered");
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 16, 4), 0);
	free(heap);
	weir_blk_close(dev);
	unlink(f);
}

static uint64_t kernel_has_vec_fixed(void)
{
	struct io_uring_probe *pr = io_uring_get_probe();
	bool has = pr && io_uring_opcode_supported(pr, 60) && io_uring_opcode_supported(pr, 61);

	io_uring_free_probe(pr);
	return has;
}

Test(blk, a_chain_of_neighbouring_buffers_is_one_fixed_io_and_others_go_vectored)
{
	char f[64], spec[160];
	struct weir_blk *dev;
	struct weir_pkt *p[3];
	struct weir_blk_req r = {.op = WEIR_BLK_WRITE, .lba = 0, .nblocks = 16};

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=1", f);
	dev = blk_open_ok(spec, 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(weir_blk_buf_alloc(pool, 4096, &p[i]), 0);
	/* Two buffers that are not neighbours in memory. */
	if (p[0]->buf + 4096 == p[2]->buf || p[2]->buf + 4096 == p[0]->buf)
		p[2] = p[1], p[1] = NULL;
	cr_assert_eq(weir_pkt_chain(p[0], p[2]), 0);
	pkt_pattern(p[0], 0, 6);
	r.pkt = p[0];
	cr_assert_eq(weir_blk_sync(dev, 0, &r), 0);
	cr_assert_eq(xstat(dev, "vectored_ios"), 1);
	cr_assert_eq(xstat(dev, "fixed_ios"), 0);
	/* Both in the registered pool: vectored on registered buffers where
	 * the kernel has WRITEV_FIXED (Linux 6.15), no page pinning. */
	cr_assert_eq(xstat(dev, "vectored_fixed_ios"), kernel_has_vec_fixed());
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 16, 6), 0);
	/* Read back through the vectored path too. */
	pkt_pattern(p[0], 0, 0);
	r.op = WEIR_BLK_READ;
	cr_assert_eq(weir_blk_sync(dev, 0, &r), 0);
	cr_assert_eq(pkt_find_bad(p[0], 0, 6), -1, "the vectored read differs");
	cr_assert_eq(xstat(dev, "vectored_fixed_ios"), 2 * kernel_has_vec_fixed());
	weir_blk_close(dev);
	/* fixed=0: plain vectored I/O. */
	snprintf(spec, sizeof(spec), "uring:%s?direct=1&fixed=0", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(weir_blk_sync(dev, 0, &r), 0);
	cr_assert_eq(xstat(dev, "vectored_fixed_ios"), 0);
	weir_blk_close(dev);
	weir_pkt_free(p[0]);
	weir_pkt_free(p[1]);
	unlink(f);
}

/* --- refused requests ---------------------------------------------------- */

static void refused(struct weir_blk *dev, struct weir_blk_req *r, int want, const char *needle)
{
	cr_assert_eq(weir_blk_sync(dev, 0, r), want, "got %d: %s", r->status,
		     weir_blk_qp_error(dev, 0));
	cr_assert(strstr(weir_blk_qp_error(dev, 0), needle), "'%s' lacks '%s'",
		  weir_blk_qp_error(dev, 0), needle);
}

Test(blk, bad_requests_are_refused_with_the_reason_and_change_nothing)
{
	char f[64], spec[160];
	struct weir_blk_stats st;
	struct weir_blk *dev;
	struct weir_pkt *p, *q;
	struct weir_blk_req r;

	scratch_file("/tmp", 1 << 20, f, sizeof(f)); /* 2048 blocks of 512 */
	snprintf(spec, sizeof(spec), "uring:%s?direct=1", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 0, 2048 > 256 ? 256 : 2048, 5), 0);
	for (uint64_t l = 256; l < 2048; l += 256)
		cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, l, 256, 5), 0);

	p = weir_pkt_alloc(pool); /* default headroom: data 128 B into the buffer */
	weir_pkt_put(p, 512);
	r = (struct weir_blk_req){.op = WEIR_BLK_WRITE, .lba = 4, .nblocks = 1, .pkt = p};
	refused(dev, &r, -EINVAL, "128 bytes past a 512-byte boundary");
	cr_assert(strstr(weir_blk_qp_error(dev, 0), "weir_blk_buf_alloc"));
	weir_pkt_free(p);

	cr_assert_eq(weir_blk_buf_alloc(pool, 1024, &p), 0);
	p->data_len = 256;
	cr_assert_eq(weir_blk_buf_alloc(pool, 768, &q), 0);
	cr_assert_eq(weir_pkt_chain(p, q), 0);
	r = (struct weir_blk_req){.op = WEIR_BLK_WRITE, .lba = 4, .nblocks = 2, .pkt = p};
	refused(dev, &r, -EINVAL, "buffer 0 holds 256 bytes, not a multiple of the device's "
		"512-byte block");
	weir_pkt_free(p);

	cr_assert_eq(weir_blk_buf_alloc(pool, 1024, &p), 0);
	r = (struct weir_blk_req){.op = WEIR_BLK_READ, .lba = 4, .nblocks = 3, .pkt = p};
	refused(dev, &r, -EINVAL, "the buffers hold 1024 bytes; 3 blocks of 512 B are 1536");
	r = (struct weir_blk_req){.op = WEIR_BLK_WRITE, .lba = 2047, .nblocks = 2, .pkt = p};
	refused(dev, &r, -ERANGE, "lba 2047+2 is past the end (2048 blocks of 512 B: the last "
		"lba is 2047)");
	r = (struct weir_blk_req){.op = WEIR_BLK_WRITE_ZEROES, .lba = UINT64_MAX - 1, .nblocks = 4};
	refused(dev, &r, -ERANGE, "past the end");
	r = (struct weir_blk_req){.op = WEIR_BLK_READ, .lba = 0, .nblocks = 0, .pkt = p};
	refused(dev, &r, -EINVAL, "zero blocks");
	r = (struct weir_blk_req){.op = WEIR_BLK_READ, .lba = 0, .nblocks = 2, .pkt = p,
				  .iov = &(struct iovec){NULL, 0}, .nb_iov = 1};
	refused(dev, &r, -EINVAL, "either as pkt or as iov");
	r = (struct weir_blk_req){.op = WEIR_BLK_READ, .lba = 0, .nblocks = 2};
	refused(dev, &r, -EINVAL, "either as pkt or as iov");
	r = (struct weir_blk_req){.op = 9, .lba = 0, .nblocks = 2};
	refused(dev, &r, -EINVAL, "unknown op 9");
	r = (struct weir_blk_req){.op = WEIR_BLK_READ, .lba = 0, .nblocks = 4096, .pkt = p};
	refused(dev, &r, -ERANGE, "past the end");
	weir_pkt_free(p);

	weir_blk_stats_get(dev, &st);
	cr_assert_eq(st.refused, 10);
	/* Nothing reached the file. */
	for (uint64_t l = 0; l < 2048; l += 256)
		cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, l, 256, 5), 0);
	weir_blk_close(dev);
	unlink(f);
}

Test(blk, a_request_larger_than_the_largest_is_refused)
{
	char f[64], spec[160];
	struct weir_blk_info in;
	struct weir_blk *dev;
	struct weir_blk_req r;
	struct iovec v[WEIR_BLK_MAX_IOV];
	void *big;

	scratch_file("/dev/shm", 4 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=0", f);
	dev = blk_open_ok(spec, 1);
	weir_blk_info_get(dev, &in);
	cr_assert_eq(in.max_blocks, (1u << 20) / 512);
	big = malloc(2 << 20);
	for (int i = 0; i < 2; i++)
		v[i] = (struct iovec){(uint8_t *)big + ((size_t)i << 20), 1 << 20};
	r = (struct weir_blk_req){.op = WEIR_BLK_READ, .nblocks = 4096, .iov = v, .nb_iov = 2};
	refused(dev, &r, -E2BIG, "larger than the largest request (2048 blocks): split it");
	free(big);
	weir_blk_close(dev);
	unlink(f);
}

Test(blk, read_only_open_refuses_writes_and_reads)
{
	char f[64], spec[160];
	struct weir_blk_req r = {.op = WEIR_BLK_WRITE_ZEROES, .lba = 0, .nblocks = 1};
	struct weir_blk *dev;

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 10, 4, 7), 0);
	weir_blk_close(dev);
	snprintf(spec, sizeof(spec), "uring:%s?ro=1", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 10, 4, 8), -EROFS);
	cr_assert(strstr(weir_blk_qp_error(dev, 0), "open read-only"));
	refused(dev, &r, -EROFS, "write-zeroes lba 0+1: the device is open read-only");
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 10, 4, 7), 0);
	cr_assert_eq(blk_op(dev, 0, WEIR_BLK_FLUSH, 0, 0), 0);
	weir_blk_close(dev);
	unlink(f);
}

/* --- durability, zeroes, discard ----------------------------------------- */

Test(blk, a_write_is_durable_only_after_a_flush_that_covers_it)
{
	char f[64], spec[160];
	struct weir_blk_req w[3], fl = {.op = WEIR_BLK_FLUSH}, *rp[4];
	struct weir_blk *dev;

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=1", f);
	dev = blk_open_ok(spec, 1);
	for (int i = 0; i < 3; i++) {
		w[i] = (struct weir_blk_req){.op = WEIR_BLK_WRITE, .lba = (uint64_t)i * 8,
					     .nblocks = 8, .flags = i == 2 ? WEIR_BLK_REQ_FUA : 0};
		cr_assert_eq(weir_blk_buf_alloc(pool, 4096, &w[i].pkt), 0);
		rp[i] = &w[i];
	}
	cr_assert_eq(weir_blk_durable_seq(dev, 0), 0);
	blk_run(dev, 0, rp, 1);
	cr_assert_eq(w[0].seq, 1);
	cr_assert_eq(w[0].done_flags & WEIR_BLK_DONE_DURABLE, 0);
	/* The flush goes in before w[1] completes: it covers w[0] only. */
	rp[0] = &fl;
	rp[1] = &w[1];
	blk_run(dev, 0, rp, 2);
	cr_assert_eq(fl.status, 0);
	cr_assert_eq(fl.seq, 1, "the flush covers what had completed when it was submitted");
	cr_assert(fl.done_flags & WEIR_BLK_DONE_DURABLE);
	cr_assert_eq(w[1].seq, 2);
	cr_assert_eq(weir_blk_durable_seq(dev, 0), 1);
	rp[0] = &w[2];
	blk_run(dev, 0, rp, 1);
	cr_assert(w[2].done_flags & WEIR_BLK_DONE_DURABLE, "a FUA write is durable on completion");
	cr_assert_eq(weir_blk_durable_seq(dev, 0), 1, "FUA makes only itself durable");
	cr_assert_eq(blk_op(dev, 0, WEIR_BLK_FLUSH, 0, 0), 0);
	cr_assert_eq(weir_blk_durable_seq(dev, 0), 3);
	for (int i = 0; i < 3; i++)
		weir_pkt_free(w[i].pkt);
	weir_blk_close(dev);
	unlink(f);
}

static void zero_and_discard(const char *dir)
{
	char f[64], spec[160];
	struct weir_blk *dev;
	struct weir_pkt *p;
	struct weir_blk_req r = {.op = WEIR_BLK_READ, .lba = 16, .nblocks = 16};

	scratch_file(dir, 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 0, 64, 3), 0);
	cr_assert_eq(blk_op(dev, 0, WEIR_BLK_WRITE_ZEROES, 16, 16), 0, "%s",
		     weir_blk_qp_error(dev, 0));
	cr_assert_eq(blk_op(dev, 0, WEIR_BLK_DISCARD, 40, 8), 0, "%s", weir_blk_qp_error(dev, 0));
	cr_assert_eq(weir_blk_buf_alloc(pool, 16 * 512, &p), 0);
	memset(weir_pkt_data(p), 0xaa, p->data_len);
	r.pkt = p;
	cr_assert_eq(weir_blk_sync(dev, 0, &r), 0);
	cr_assert(pkt_is_zero(p), "write-zeroes left data in %s", dir);
	weir_pkt_free(p);
	/* Around them, the data stands. */
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 16, 3), 0);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 32, 8, 3), 0);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 48, 16, 3), 0);
	weir_blk_close(dev);
	unlink(f);
}

Test(blk, write_zeroes_and_discard_on_a_disk_file)
{
	zero_and_discard("/tmp");
}

Test(blk, write_zeroes_falls_back_to_punching_on_tmpfs)
{
	zero_and_discard("/dev/shm");
}

Test(blk, a_file_that_shrank_under_the_device_gives_an_io_error)
{
	char f[64], spec[160];
	struct weir_blk *dev;

	scratch_file("/dev/shm", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=0", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 0, 64, 1), 0);
	cr_assert_eq(truncate(f, 16 * 512 + 100), 0);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 16, 1), 0);
	/* The first 100 bytes come, then nothing: a short read, then EIO. */
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 16, 4, 1), -EIO);
	cr_assert(strstr(weir_blk_qp_error(dev, 0), "read lba 16 (100 bytes done)"), "%s",
		  weir_blk_qp_error(dev, 0));
	weir_blk_close(dev);
	unlink(f);
}

/* --- queue pairs --------------------------------------------------------- */

Test(blk, a_full_queue_takes_what_fits_and_sync_refuses_when_busy)
{
	char f[64], spec[160];
	struct weir_blk_req r[12], *rp[12], *done[12];
	struct weir_blk *dev;
	uint16_t got = 0;

	scratch_file("/dev/shm", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?qd=8&direct=0", f);
	dev = blk_open_ok(spec, 1);
	for (int i = 0; i < 12; i++) {
		r[i] = (struct weir_blk_req){.op = WEIR_BLK_WRITE, .lba = (uint64_t)i * 2,
					     .nblocks = 1, .flags = WEIR_BLK_REQ_NOMERGE};
		cr_assert_eq(weir_blk_buf_alloc(pool, 512, &r[i].pkt), 0);
		rp[i] = &r[i];
	}
	cr_assert_eq(weir_blk_submit_burst(dev, 0, rp, 12), 8);
	cr_assert_eq(weir_blk_inflight(dev, 0), 8);
	cr_assert_eq(weir_blk_submit_burst(dev, 0, rp + 8, 4), 0);
	cr_assert_eq(weir_blk_sync(dev, 0, rp[8]), -EBUSY);
	while (got < 8)
		got += weir_blk_poll_burst(dev, 0, done + got, (uint16_t)(12 - got));
	cr_assert_eq(weir_blk_inflight(dev, 0), 0);
	blk_run(dev, 0, rp + 8, 4);
	for (int i = 0; i < 12; i++) {
		cr_assert_eq(r[i].status, 0);
		weir_pkt_free(r[i].pkt);
	}
	weir_blk_close(dev);
	unlink(f);
}

struct lc_arg {
	struct weir_blk *dev;
	uint16_t qp;
	int errors;
};

static void *lcore_io(void *arg)
{
	struct lc_arg *a = arg;
	uint64_t base = a->qp * 1024;

	weir_lcore_set_id(a->qp + 1);
	for (uint32_t gen = 1; gen <= 4; gen++) {
		for (uint64_t l = 0; l < 1024; l += 128)
			a->errors += blk_rw(a->dev, a->qp, WEIR_BLK_WRITE, base + l, 128, gen) != 0;
		for (uint64_t l = 0; l < 1024; l += 64)
			a->errors += blk_rw(a->dev, a->qp, WEIR_BLK_READ, base + l, 64, gen) != 0;
	}
	weir_pool_cache_flush(pool, a->qp + 1u);
	return NULL;
}

Test(blk, two_lcores_each_on_its_own_queue_pair)
{
	char f[64], spec[160];
	struct lc_arg a[2];
	pthread_t t[2];
	struct weir_blk *dev;

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=1", f);
	dev = blk_open_ok(spec, 2);
	for (uint16_t i = 0; i < 2; i++) {
		a[i] = (struct lc_arg){.dev = dev, .qp = i};
		cr_assert_eq(pthread_create(&t[i], NULL, lcore_io, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(a[i].errors, 0);
	}
	weir_blk_close(dev);
	unlink(f);
}

struct handover_arg {
	struct weir_blk *dev;
	int err;
};

static void *handover_io(void *arg)
{
	struct handover_arg *h = arg;

	h->err = blk_rw(h->dev, 0, WEIR_BLK_WRITE, 64, 64, 7);
	if (!h->err)
		h->err = blk_rw(h->dev, 0, WEIR_BLK_READ, 0, 64, 6);
	return NULL;
}

/* A DEFER_TASKRUN ring belongs to the thread that first submitted on it: a
 * queue pair handed to another thread while idle gets a new ring. */
Test(blk, a_queue_pair_handed_to_another_thread_while_idle_keeps_working)
{
	char f[64], spec[160];
	struct handover_arg h;
	struct weir_blk *dev;
	pthread_t t;

	scratch_file("/tmp", 1 << 20, f, sizeof(f));
	snprintf(spec, sizeof(spec), "uring:%s?direct=1", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(xstat(dev, "deferred_rings"), 1, "a waiting ring on a file is deferred");
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_WRITE, 0, 64, 6), 0);
	cr_assert_eq(xstat(dev, "ring_handovers"), 0, "the first submitter owns the ring");
	h = (struct handover_arg){.dev = dev};
	cr_assert_eq(pthread_create(&t, NULL, handover_io, &h), 0);
	pthread_join(t, NULL);
	cr_assert_eq(h.err, 0, "%s", weir_blk_qp_error(dev, 0));
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 64, 64, 7), 0, "%s", weir_blk_qp_error(dev, 0));
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 0, 64, 6), 0);
	cr_assert_eq(xstat(dev, "ring_handovers"), 2, "thread, then back to main");
	weir_blk_close(dev);
	snprintf(spec, sizeof(spec), "uring:%s?direct=1&defer=0", f);
	dev = blk_open_ok(spec, 1);
	cr_assert_eq(xstat(dev, "deferred_rings"), 0);
	cr_assert_eq(blk_rw(dev, 0, WEIR_BLK_READ, 64, 64, 7), 0);
	weir_blk_close(dev);
	unlink(f);
}
