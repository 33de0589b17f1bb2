// SPDX-License-Identifier: BSD-3-Clause
/*
 * uring: block devices and files through io_uring, one ring per queue pair.
 *
 *     uring:/path?direct=1&qd=128&sqpoll=0&iopoll=0&fixed=1&lbs=512|4096&ro=0&merge=1
 *
 * The file is opened with O_DIRECT (direct=1, the default) and registered
 * with each ring; the pools given at open are registered as fixed buffers
 * once (a pool's data area is one page-aligned mapping, so it is one
 * registered buffer per GiB), and an I/O whose data is one contiguous run
 * inside a registered pool goes out as READ_FIXED/WRITE_FIXED: no per-I/O
 * pinning, no copy. Chains that are not contiguous go out as READV/WRITEV.
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
 * On an NVMe generic character device (/dev/ngXnY) I/O is NVMe passthrough
 * (IORING_OP_URING_CMD, uring_nvme.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "uring_nvme.h"
#include "weir/blk_driver.h"
#include "weir/log.h"

#define URING_MAX_REGIONS 8
#define URING_REGION_MAX (1UL << 30) /* io_uring registers at most 1 GiB per buffer */
#define URING_MERGE_MAX (1u << 20)
#define URING_NVME_MERGE_MAX (128u << 10)
#define URING_AUX (1ULL << 32) /* user_data bit: the I/O went to the aux ring */
#define URING_TRIES 16

enum { ZERO_RANGE = 0, ZERO_PUNCH, ZERO_NONE };

struct uring_priv {
	int fd;
	bool bdev, nvme, direct, sqpoll, iopoll, fixed, merge;
	uint32_t lbs_shift;
	uint32_t nsid, nvme_shift; /* NVMe: namespace, log2(lbs / namespace block) */
	uint32_t merge_max;
	int nreg;
	struct iovec reg[URING_MAX_REGIONS];
	_Atomic int zero_mode;
	_Atomic uint64_t discard_noop;
};

/* One I/O in flight: one SQE, carrying one request or a merged run. */
struct uring_io {
	struct weir_blk_req *head, *tail;
	uint64_t off;     /* byte offset of what is still to transfer */
	uint32_t left;    /* bytes still to transfer */
	uint32_t done;    /* bytes transferred */
	uint16_t first;   /* iov[first..niov) still to go */
	uint16_t niov;
	uint8_t op;
	bool fua;
	uint8_t tries;
	struct nvme_dsm_range dsm;
	struct iovec iov[WEIR_BLK_MAX_IOV];
};

struct uring_qp {
	struct weir_blk_qp base;
	struct io_uring ring; /* reads and writes (IOPOLL when on) */
	struct io_uring aux;  /* IOPOLL only: flush, write-zeroes, discard */
	bool has_ring, has_aux;
	uint32_t busy;        /* I/Os in flight in either ring */
	struct uring_io *io;
	uint32_t *free;
	uint32_t nfree;
	uint32_t *redo;       /* I/Os to resubmit that found no SQE */
	uint32_t nredo;
	uint64_t n_fixed, n_vec, n_short, n_retry;
};

static inline struct uring_priv *priv_of(struct weir_blk_qp *qp)
{
	return qp->dev->priv;
}

/* --- preparing SQEs ----------------------------------------------------- */

/* Registered buffer holding all of v, or -1. */
static int find_region(const struct uring_priv *u, const struct iovec *v)
{
	uintptr_t a = (uintptr_t)v->iov_base;

	for (int i = 0; i < u->nreg; i++) {
		uintptr_t b = (uintptr_t)u->reg[i].iov_base;

		if (a >= b && a + v->iov_len <= b + u->reg[i].iov_len)
			return i;
	}
	return -1;
}

static void prep_nvme(struct uring_qp *q, struct io_uring_sqe *sqe, struct uring_io *io,
		      uint64_t ud)
{
	struct uring_priv *u = priv_of(&q->base);
	uint64_t slba = (io->off >> u->lbs_shift) << u->nvme_shift;
	uint32_t nlb = (io->left >> u->lbs_shift) << u->nvme_shift;
	uint16_t niov = (uint16_t)(io->niov - io->first);
	struct nvme_uring_cmd c;
	int buf = -1;

	switch (io->op) {
	case WEIR_BLK_READ:
	case WEIR_BLK_WRITE:
		uring_nvme_rw(&c, io->op == WEIR_BLK_WRITE, u->nsid, slba, nlb,
			      &io->iov[io->first], niov, io->fua);
		if (niov == 1 && u->fixed)
			buf = find_region(u, &io->iov[io->first]);
		break;
	case WEIR_BLK_FLUSH:
		uring_nvme_flush(&c, u->nsid);
		break;
	case WEIR_BLK_WRITE_ZEROES:
		uring_nvme_write_zeroes(&c, u->nsid, slba, nlb);
		break;
	default:
		uring_nvme_dsm(&c, u->nsid, &io->dsm, slba, nlb);
		break;
	}
	uring_nvme_prep_sqe(sqe, &c, niov > 1 && io->op <= WEIR_BLK_WRITE, buf, ud);
	q->n_fixed += buf >= 0;
}

static void prep_file(struct uring_qp *q, struct io_uring_sqe *sqe, struct uring_io *io)
{
	struct uring_priv *u = priv_of(&q->base);
	const struct iovec *v = &io->iov[io->first];
	uint16_t niov = (uint16_t)(io->niov - io->first);
	int zm, buf;

	switch (io->op) {
	case WEIR_BLK_READ:
	case WEIR_BLK_WRITE:
		buf = niov == 1 && u->fixed ? find_region(u, v) : -1;
		if (buf >= 0 && io->op == WEIR_BLK_READ)
			io_uring_prep_read_fixed(sqe, 0, v->iov_base, (unsigned)v->iov_len, io->off, buf);
		else if (buf >= 0)
			io_uring_prep_write_fixed(sqe, 0, v->iov_base, (unsigned)v->iov_len, io->off,
						  buf);
		else if (io->op == WEIR_BLK_READ)
			io_uring_prep_readv(sqe, 0, v, niov, io->off);
		else
			io_uring_prep_writev(sqe, 0, v, niov, io->off);
		if (io->fua)
			sqe->rw_flags = RWF_DSYNC;
		q->n_fixed += buf >= 0;
		q->n_vec += niov > 1;
		break;
	case WEIR_BLK_FLUSH:
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
		break;
	case WEIR_BLK_WRITE_ZEROES:
		zm = atomic_load_explicit(&u->zero_mode, memory_order_relaxed);
		io_uring_prep_fallocate(sqe, 0,
					(zm == ZERO_RANGE ? FALLOC_FL_ZERO_RANGE : FALLOC_FL_PUNCH_HOLE) |
						FALLOC_FL_KEEP_SIZE,
					io->off, io->left);
		break;
	default:
		io_uring_prep_fallocate(sqe, 0, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, io->off,
					io->left);
		break;
	}
	sqe->flags |= IOSQE_FIXED_FILE;
}

/* Puts I/O slot into an SQE: 0, or -EBUSY when its ring has none free. */
static int prep_io(struct uring_qp *q, uint32_t slot)
{
	struct uring_priv *u = priv_of(&q->base);
	struct uring_io *io = &q->io[slot];
	bool aux = q->has_aux && io->op > WEIR_BLK_WRITE;
	struct io_uring *ring = aux ? &q->aux : &q->ring;
	uint64_t ud = slot | (aux ? URING_AUX : 0);
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
		if (!sqe)
			return -EBUSY;
	}
	if (u->nvme) {
		prep_nvme(q, sqe, io, ud);
		return 0;
	}
	prep_file(q, sqe, io);
	io_uring_sqe_set_data64(sqe, ud);
	return 0;
}

/* --- submission --------------------------------------------------------- */

static void add_iov(struct uring_io *io, const struct iovec *v, int n)
{
	for (int i = 0; i < n; i++) {
		struct iovec *last = io->niov ? &io->iov[io->niov - 1] : NULL;

		/* Neighbouring pool buffers become one run (one fixed I/O). */
		if (last && (uint8_t *)last->iov_base + last->iov_len == v[i].iov_base)
			last->iov_len += v[i].iov_len;
		else
			io->iov[io->niov++] = v[i];
	}
}

static bool can_merge(const struct uring_priv *u, const struct uring_io *io,
		      const struct weir_blk_req *r, uint32_t bytes, int niov)
{
	return u->merge && io->op == r->op && r->op <= WEIR_BLK_WRITE &&
	       io->fua == !!(r->flags & WEIR_BLK_REQ_FUA) &&
	       !((io->head->flags | r->flags) & WEIR_BLK_REQ_NOMERGE) &&
	       io->off + io->left == r->lba << u->lbs_shift &&
	       io->left + bytes <= u->merge_max && io->niov + niov <= WEIR_BLK_MAX_IOV;
}

static void io_start(struct uring_priv *u, struct uring_io *io, struct weir_blk_req *r,
		     uint32_t bytes)
{
	io->head = io->tail = r;
	r->drv_next = NULL;
	io->op = r->op;
	io->fua = r->flags & WEIR_BLK_REQ_FUA;
	io->off = r->lba << u->lbs_shift;
	io->left = r->op == WEIR_BLK_FLUSH ? 0 : bytes;
	io->done = 0;
	io->first = io->niov = 0;
	io->tries = 0;
}

static uint16_t uring_submit(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n)
{
	struct uring_qp *q = (struct uring_qp *)qp;
	struct uring_priv *u = priv_of(qp);
	struct iovec v[WEIR_BLK_MAX_IOV];
	struct uring_io *io = NULL;
	uint32_t slot = 0;
	uint16_t i, io_first = 0;

	for (i = 0; i < n; i++) {
		struct weir_blk_req *r = reqs[i];
		uint32_t bytes = r->nblocks << u->lbs_shift;
		int niov = r->op <= WEIR_BLK_WRITE ? weir_blk_req_iov(r, v) : 0;

		if (io && can_merge(u, io, r, bytes, niov)) {
			io->tail->drv_next = r;
			io->tail = r;
			r->drv_next = NULL;
			io->left += bytes;
			add_iov(io, v, niov);
			qp->stats.merged++;
			continue;
		}
		if (io && prep_io(q, slot) < 0)
			break;
		io = NULL;
		if (!q->nfree)
			break;
		slot = q->free[--q->nfree];
		io = &q->io[slot];
		io_first = i;
		io_start(u, io, r, bytes);
		add_iov(io, v, niov);
		q->busy++;
		qp->stats.ios++;
	}
	if (io && prep_io(q, slot) < 0) {
		/* No SQE for the last I/O: give its requests back. */
		q->free[q->nfree++] = slot;
		q->busy--;
		qp->stats.ios--;
		i = io_first;
	}
	io_uring_submit(&q->ring);
	if (q->has_aux)
		io_uring_submit(&q->aux);
	return i;
}

/* --- completion --------------------------------------------------------- */

static void io_finish(struct uring_qp *q, uint32_t slot, int err)
{
	struct uring_io *io = &q->io[slot];
	uint64_t end = 0;
	uint32_t lbs = q->base.dev->info.lbs;

	if (err) {
		struct weir_blk_req *h = io->head;

		weir_blk_qp_errorf(&q->base, "%s lba %llu (%u bytes done): %s%s",
				   weir_blk_op_name(io->op), (unsigned long long)h->lba, io->done,
				   strerror(-err),
				   err == -ENOSPC ? " (the file system under it is full)" : "");
	}
	for (struct weir_blk_req *r = io->head, *next; r; r = next) {
		next = r->drv_next;
		end += (uint64_t)r->nblocks * lbs;
		/* What a short transfer finished before the error stands. */
		weir_blk_qp_complete(&q->base, r, err && end > io->done ? err : 0);
	}
	q->free[q->nfree++] = slot;
	q->busy--;
}

/* Steps the I/O's iovecs past n transferred bytes. */
static void io_advance(struct uring_io *io, uint32_t n)
{
	io->done += n;
	io->left -= n;
	io->off += n;
	while (n) {
		struct iovec *v = &io->iov[io->first];

		if (n < v->iov_len) {
			v->iov_base = (uint8_t *)v->iov_base + n;
			v->iov_len -= n;
			break;
		}
		n -= (uint32_t)v->iov_len;
		io->first++;
	}
}

static void resubmit(struct uring_qp *q, uint32_t slot)
{
	if (prep_io(q, slot) < 0)
		q->redo[q->nredo++] = slot;
}

static void io_complete(struct uring_qp *q, uint32_t slot, int res)
{
	struct uring_priv *u = priv_of(&q->base);
	struct uring_io *io = &q->io[slot];

	if (u->nvme)
		res = uring_nvme_errno(res);
	if (res < 0) {
		if ((res == -EAGAIN || res == -EINTR) && ++io->tries < URING_TRIES) {
			q->n_retry++;
			resubmit(q, slot);
			return;
		}
		if (res == -EOPNOTSUPP && io->op == WEIR_BLK_WRITE_ZEROES && !u->nvme &&
		    atomic_load(&u->zero_mode) == ZERO_RANGE) {
			/* tmpfs and a few others punch but cannot zero. */
			atomic_store(&u->zero_mode, ZERO_PUNCH);
			resubmit(q, slot);
			return;
		}
		if (res == -EOPNOTSUPP && io->op == WEIR_BLK_DISCARD) {
			atomic_fetch_add(&u->discard_noop, 1);
			res = 0;
		}
		io_finish(q, slot, res);
		return;
	}
	if (io->op > WEIR_BLK_WRITE || u->nvme || (uint32_t)res == io->left) {
		io->done += io->left;
		io_finish(q, slot, 0);
		return;
	}
	if (res == 0 || ++io->tries >= URING_TRIES) {
		/* Nothing moved: the file shrank under us, or it is full. */
		io_finish(q, slot, io->op == WEIR_BLK_READ ? -EIO : -ENOSPC);
		return;
	}
	q->n_short++;
	io_advance(io, (uint32_t)res);
	resubmit(q, slot);
}

static unsigned reap(struct uring_qp *q, struct io_uring *ring, unsigned budget, bool iopoll)
{
	struct io_uring_cqe *cqes[64];
	unsigned n;

	if (budget > 64)
		budget = 64;
	/* An IOPOLL ring completes nothing until asked to poll the device. */
	if (iopoll && q->busy && !io_uring_cq_ready(ring))
		io_uring_get_events(ring);
	n = io_uring_peek_batch_cqe(ring, cqes, budget);
	for (unsigned i = 0; i < n; i++)
		io_complete(q, (uint32_t)(cqes[i]->user_data & ~URING_AUX), cqes[i]->res);
	io_uring_cq_advance(ring, n);
	return n;
}

static uint16_t uring_poll(struct weir_blk_qp *qp, uint16_t budget)
{
	struct uring_qp *q = (struct uring_qp *)qp;
	struct uring_priv *u = priv_of(qp);
	uint32_t before = qp->done_tail;
	uint32_t redo = q->nredo;

	if (!q->busy)
		return 0;
	q->nredo = 0;
	for (uint32_t i = 0; i < redo; i++)
		resubmit(q, q->redo[i]);
	reap(q, &q->ring, budget, u->iopoll);
	if (q->has_aux)
		reap(q, &q->aux, budget, false);
	/* Resubmissions (short transfers, fallbacks) prepared while reaping. */
	if (io_uring_sq_ready(&q->ring))
		io_uring_submit(&q->ring);
	if (q->has_aux && io_uring_sq_ready(&q->aux))
		io_uring_submit(&q->aux);
	return (uint16_t)(qp->done_tail - before);
}

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

static int ring_init(struct weir_blk *dev, struct io_uring *ring, unsigned entries,
		     unsigned flags)
{
	struct io_uring_params p;
	int err;

	/* COOP_TASKRUN: completions without an IPI; the kernel flags when
	 * the CQ needs a flush, and liburing enters only then. */
	memset(&p, 0, sizeof(p));
	p.flags = flags | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	p.sq_thread_idle = 100;
	err = io_uring_queue_init_params(entries, ring, &p);
	if (err == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = flags;
		p.sq_thread_idle = 100;
		err = io_uring_queue_init_params(entries, ring, &p);
	}
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
	err = ring_init(dev, &q->ring, qd, flags);
	if (err)
		return err;
	q->has_ring = true;
	err = ring_register(dev, &q->ring, u->fixed);
	if (err || !u->iopoll)
		return err;
	err = ring_init(dev, &q->aux, qd, flags & ~(unsigned)IORING_SETUP_IOPOLL);
	if (err)
		return err;
	q->has_aux = true;
	return ring_register(dev, &q->aux, false);
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
	int direct, sqpoll, iopoll, fixed, merge, r;

	if ((r = weir_blk_arg_u64(dev, "qd", 128, 1, 4096, qd)))
		return r;
	if ((direct = weir_blk_arg_choice(dev, "direct", 1)) < 0 ||
	    (sqpoll = weir_blk_arg_choice(dev, "sqpoll", 0)) < 0 ||
	    (iopoll = weir_blk_arg_choice(dev, "iopoll", 0)) < 0 ||
	    (fixed = weir_blk_arg_choice(dev, "fixed", 1)) < 0 ||
	    (merge = weir_blk_arg_choice(dev, "merge", 1)) < 0 ||
	    (r = weir_blk_arg_choice(dev, "ro", 0)) < 0)
		return -EINVAL;
	*ro = r;
	u->direct = direct;
	u->sqpoll = sqpoll;
	u->iopoll = iopoll;
	u->merge = merge;
	u->fixed = fixed && (conf->pool || conf->pool2);
	if (fixed && weir_blk_arg_given(dev, "fixed") && !u->fixed)
		return weir_blk_fail(dev, -EINVAL, "fixed=1 needs a pool to register (conf.pool)");
	if (iopoll && !direct)
		return weir_blk_fail(dev, -EINVAL, "iopoll=1 needs direct=1 (page-cache I/O "
				     "cannot be polled)");
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
	if (u->iopoll && !can_iopoll(dev, st, why, sizeof(why))) {
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
		       (ro ? WEIR_BLK_F_READONLY : 0);
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
	int err;

	u->fd = -1;
	if ((err = parse_keys(dev, conf, &qd, &ro)))
		return err;
	if ((err = open_fd(dev, ro, u->direct, &st)))
		return err;
	if ((err = probe_geometry(dev, &st, &ro, &size, &dev_lbs, &mem_align)) ||
	    (err = fill_info(dev, &st, ro, size, dev_lbs, mem_align)))
		goto fail;
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
	uint64_t v[5] = {0};
	static const char *const names[] = {"fixed_ios", "vectored_ios", "short_resubmits",
					    "eagain_retries", "discards_without_effect"};

	for (uint16_t i = 0; i < dev->nb_qp; i++) {
		const struct uring_qp *q = (const struct uring_qp *)dev->qp[i];

		v[0] += q->n_fixed;
		v[1] += q->n_vec;
		v[2] += q->n_short;
		v[3] += q->n_retry;
	}
	v[4] = atomic_load(&u->discard_noop);
	for (int i = 0; i < 5 && i < n; i++) {
		snprintf(xs[i].name, sizeof(xs[i].name), "%s", names[i]);
		xs[i].value = v[i];
	}
	return 5;
}

static const struct weir_blk_param uring_params[] = {
	{"direct", "O_DIRECT, bypassing the page cache (default 1)", "0|1"},
	{"qd", "requests in flight per queue pair, 1..4096 (default 128)", NULL},
	{"sqpoll", "a kernel thread polls the submission queue (default 0)", "0|1"},
	{"iopoll", "poll the device for completions (needs direct=1; default 0)", "0|1"},
	{"fixed", "register the pools as fixed buffers (default 1 when given one)", "0|1"},
	{"lbs", "logical block size (default: the device's, at least 512)", "512|4096"},
	{"ro", "open read-only (default 0)", "0|1"},
	{"merge", "merge adjacent requests of a burst (default 1)", "0|1"},
	{NULL, NULL, NULL},
};

static const struct weir_blk_ops uring_ops = {
	.open = uring_open,
	.submit = uring_submit,
	.poll = uring_poll,
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
