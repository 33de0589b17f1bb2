// SPDX-License-Identifier: BSD-3-Clause
/*
 * uring, inline I/O (inline=auto|0|1): reads and writes done by the
 * submitting thread itself with preadv/pwritev2, for files in memory that
 * cannot be read without blocking (tmpfs, buffered or O_DIRECT alike).
 *
 * io_uring first tries a buffered read with IOCB_NOWAIT and completes it in
 * the submitting thread when the data is cached. A file whose file system
 * lacks FMODE_NOWAIT (tmpfs up to at least Linux 6.18: preadv2 with
 * RWF_NOWAIT says EOPNOTSUPP) skips that try: every request is handed to an
 * io-wq kernel thread, which copies the page and posts the completion, and
 * the submitter sleeps and is woken for it. On a memory file system that
 * worker does the same copy the submitter could have done, plus two
 * context switches and a wake-up. So where the file refuses RWF_NOWAIT
 * and lives in memory (tmpfs, ramfs; statfs), inline=auto turns the queue
 * pair synchronous: submit runs each request (adjacent ones merged, as the
 * ring path merges them) as one system call and puts its completion on the
 * done ring, where the next poll finds it. The queue pair's contract is
 * unchanged: completions still come through poll_burst, a flush is
 * fdatasync, a FUA write is pwritev2(RWF_DSYNC), so a write reported
 * durable is durable. What is lost is overlap: a request runs only when
 * submitted, one at a time, which costs nothing where the CPU does the
 * copy anyway, and would serialise a device, so auto never picks it for a
 * file with a device under it (inline=1 forces it anywhere but sqpoll=1,
 * iopoll=1 and NVMe passthrough). An explicit wait=1 or defer=1 asks for
 * io_uring's sleep in the kernel: inline=1 refuses it (naming both fixes),
 * auto stays off and says so.
 */
#include <errno.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include "uring_internal.h"
#include "weir/log.h"

/* One transfer of io's remaining iovecs: bytes moved or -errno. */
static ssize_t transfer(int fd, const struct uring_io *io)
{
	const struct iovec *v = &io->iov[io->first];
	int n = io->niov - io->first;
	ssize_t r;

	if (io->op == WEIR_BLK_READ)
		r = preadv(fd, v, n, (off_t)io->off);
	else
		r = pwritev2(fd, v, n, (off_t)io->off, io->fua ? RWF_DSYNC : 0);
	return r < 0 ? -errno : r;
}

static int rw_inline(struct uring_qp *q, struct uring_io *io, int fd)
{
	while (io->left) {
		ssize_t r = transfer(fd, io);

		if ((r == -EINTR || r == -EAGAIN) && ++io->tries < URING_TRIES) {
			q->n_retry++;
			continue;
		}
		if (r < 0)
			return (int)r;
		/* Nothing moved: the file shrank under us, or it is full. */
		if (r == 0)
			return io->op == WEIR_BLK_READ ? -EIO : -ENOSPC;
		if ((uint32_t)r < io->left)
			q->n_short++;
		uring_io_advance(io, (uint32_t)r);
	}
	return 0;
}

static int fallocate_inline(struct uring_priv *u, struct uring_io *io)
{
	int mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

	if (io->op == WEIR_BLK_WRITE_ZEROES &&
	    atomic_load_explicit(&u->zero_mode, memory_order_relaxed) == ZERO_RANGE) {
		if (fallocate(u->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)io->off,
			      io->left) == 0)
			return 0;
		if (errno != EOPNOTSUPP)
			return -errno;
		/* tmpfs and a few others punch but cannot zero. */
		atomic_store(&u->zero_mode, ZERO_PUNCH);
	}
	if (fallocate(u->fd, mode, (off_t)io->off, io->left) == 0)
		return 0;
	if (errno == EOPNOTSUPP && io->op == WEIR_BLK_DISCARD) {
		atomic_fetch_add(&u->discard_noop, 1); /* advisory */
		return 0;
	}
	return -errno;
}

/* Runs io to the end and completes its requests. */
static void run(struct uring_qp *q, struct uring_io *io)
{
	struct uring_priv *u = priv_of(&q->base);
	int err;

	switch (io->op) {
	case WEIR_BLK_READ:
	case WEIR_BLK_WRITE:
		err = rw_inline(q, io, u->fd);
		break;
	case WEIR_BLK_FLUSH:
		err = fdatasync(u->fd) ? -errno : 0;
		break;
	default:
		err = fallocate_inline(u, io);
		break;
	}
	if (!err)
		io->done += io->left;
	q->n_inline++;
	uring_io_done(q, io, err);
}

uint16_t uring_inline_submit(struct weir_blk_qp *qp, struct weir_blk_req **reqs, uint16_t n)
{
	struct uring_qp *q = (struct uring_qp *)qp;
	struct uring_priv *u = priv_of(qp);
	/* No SQE outlives the call: one slot's I/O is all the state needed. */
	struct uring_io *io = &q->io[0];
	struct iovec v[WEIR_BLK_MAX_IOV];
	bool open = false;

	for (uint16_t i = 0; i < n; i++) {
		struct weir_blk_req *r = reqs[i];
		uint32_t bytes = r->nblocks << u->lbs_shift;
		int niov = r->op <= WEIR_BLK_WRITE ? weir_blk_req_iov(r, v) : 0;

		if (open && uring_merge(qp, u, io, r, bytes, v, niov))
			continue;
		if (open)
			run(q, io);
		uring_io_start(u, io, r, bytes);
		uring_add_iov(io, v, niov);
		qp->stats.ios++;
		open = true;
	}
	if (open)
		run(q, io);
	return n;
}

/* Whether a read of fd would be handed to an io-wq thread: the file
 * refuses RWF_NOWAIT (checked before anything else, so block 0 of any
 * file answers). */
static bool refuses_nowait(int fd)
{
	char b[512];
	struct iovec v = {b, sizeof(b)};

	return preadv2(fd, &v, 1, 0, RWF_NOWAIT) < 0 && errno == EOPNOTSUPP;
}

static const char *memory_fs(int fd)
{
	struct statfs sf;

	if (fstatfs(fd, &sf) < 0)
		return NULL;
	if ((unsigned long)sf.f_type == TMPFS_MAGIC)
		return "tmpfs";
	if ((unsigned long)sf.f_type == RAMFS_MAGIC)
		return "ramfs";
	return NULL;
}

int uring_inline_pick(struct weir_blk *dev, int mode, const struct stat *st)
{
	struct uring_priv *u = dev->priv;
	/* wait=1 or defer=1 given: the spec asked for io_uring's sleep. */
	const char *waits = weir_blk_arg_given(dev, "wait") && u->wait     ? "wait=1"
			    : weir_blk_arg_given(dev, "defer") && u->defer ? "defer=1"
									   : NULL;
	const char *fs;

	if (mode == 1 && (u->sqpoll || u->iopoll || u->nvme))
		return weir_blk_fail(dev, -EINVAL, "inline=1 runs I/O in the submitting thread; "
				     "%s hands it to the kernel: drop one of them",
				     u->sqpoll ? "sqpoll=1" : u->iopoll ? "iopoll=1"
								    : "NVMe passthrough");
	if (mode == 1 && waits)
		return weir_blk_fail(dev, -EINVAL, "inline=1 does each read and write inside "
				     "submit, so nothing is left to sleep for; %s asks to wait in "
				     "the kernel: drop %s, or use inline=0 to keep io_uring", waits,
				     waits);
	if (mode == 1) {
		u->inline_io = true;
		return 0;
	}
	/* O_DIRECT on tmpfs is the same page-cache copy, punted the same way. */
	if (mode == 0 || u->sqpoll || u->iopoll || !S_ISREG(st->st_mode) ||
	    !(fs = memory_fs(u->fd)) || !refuses_nowait(u->fd))
		return 0;
	if (waits) {
		WEIR_INFO("%s: inline=auto stays off: %s refuses non-blocking reads, but %s asks "
			  "io_uring to wait in the kernel (every request goes to a kernel worker "
			  "thread; drop %s to have them run in the submitting thread)", dev->label,
			  fs, waits, waits);
		return 0;
	}
	u->inline_io = true;
	WEIR_INFO("%s: inline=auto: %s refuses non-blocking reads (RWF_NOWAIT), so io_uring "
		  "would hand every request to a kernel worker thread; reads and writes run in "
		  "the submitting thread instead (xstat inline_ios; inline=0 keeps io_uring)",
		  dev->label, fs);
	return 0;
}
