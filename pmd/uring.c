// SPDX-License-Identifier: BSD-3-Clause
/*
 * uring: block devices and files through io_uring, one ring per queue pair.
 *
 *     uring:/path?direct=1&qd=128&sqpoll=0&sq_cpu=N&iopoll=0|1|force&fixed=1&lbs=512|4096
 *                 &ro=0&merge=1&wait=0|1&defer=0|1&batch=N&spin=US&inline=0|1|auto
 *
 * The file is opened with O_DIRECT (direct=1, the default) and registered
 * with each ring; the pools given at open are registered as fixed buffers
 * once (a pool's data area is one page-aligned mapping, so it is one
 * registered buffer per GiB), and an I/O whose data is one contiguous run
 * inside a registered pool goes out as READ_FIXED/WRITE_FIXED: no per-I/O
 * pinning, no copy. Chains that are not contiguous (and merged runs of
 * requests) go out as READV_FIXED/WRITEV_FIXED where the kernel has them
 * (Linux 6.15, probed at open), all their iovecs inside one registered
 * pool, so no pinning either; as READV/WRITEV otherwise.
 * A burst is prepared into SQEs and submitted with one io_uring_enter (none
 * with SQPOLL while its thread is awake); consecutive requests of a burst
 * that continue each other are merged into one I/O (up to 1 MiB and
 * WEIR_BLK_MAX_IOV buffers). Completions are reaped in the order the kernel
 * posts them; a short transfer is resubmitted for the rest.
 *
 * Flush is fdatasync (IORING_FSYNC_DATASYNC); a FUA write is RWF_DSYNC.
 * Write-zeroes is fallocate(ZERO_RANGE), falling back to PUNCH_HOLE where
 * the file system lacks it (tmpfs); discard is PUNCH_HOLE, and advisory:
 * where nothing can deallocate it completes without effect (counted).
 * IOPOLL polls the device for completions; where the device cannot (no
 * poll queues: loop devices, virtio, tmpfs) open says so and falls back to
 * interrupts. An IOPOLL ring takes only reads and writes, so flushes and
 * fallocates go through a second, ordinary ring of the same queue pair.
 * Waiting (wait=1, the default unless iopoll=1 asked for polling): a
 * burst's SQEs are prepared by submit and handed to the kernel by the next
 * poll, or by weir_blk_poll_wait's one io_uring_enter that submits and
 * sleeps for a completion (io_uring_submit_and_wait_timeout), so a QD1
 * loop costs one system call per I/O. With direct I/O a longer burst goes
 * in groups of batch=2 as it is prepared: the kernel plugs a submission of
 * more than two SQEs, holding the first back until the last is ready. With
 * wait=0 submit enters the kernel itself and completions are only ever
 * peeked. With sqpoll=1 the kernel's thread submits and posts completions
 * by itself, so the wait first spins on the completion queue (spin=100 us,
 * as fio spins without end), then sleeps. sq_cpu=N pins the SQPOLL thread
 * (IORING_SETUP_SQ_AFF, fio's --sqthread_poll_cpu).
 * A waiting ring (wait=1, no sqpoll, no iopoll) on a file is made
 * SINGLE_ISSUER|DEFER_TASKRUN (defer=1, the default; as fio's io_uring
 * engine does): completions are run in the submitting thread when it
 * waits, in one batch, with no task-work interruption in between. Such a
 * ring belongs to one thread, so it is made disabled and enabled by the
 * first thread that submits on it; a queue pair handed to another thread
 * while idle gets a new ring (registered again) for that thread. Not on a
 * block device (only its owner could unregister the file at close, which
 * an O_EXCL reopen needs) and not for a stacked driver's members, which
 * sleep in ppoll on the ring's fd (conf.fd_wait).
 * A file in memory (tmpfs, buffered or O_DIRECT) that refuses non-blocking
 * reads is done inline (inline=auto): submit does each request as a system
 * call, where io_uring would hand each to a kernel worker (uring_inline.c).
 * On an NVMe generic character device (/dev/ngXnY) I/O is NVMe passthrough
 * (IORING_OP_URING_CMD, uring_nvme.c).
 *
 * This file opens and closes; the fast path (SQEs, completions) is in
 * uring_io.c, the shared state in uring_internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "uring_internal.h"
#include "weir/log.h"

/* --- open: the file ----------------------------------------------------- */

static int open_fd(struct weir_blk *dev, bool ro, bool direct, struct stat *st)
{
	struct uring_priv *u = dev->priv;
	int flags = (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
	int e;

	if (stat(dev->name, st) < 0) {
		e = errno;
		if (e == ENOENT)
			return weir_blk_fail(dev, -ENOENT, "no such file (create it first: truncate "
					     "-s 64M %s)", dev->name);
		return weir_blk_fail(dev, -e, "%s", strerror(e));
	}
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode) &&
	    !(S_ISCHR(st->st_mode) && uring_nvme_path(dev->name)))
		return weir_blk_fail(dev, -EINVAL, "not a regular file, block device or NVMe "
				     "generic device (/dev/ngXnY)");
	/* A block device opened for writing is held exclusively: a mounted
	 * file system or another user of it gets EBUSY, not corruption. */
	if (S_ISBLK(st->st_mode) && !ro)
		flags |= O_EXCL;
	u->fd = open(dev->name, flags);
	if (u->fd >= 0)
		return 0;
	e = errno;
	if (!ro && (e == EACCES || e == EROFS || e == EPERM) && access(dev->name, R_OK) == 0)
		return weir_blk_fail(dev, -e, "cannot open for writing: %s (add ro=1 to read it, or "
				     "make it writable)", strerror(e));
	if (direct && e == EINVAL)
		return weir_blk_fail(dev, -EOPNOTSUPP, "the file system does not do direct I/O "
				     "(O_DIRECT): use direct=0");
	if (e == EBUSY)
		return weir_blk_fail(dev, -EBUSY, "in use (mounted, or held by another program)");
	return weir_blk_fail(dev, -e, "cannot open: %s", strerror(e));
}

static int probe_bdev(struct weir_blk *dev, uint64_t *size, uint32_t *dev_lbs, bool *ro)
{
	struct uring_priv *u = dev->priv;
	int sz = 0, roflag = 0;

	if (ioctl(u->fd, BLKGETSIZE64, size) < 0 || ioctl(u->fd, BLKSSZGET, &sz) < 0 || sz <= 0)
		return weir_blk_fail(dev, -errno, "cannot read the device's size: %s",
				     strerror(errno));
	*dev_lbs = (uint32_t)sz;
	if (ioctl(u->fd, BLKROGET, &roflag) == 0 && roflag && !*ro)
		return weir_blk_fail(dev, -EROFS, "the block device is read-only (add ro=1 to "
				     "read it, or blockdev --setrw it)");
	return 0;
}

static int probe_nvme(struct weir_blk *dev, uint64_t *size, uint32_t *dev_lbs)
{
	struct uring_priv *u = dev->priv;
	static uint8_t id[NVME_ID_NS_SIZE] __attribute__((aligned(4096)));
	struct nvme_passthru_cmd cmd = {.opcode = NVME_ADMIN_IDENTIFY};
	uint64_t nsze;
	int nsid = ioctl(u->fd, NVME_IOCTL_ID);

	if (nsid <= 0)
		return weir_blk_fail(dev, -ENOTTY, "not an NVMe namespace (NVME_IOCTL_ID: %s)",
				     strerror(errno));
	cmd.nsid = (uint32_t)nsid;
	cmd.addr = (uint64_t)(uintptr_t)id;
	cmd.data_len = sizeof(id);
	if (ioctl(u->fd, NVME_IOCTL_ADMIN_CMD, &cmd) != 0 ||
	    uring_nvme_parse_id_ns(id, sizeof(id), &nsze, dev_lbs) < 0)
		return weir_blk_fail(dev, -EIO, "cannot identify namespace %d (needs "
				     "CAP_SYS_ADMIN)", nsid);
	u->nsid = (uint32_t)nsid;
	*size = nsze * *dev_lbs;
	return 0;
}

/* Size, device block and buffer alignment of what is open. */
static int probe_geometry(struct weir_blk *dev, const struct stat *st, bool *ro,
			  uint64_t *size, uint32_t *dev_lbs, uint32_t *mem_align)
{
	struct uring_priv *u = dev->priv;
	struct statx sx;

	*dev_lbs = 512;
	*mem_align = 512;
	if (S_ISBLK(st->st_mode)) {
		u->bdev = true;
		return probe_bdev(dev, size, dev_lbs, ro);
	}
	if (S_ISCHR(st->st_mode) && uring_nvme_path(dev->name)) {
		u->nvme = true;
		*mem_align = 4; /* PRPs: dword-aligned */
		return probe_nvme(dev, size, dev_lbs);
	}
	*size = (uint64_t)st->st_size;
	/* Where the file system reports its direct I/O alignment, use it. */
	if (statx(u->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN) && sx.stx_dio_offset_align) {
		*dev_lbs = sx.stx_dio_offset_align;
		*mem_align = sx.stx_dio_mem_align ? sx.stx_dio_mem_align : 1;
	}
	return 0;
}

/* Whether the block device under st can complete I/O by polling; if not,
 * why in words. */
static bool can_iopoll(struct weir_blk *dev, const struct stat *st, char *why, size_t len)
{
	struct uring_priv *u = dev->priv;
	dev_t d = u->bdev ? st->st_rdev : st->st_dev;
	char path[160], v = '0';
	FILE *f;

	if (u->nvme) {
		const char *b = strrchr(dev->name, '/');

		/* /dev/ngXnY is the generic node of block device nvmeXnY. */
		snprintf(path, sizeof(path), "/sys/block/nvme%s/queue/io_poll",
			 (b ? b + 1 : dev->name) + 2);
	} else if (major(d) == 0) {
		snprintf(why, len, "the file system is not on a block device");
		return false;
	} else {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/queue/io_poll", major(d),
			 minor(d));
		if (access(path, R_OK)) /* a partition: its disk's queue */
			snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/../queue/io_poll",
				 major(d), minor(d));
	}
	f = fopen(path, "r");
	if (f) {
		if (fread(&v, 1, 1, f) != 1)
			v = '0';
		fclose(f);
	}
	snprintf(why, len, "the device has no poll queues (%s is %c)", path, v);
	return v == '1';
}

/* --- open: rings -------------------------------------------------------- */

static void ring_params(const struct uring_priv *u, struct io_uring_params *p, unsigned flags)
{
	memset(p, 0, sizeof(*p));
	p->flags = flags;
	p->sq_thread_idle = 100;
	if ((flags & IORING_SETUP_SQPOLL) && u->sq_cpu >= 0) {
		p->flags |= IORING_SETUP_SQ_AFF;
		p->sq_thread_cpu = (uint32_t)u->sq_cpu;
	}
}

static int ring_init(struct weir_blk *dev, struct io_uring *ring, unsigned entries,
		     unsigned flags)
{
	struct uring_priv *u = dev->priv;
	struct io_uring_params p;
	int err;

	/* COOP_TASKRUN: completions without an IPI; the kernel flags when
	 * the CQ needs a flush, and liburing enters only then. DEFER_TASKRUN
	 * (Linux 6.1): they run only when the owner enters to wait. */
	err = -EINVAL;
	if (u->defer) {
		ring_params(u, &p, flags | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
					   IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
					   IORING_SETUP_R_DISABLED);
		err = io_uring_queue_init_params(entries, ring, &p);
		if (err == -EINVAL) {
			u->defer = false;
			weir_blk_notef(dev, "defer=1: the kernel has no DEFER_TASKRUN (Linux "
				       "6.1): completions run as task work");
		}
	}
	if (err == -EINVAL) {
		ring_params(u, &p, flags | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
		err = io_uring_queue_init_params(entries, ring, &p);
	}
	if (err == -EINVAL) {
		ring_params(u, &p, flags);
		err = io_uring_queue_init_params(entries, ring, &p);
	}
	if (err == -EINVAL && u->sq_cpu >= 0)
		return weir_blk_fail(dev, err, "sq_cpu=%d: the kernel refused that CPU for the "
				     "polling thread (it must be online and allowed: see "
				     "taskset -p $$)", u->sq_cpu);
	if (err == -EPERM && (flags & IORING_SETUP_SQPOLL))
		return weir_blk_fail(dev, err, "sqpoll=1 is not permitted here (%s; before Linux "
				     "5.11 it needs CAP_SYS_NICE): use sqpoll=0", strerror(-err));
	if (err)
		return weir_blk_fail(dev, err, "io_uring_queue_init: %s%s", strerror(-err),
				     err == -ENOMEM ? " (raise ulimit -l, or a smaller qd)" : "");
	return 0;
}

static int ring_register(struct weir_blk *dev, struct io_uring *ring, bool bufs)
{
	struct uring_priv *u = dev->priv;
	int err = io_uring_register_files(ring, &u->fd, 1);

	if (err)
		return weir_blk_fail(dev, err, "cannot register the file with io_uring: %s",
				     strerror(-err));
	if (!bufs)
		return 0;
	err = io_uring_register_buffers(ring, u->reg, (unsigned)u->nreg);
	if (err)
		return weir_blk_fail(dev, err, "cannot register the pool as fixed buffers: %s "
				     "(raise ulimit -l, or use fixed=0)", strerror(-err));
	return 0;
}

static int qp_setup(struct weir_blk *dev, struct uring_qp *q, uint32_t qd)
{
	struct uring_priv *u = dev->priv;
	unsigned flags = (u->sqpoll ? IORING_SETUP_SQPOLL : 0) |
			 (u->iopoll ? IORING_SETUP_IOPOLL : 0) |
			 (u->nvme ? IORING_SETUP_SQE128 | IORING_SETUP_CQE32 : 0);
	int err;

	q->io = calloc(qd, sizeof(*q->io));
	q->free = calloc(qd, sizeof(*q->free));
	q->redo = calloc(qd, sizeof(*q->redo));
	if (!q->io || !q->free || !q->redo)
		return weir_blk_fail(dev, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < qd; i++)
		q->free[q->nfree++] = qd - 1 - i;
	q->flags = flags;
	err = ring_init(dev, &q->ring, qd, flags);
	if (err)
		return err;
	q->has_ring = true;
	err = ring_register(dev, &q->ring, u->fixed);
	if (!err && u->fixed && !u->nvme && q->base.id == 0) {
		struct io_uring_probe *pr = io_uring_get_probe_ring(&q->ring);

		u->vec_fixed = pr && io_uring_opcode_supported(pr, URING_OP_READV_FIXED) &&
			       io_uring_opcode_supported(pr, URING_OP_WRITEV_FIXED);
		io_uring_free_probe(pr);
	}
	if (err || !u->iopoll)
		return err;
	err = ring_init(dev, &q->aux, qd, flags & ~(unsigned)IORING_SETUP_IOPOLL);
	if (err)
		return err;
	q->has_aux = true;
	return ring_register(dev, &q->aux, false);
}

static pid_t self_tid(void)
{
	static __thread __attribute__((tls_model("initial-exec"))) pid_t tid;

	if (!tid)
		tid = gettid();
	return tid;
}

int uring_adopt(struct uring_qp *q)
{
	struct weir_blk *dev = q->base.dev;
	struct uring_priv *u = dev->priv;
	pid_t me = self_tid();
	int err;

	if (q->owner == me)
		return 0;
	if (q->owner && q->busy) {
		weir_blk_qp_errorf(&q->base, "queue pair %u submitted on by a second thread "
				   "with I/O in flight: one thread per queue pair (poll it empty "
				   "before handing it over)", q->base.id);
		return -EBUSY;
	}
	if (q->owner) {
		/* Only the first submitter may use the ring: a new one for me. */
		io_uring_queue_exit(&q->ring);
		q->has_ring = false;
		if ((err = ring_init(dev, &q->ring, q->base.qd, q->flags)))
			return err;
		q->has_ring = true;
		if ((err = ring_register(dev, &q->ring, u->fixed)))
			return err;
		q->n_handover++;
	}
	/* io_uring_enable_rings, which liburing 2.3's library lacks. */
	if (syscall(__NR_io_uring_register, q->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL,
		    0) < 0) {
		err = -errno;
		weir_blk_qp_errorf(&q->base, "cannot enable the ring (IORING_REGISTER_ENABLE_RINGS): "
				   "%s; use defer=0", strerror(-err));
		return err;
	}
	q->owner = me;
	return 0;
}

/* Registered regions: each pool's data area, in pieces of at most 1 GiB. */
static int add_regions(struct weir_blk *dev, const struct weir_pool *pool)
{
	struct uring_priv *u = dev->priv;
	size_t len = pool ? (size_t)pool->n * pool->buf_size : 0;

	for (size_t off = 0; off < len; off += URING_REGION_MAX) {
		if (u->nreg == URING_MAX_REGIONS)
			return weir_blk_fail(dev, -E2BIG, "pools too large to register (at most "
					     "%d GiB): use fixed=0", URING_MAX_REGIONS);
		u->reg[u->nreg].iov_base = pool->data + off;
		u->reg[u->nreg].iov_len = WEIR_MIN(len - off, URING_REGION_MAX);
		u->nreg++;
	}
	return 0;
}

static void uring_close(struct weir_blk *dev);

/* Keys into the driver's state; returns ro through *ro. */
static int parse_keys(struct weir_blk *dev, const struct weir_blk_conf *conf, uint64_t *qd,
		      bool *ro)
{
	struct uring_priv *u = dev->priv;
	int direct, sqpoll, iopoll, fixed, merge, wait, defer, r;
	uint64_t cpu, batch, spin;

	if ((r = weir_blk_arg_u64(dev, "qd", 128, 1, 4096, qd)) ||
	    (r = weir_blk_arg_u64(dev, "sq_cpu", 0, 0, CPU_SETSIZE - 1, &cpu)))
		return r;
	if ((direct = weir_blk_arg_choice(dev, "direct", 1)) < 0 ||
	    (sqpoll = weir_blk_arg_choice(dev, "sqpoll", 0)) < 0 ||
	    (iopoll = weir_blk_arg_choice(dev, "iopoll", 0)) < 0 ||
	    (fixed = weir_blk_arg_choice(dev, "fixed", 1)) < 0 ||
	    (merge = weir_blk_arg_choice(dev, "merge", 1)) < 0 ||
	    (r = weir_blk_arg_choice(dev, "ro", 0)) < 0 ||
	    (wait = weir_blk_arg_choice(dev, "wait", !iopoll)) < 0 ||
	    (defer = weir_blk_arg_choice(dev, "defer", 1)) < 0)
		return -EINVAL;
	*ro = r;
	/* Direct I/O: two SQEs per enter at most by default. The kernel plugs
	 * a submission of more than two (io_submit_state_start), so the
	 * first of a burst of 20 reaches the device only when the 20th is
	 * ready; unplugged, each starts as it is prepared. Measured on the
	 * virtio disk at QD32: 0.91x fio's IOPS batched, 1.0x so. Page-cache
	 * I/O reaches no device: the whole burst in one enter. */
	if ((r = weir_blk_arg_u64(dev, "batch", direct ? 2 : 0, 0, *qd, &batch)))
		return r;
	if (sqpoll && weir_blk_arg_given(dev, "batch"))
		return weir_blk_fail(dev, -EINVAL, "batch=%llu: with sqpoll=1 the polling thread "
				     "submits, not io_uring_enter; drop batch",
				     (unsigned long long)batch);
	u->batch = sqpoll ? 0 : (uint32_t)batch;
	if ((r = weir_blk_arg_u64(dev, "spin", sqpoll && wait ? URING_SPIN_US : 0, 0, 1000000,
				  &spin)))
		return r;
	if (spin && weir_blk_arg_given(dev, "spin") && (!sqpoll || !wait))
		return weir_blk_fail(dev, -EINVAL, "spin=%llu watches the completion queue before "
				     "sleeping: only sqpoll=1's thread fills it without a system "
				     "call, and wait=0 always spins; add sqpoll=1 (with wait=1), or "
				     "drop spin", (unsigned long long)spin);
	u->spin_ns = spin * WEIR_NS_PER_US;
	u->direct = direct;
	u->sqpoll = sqpoll;
	u->iopoll = iopoll;
	u->iopoll_force = iopoll == 2;
	u->merge = merge;
	u->wait = wait;
	u->defer = defer && wait && !sqpoll && !iopoll && !conf->fd_wait;
	if (defer && weir_blk_arg_given(dev, "defer") && !u->defer)
		return weir_blk_fail(dev, -EINVAL, "defer=1 runs completions when the thread "
				     "waits: it needs wait=1, no sqpoll or iopoll, and no stacked "
				     "driver over it; drop defer=1");
	u->sq_cpu = weir_blk_arg_given(dev, "sq_cpu") ? (int)cpu : -1;
	u->fixed = fixed && (conf->pool || conf->pool2);
	if (fixed && weir_blk_arg_given(dev, "fixed") && !u->fixed)
		return weir_blk_fail(dev, -EINVAL, "fixed=1 needs a pool to register (conf.pool)");
	if (iopoll && !direct)
		return weir_blk_fail(dev, -EINVAL, "iopoll needs direct=1 (page-cache I/O "
				     "cannot be polled)");
	if (iopoll && wait)
		return weir_blk_fail(dev, -EINVAL, "iopoll=1 polls the device, so wait=1 would "
				     "spin in the kernel: drop one of them");
	if (u->sq_cpu >= 0 && !sqpoll)
		return weir_blk_fail(dev, -EINVAL, "sq_cpu=%d pins the SQPOLL thread: add "
				     "sqpoll=1, or drop sq_cpu", u->sq_cpu);
	return 0;
}

/* The logical block size: lbs= or the device's; never below what direct
 * I/O can address. */
static int pick_lbs(struct weir_blk *dev, uint32_t dev_lbs, uint32_t *lbs)
{
	struct uring_priv *u = dev->priv;
	int c = weir_blk_arg_choice(dev, "lbs", -1);

	if (c < -1)
		return c;
	*lbs = c == 0 ? 512 : c == 1 ? 4096 : WEIR_MAX(dev_lbs, 512u);
	if ((u->direct || u->nvme) && *lbs < dev_lbs)
		return weir_blk_fail(dev, -EINVAL, "lbs=%u is below the device's %u-byte block, "
				     "which direct I/O cannot split: use lbs=%u%s", *lbs, dev_lbs,
				     dev_lbs, u->nvme ? "" : " (or direct=0)");
	if (!weir_is_pow2(*lbs) || *lbs > 65536)
		return weir_blk_fail(dev, -EINVAL, "the device's block of %u bytes is not usable",
				     dev_lbs);
	u->lbs_shift = (uint32_t)__builtin_ctz(*lbs);
	u->nvme_shift = u->nvme ? u->lbs_shift - (uint32_t)__builtin_ctz(dev_lbs) : 0;
	return 0;
}

static int fill_info(struct weir_blk *dev, const struct stat *st, bool ro, uint64_t size,
		     uint32_t dev_lbs, uint32_t mem_align)
{
	struct uring_priv *u = dev->priv;
	struct weir_blk_info *in = &dev->info;
	char why[200];
	int err;

	if ((err = pick_lbs(dev, dev_lbs, &in->lbs)))
		return err;
	in->nblocks = size >> u->lbs_shift;
	if (!in->nblocks)
		return weir_blk_fail(dev, -EINVAL, "%llu bytes: smaller than one %u-byte block "
				     "(size it first: truncate -s 64M %s)",
				     (unsigned long long)size, in->lbs, dev->name);
	if (size & (in->lbs - 1))
		weir_blk_notef(dev, "the last %llu bytes (less than a block) are not used",
			       (unsigned long long)(size & (in->lbs - 1)));
	if (u->iopoll && !can_iopoll(dev, st, why, sizeof(why)) && u->iopoll_force) {
		weir_blk_notef(dev, "iopoll=force: %s; trying polled I/O anyway (if the device "
			       "refuses it, the ordinary ring takes over, said once)", why);
	} else if (u->iopoll && !can_iopoll(dev, st, why, sizeof(why))) {
		weir_blk_notef(dev, "iopoll=1: %s; completions come by interrupt instead "
			       "(iopoll off)", why);
		u->iopoll = false;
	}
	u->merge_max = u->nvme ? URING_NVME_MERGE_MAX : URING_MERGE_MAX;
	in->dev_lbs = dev_lbs;
	in->mem_align = u->direct || u->nvme ? mem_align : 1;
	in->max_blocks = u->merge_max >> u->lbs_shift;
	in->features = (u->direct ? WEIR_BLK_F_DIRECT : 0) | (u->fixed ? WEIR_BLK_F_FIXED : 0) |
		       (u->sqpoll ? WEIR_BLK_F_SQPOLL : 0) | (u->iopoll ? WEIR_BLK_F_IOPOLL : 0) |
		       (u->nvme ? WEIR_BLK_F_NVME | WEIR_BLK_F_DIRECT : 0) |
		       (ro ? WEIR_BLK_F_READONLY : 0) | (u->wait ? WEIR_BLK_F_WAIT : 0);
	in->ident[0] = u->bdev || u->nvme ? st->st_rdev : st->st_dev;
	in->ident[1] = u->bdev || u->nvme ? 0 : st->st_ino;
	return 0;
}

static int uring_open(struct weir_blk *dev, const struct weir_blk_conf *conf)
{
	struct uring_priv *u = dev->priv;
	uint32_t dev_lbs, mem_align;
	uint64_t qd, size;
	struct stat st;
	bool ro;
	int err, inl;

	u->fd = -1;
	if ((err = parse_keys(dev, conf, &qd, &ro)))
		return err;
	if ((inl = weir_blk_arg_choice(dev, "inline", 2)) < 0)
		return inl;
	if ((err = open_fd(dev, ro, u->direct, &st)))
		return err;
	if ((err = probe_geometry(dev, &st, &ro, &size, &dev_lbs, &mem_align)) ||
	    (err = uring_inline_pick(dev, inl, &st)))
		goto fail;
	/* Inline: the done ring fills during submit, nothing is waited for. */
	if (u->inline_io)
		u->wait = u->defer = false;
	if ((err = fill_info(dev, &st, ro, size, dev_lbs, mem_align)))
		goto fail;
	if (u->bdev && u->defer && weir_blk_arg_given(dev, "defer")) {
		err = weir_blk_fail(dev, -EINVAL, "defer=1 is for files: a block device's ring "
				    "must be closable from any thread; drop defer=1");
		goto fail;
	}
	u->defer = u->defer && !u->bdev;
	if (u->fixed && ((err = add_regions(dev, conf->pool)) ||
			 (err = add_regions(dev, conf->pool2))))
		goto fail;
	err = weir_blk_alloc_qps(dev, conf->nb_qp ? conf->nb_qp : 1, (uint16_t)qd);
	if (err) {
		err = weir_blk_fail(dev, err, "out of memory");
		goto fail;
	}
	for (uint16_t i = 0; i < dev->nb_qp; i++)
		if ((err = qp_setup(dev, (struct uring_qp *)dev->qp[i], (uint32_t)qd)))
			goto fail;
	return 0;
fail:
	uring_close(dev);
	return err;
}

/* Waits for a ring's I/Os so the kernel is done with their buffers. */
static void ring_drain(struct uring_qp *q, struct io_uring *ring)
{
	struct io_uring_cqe *cqe;

	/* wait=1 may have SQEs prepared and not yet handed over. */
	io_uring_submit(ring);
	while (q->busy && io_uring_wait_cqe(ring, &cqe) == 0) {
		uint32_t slot = (uint32_t)(cqe->user_data & ~URING_AUX);

		io_uring_cqe_seen(ring, cqe);
		q->free[q->nfree++] = slot;
		q->busy--;
	}
}

static void uring_close(struct weir_blk *dev)
{
	struct uring_priv *u = dev->priv;

	for (uint16_t i = 0; dev->qp && i < dev->nb_qp; i++) {
		struct uring_qp *q = (struct uring_qp *)dev->qp[i];

		/* A slot waiting for an SQE never reached the kernel. */
		q->busy -= q->nredo;
		/* Unregistering drops the rings' file references now; left to
		 * the ring's teardown they outlive close() (a workqueue), and an
		 * O_EXCL block device would be busy for the next open. */
		if (q->has_ring) {
			ring_drain(q, &q->ring);
			if (q->has_aux)
				ring_drain(q, &q->aux);
			io_uring_unregister_files(&q->ring);
			io_uring_queue_exit(&q->ring);
		}
		if (q->has_aux) {
			io_uring_unregister_files(&q->aux);
			io_uring_queue_exit(&q->aux);
		}
		q->has_ring = q->has_aux = false;
		free(q->io);
		free(q->free);
		free(q->redo);
		q->io = NULL;
		q->free = q->redo = NULL;
	}
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

static int uring_xstats(struct weir_blk *dev, struct weir_blk_xstat *xs, int n)
{
	struct uring_priv *u = dev->priv;
	uint64_t v[14] = {0};
	static const char *const names[] = {"fixed_ios", "vectored_ios", "short_resubmits",
					    "eagain_retries", "discards_without_effect",
					    "iopoll_refused", "waits", "deferred_rings",
					    "ring_handovers", "batch_submits", "spin_hits",
					    "vectored_fixed_ios", "inline", "inline_ios"};

	for (uint16_t i = 0; i < dev->nb_qp; i++) {
		const struct uring_qp *q = (const struct uring_qp *)dev->qp[i];

		v[0] += q->n_fixed;
		v[1] += q->n_vec;
		v[2] += q->n_short;
		v[3] += q->n_retry;
		v[6] += q->n_waits;
		v[8] += q->n_handover;
		v[9] += q->n_groups;
		v[10] += q->n_spin_hits;
		v[11] += q->n_vfixed;
		v[13] += q->n_inline;
	}
	v[7] = u->defer ? dev->nb_qp : 0;
	v[4] = atomic_load(&u->discard_noop);
	v[5] = atomic_load(&u->iopoll_refused);
	v[12] = u->inline_io;
	for (int i = 0; i < 14 && i < n; i++) {
		snprintf(xs[i].name, sizeof(xs[i].name), "%s", names[i]);
		xs[i].value = v[i];
	}
	return 14;
}

#define SPIN_STR_(x) #x
#define SPIN_STR(x) SPIN_STR_(x)

static const struct weir_blk_param uring_params[] = {
	{"direct", "O_DIRECT, bypassing the page cache (default 1)", "0|1"},
	{"qd", "requests in flight per queue pair, 1..4096 (default 128)", NULL},
	{"sqpoll", "a kernel thread polls the submission queue (default 0)", "0|1"},
	{"iopoll", "poll the device for completions (needs direct=1; default 0; force: even "
		   "where it has no poll queues, to exercise the path)", "0|1|force"},
	{"fixed", "register the pools as fixed buffers (default 1 when given one)", "0|1"},
	{"lbs", "logical block size (default: the device's, at least 512)", "512|4096"},
	{"ro", "open read-only (default 0)", "0|1"},
	{"merge", "merge adjacent requests of a burst (default 1)", "0|1"},
	{"batch", "most requests handed to the kernel per io_uring_enter, 0: a whole burst "
		  "(default 2 with direct=1: more are held in the block layer's plug until the "
		  "last is ready; 0 with direct=0)", NULL},
	{"sq_cpu", "the CPU of the sqpoll=1 thread (default: the scheduler's choice)", NULL},
	{"wait", "weir_blk_poll_wait sleeps in the kernel for completions (default 1; 0 "
		 "with iopoll=1, which polls; 0: spin on the completion queue)", "0|1"},
	{"spin", "sqpoll=1 with wait=1: microseconds weir_blk_poll_wait spins on the "
		 "completion queue before it sleeps (default " SPIN_STR(URING_SPIN_US) "; not "
		 "while the polling thread is pinned to the waiting thread's CPU)", NULL},
	{"defer", "completions run in the waiting thread, in a batch (DEFER_TASKRUN; default "
		  "1 where wait=1 on a file)", "0|1"},
	{"inline", "reads and writes done by the submitting thread (preadv/pwritev2) instead "
		   "of io_uring (default auto: on for a memory file system's file that refuses "
		   "RWF_NOWAIT, which io_uring hands to a kernel worker per request; an explicit "
		   "wait=1 or defer=1 keeps io_uring, and inline=1 refuses them)", "0|1|auto"},
	{NULL, NULL, NULL},
};

static const struct weir_blk_ops uring_ops = {
	.open = uring_open,
	.submit = uring_submit,
	.poll = uring_poll,
	.wait = uring_wait,
	.qp_fd = uring_qp_fd,
	.xstats = uring_xstats,
	.close = uring_close,
};

static struct weir_blk_driver uring_driver = {
	.name = "uring",
	.help = "uring:PATH — a file, block device or /dev/ngXnY through io_uring",
	.ops = &uring_ops,
	.params = uring_params,
	.priv_size = sizeof(struct uring_priv),
	.qp_size = sizeof(struct uring_qp),
};

WEIR_BLK_DRIVER_REGISTER(uring_driver)
