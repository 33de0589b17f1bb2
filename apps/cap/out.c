// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap's output: frames into the current file as pcapng (SHB, one IDB
 * per port, EPBs with direction flags, ISBs) or classic pcap (nanosecond
 * magic), without copying the bytes of any but small packets. Each frame
 * becomes iovecs: a block header built here, the packet's own segments (up
 * to snaplen) and a block trailer; up to CAP_BATCH frames go to the kernel
 * in one writev(), after which their packets are freed. Small frames are
 * the exception: the kernel's cost per iovec exceeds a copy of a few
 * hundred bytes, so a block of at most CAP_COPY_MAX bytes is built whole in
 * the stage buffer (consecutive ones make one iovec) and its packet freed
 * with the others of its burst (cap_out_release), which also gives a
 * zero-copy driver its buffers back sooner.
 *
 * A file is always valid up to its last complete block (the rule of
 * weir/pcapng.h): the file offset after each block of a batch is kept, so
 * when a writev() fails part way the file is truncated back to the last
 * block that reached it whole, the frames in complete blocks are counted as
 * written, and the error is kept: nothing more is written.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cap/cap.h"

#define PAD4(n) (((uint32_t)(n) + 3) & ~(uint32_t)3)
#define PCAP_MAGIC_NS 0xa1b23c4du

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint64_t pending(const struct cap_out *o)
{
	return o->nblk ? o->blk_end[o->nblk - 1] - o->off : 0;
}

/* Room in the batch for a block of niov iovecs and meta bytes. */
static bool fits(const struct cap_out *o, int niov, size_t meta)
{
	return o->niov + niov <= CAP_IOV && o->meta_len + meta <= sizeof(o->meta) &&
	       o->nblk < sizeof(o->blk_end) / sizeof(o->blk_end[0]);
}

static void end_block(struct cap_out *o, uint64_t len, bool frame)
{
	o->blk_end[o->nblk] = o->off + pending(o) + len;
	o->blk_frame[o->nblk++] = frame;
	o->nframes += frame;
}

/* Appends a block made of len bytes at meta[meta_len] (already written). */
static void add_meta(struct cap_out *o, size_t len)
{
	o->iov[o->niov++] = (struct iovec){o->meta + o->meta_len, len};
	o->meta_len += len;
	end_block(o, len, false);
}

int cap_out_start(struct cap_out *o, weir_ns_t now)
{
	uint8_t *m = o->meta + o->meta_len;
	int n;

	(void)now;
	if (o->err)
		return o->err;
	if (o->format == CAP_FMT_PCAP) {
		if (!fits(o, 1, 24) && cap_out_flush(o) < 0)
			return o->err;
		m = o->meta + o->meta_len;
		put32(m, PCAP_MAGIC_NS);
		memcpy(m + 4, &(uint16_t){2}, 2);
		memcpy(m + 6, &(uint16_t){4}, 2);
		memset(m + 8, 0, 8); /* thiszone, sigfigs */
		put32(m + 16, o->snaplen);
		put32(m + 20, WEIR_PCAPNG_LINKTYPE_ETHERNET);
		add_meta(o, 24);
		return 0;
	}
	if (!fits(o, 1 + o->nifs, 64 + (size_t)o->nifs * 300) && cap_out_flush(o) < 0)
		return o->err;
	n = weir_pcapng_encode_shb(o->meta + o->meta_len, sizeof(o->meta) - o->meta_len,
				   "weir-cap");
	if (n < 0)
		return n;
	add_meta(o, (size_t)n);
	for (int i = 0; i < o->nifs; i++) {
		struct weir_pcapng_if ifc = {.name = o->ifnames[i], .snaplen = o->snaplen};

		n = weir_pcapng_encode_idb(o->meta + o->meta_len, sizeof(o->meta) - o->meta_len,
					   &ifc);
		if (n < 0)
			return n;
		add_meta(o, (size_t)n);
	}
	return 0;
}

int cap_out_stats(struct cap_out *o, uint32_t ifid, weir_ns_t ts,
		  const struct weir_pcapng_stats *st)
{
	int n;

	if (o->err)
		return o->err;
	if (o->format != CAP_FMT_PCAPNG)
		return 0; /* classic pcap has no place for them */
	if (!fits(o, 1, 128) && cap_out_flush(o) < 0)
		return o->err;
	n = weir_pcapng_encode_isb(o->meta + o->meta_len, sizeof(o->meta) - o->meta_len, ifid,
				   ts, st);
	if (n < 0)
		return n;
	add_meta(o, (size_t)n);
	return 0;
}

/* The frame's header and trailer; returns the block's length. */
static uint32_t frame_hdr(const struct cap_out *o, struct cap_frame_hdr *h,
			  const struct weir_pkt *p, uint32_t caplen, uint32_t *tail)
{
	weir_ns_t ts = p->timestamp;
	uint32_t blen, origlen = CAP_META_ORIG(p->udata64);

	if (origlen < p->pkt_len)
		origlen = p->pkt_len;

	if (o->format == CAP_FMT_PCAP) {
		put32(h->head, (uint32_t)(ts / WEIR_NS_PER_SEC));
		put32(h->head + 4, (uint32_t)(ts % WEIR_NS_PER_SEC));
		put32(h->head + 8, caplen);
		put32(h->head + 12, origlen);
		*tail = 0;
		return 16 + caplen;
	}
	blen = (uint32_t)weir_pcapng_epb_size(caplen);
	put32(h->head, WEIR_PCAPNG_EPB);
	put32(h->head + 4, blen);
	put32(h->head + 8, CAP_META_IFID(p->udata64));
	put32(h->head + 12, (uint32_t)(ts >> 32));
	put32(h->head + 16, (uint32_t)ts);
	put32(h->head + 20, caplen);
	put32(h->head + 24, origlen);
	*tail = PAD4(caplen) - caplen;
	memset(h->tail, 0, *tail);
	/* epb_flags (code 2, length 4): bits 0-1 the direction. */
	memcpy(h->tail + *tail, &(uint16_t){WEIR_PCAPNG_OPT_EPB_FLAGS}, 2);
	memcpy(h->tail + *tail + 2, &(uint16_t){4}, 2);
	put32(h->tail + *tail + 4, (uint32_t)CAP_META_DIR(p->udata64));
	put32(h->tail + *tail + 8, 0); /* opt_endofopt */
	put32(h->tail + *tail + 12, blen);
	*tail += 16;
	return blen;
}

/* A frame's block of blen bytes, built at `at` (the stage's end), joins
 * the write: the last iovec grows when it ends there, else a new one. */
static void stage_commit(struct cap_out *o, uint8_t *at, uint32_t blen)
{
	struct iovec *last = o->niov ? &o->iov[o->niov - 1] : NULL;

	if (last && (uint8_t *)last->iov_base + last->iov_len == at)
		last->iov_len += blen;
	else
		o->iov[o->niov++] = (struct iovec){at, blen};
	o->stage_len += blen;
	end_block(o, blen, true);
	o->file_frames++;
}

/* A small frame's whole block into the stage: one iovec with the blocks
 * before it when they are adjacent. The packet is freed here. */
static void stage_frame(struct cap_out *o, struct weir_pkt *p, uint32_t caplen)
{
	struct cap_frame_hdr h;
	uint8_t *at = o->stage + o->stage_len;
	uint32_t hlen = o->format == CAP_FMT_PCAP ? 16 : 28, tail;
	uint32_t blen = frame_hdr(o, &h, p, caplen, &tail);

	memcpy(at, h.head, hlen);
	weir_pkt_copy_out(p, 0, caplen, at + hlen);
	memcpy(at + hlen + caplen, h.tail, tail);
	stage_commit(o, at, blen);
	weir_pkt_free(p);
}

/* The common frame: one segment, small. Its block is built in the stage
 * where it goes, the packet freed: no intermediate header, no copy loop
 * over segments (a third of the writer's instructions before). */
static void stage_one(struct cap_out *o, struct weir_pkt *p, uint32_t caplen)
{
	uint8_t *at = o->stage + o->stage_len;
	weir_ns_t ts = p->timestamp;
	uint32_t origlen = CAP_META_ORIG(p->udata64), blen, hlen;

	if (origlen < p->pkt_len)
		origlen = p->pkt_len;
	if (o->format == CAP_FMT_PCAP) {
		hlen = 16;
		blen = 16 + caplen;
		put32(at, (uint32_t)(ts / WEIR_NS_PER_SEC));
		put32(at + 4, (uint32_t)(ts % WEIR_NS_PER_SEC));
		put32(at + 8, caplen);
		put32(at + 12, origlen);
	} else {
		uint8_t *opt = at + 28 + PAD4(caplen);

		hlen = 28;
		blen = 28 + PAD4(caplen) + 16;
		put32(at, WEIR_PCAPNG_EPB);
		put32(at + 4, blen);
		put32(at + 8, CAP_META_IFID(p->udata64));
		put32(at + 12, (uint32_t)(ts >> 32));
		put32(at + 16, (uint32_t)ts);
		put32(at + 20, caplen);
		put32(at + 24, origlen);
		/* The padding (0-3 bytes; the 4 written stay inside the block). */
		put32(at + 28 + (caplen & ~3u), 0);
		put32(opt, WEIR_PCAPNG_OPT_EPB_FLAGS | 4u << 16);
		put32(opt + 4, (uint32_t)CAP_META_DIR(p->udata64));
		put32(opt + 8, 0); /* opt_endofopt */
		put32(opt + 12, blen);
	}
	memcpy(at + hlen, weir_pkt_data(p), caplen);
	stage_commit(o, at, blen);
	/* Freed with the others of its burst: one pool put, and one drop
	 * of the references of the frames of one ring block. */
	o->done[o->ndone++] = p;
	if (o->ndone == CAP_DONE)
		cap_out_release(o);
}

void cap_out_release(struct cap_out *o)
{
	weir_pkt_free_bulk(o->done, o->ndone);
	o->ndone = 0;
}

int cap_out_frame(struct cap_out *o, struct weir_pkt *p)
{
	uint32_t caplen = p->pkt_len < o->snaplen ? p->pkt_len : o->snaplen, left = caplen;
	int segs = 0;
	struct cap_frame_hdr *h;
	uint32_t blen, tail;

	if (o->err) {
		weir_pkt_free(p);
		return o->err;
	}
	if (caplen <= p->data_len && caplen + 47 <= CAP_COPY_MAX) {
		if ((o->nblk >= CAP_BATCH || o->niov == CAP_IOV ||
		     o->stage_len + CAP_COPY_MAX > sizeof(o->stage)) && cap_out_flush(o) < 0) {
			weir_pkt_free(p);
			return o->err;
		}
		stage_one(o, p, caplen);
		return 0;
	}
	for (const struct weir_pkt *s = p; s && left; s = s->next, segs++)
		left -= s->data_len < left ? s->data_len : left;
	if ((o->npkts == CAP_BATCH || o->nblk >= CAP_BATCH || !fits(o, segs + 2, 0) ||
	     o->stage_len + CAP_COPY_MAX > sizeof(o->stage)) && cap_out_flush(o) < 0) {
		weir_pkt_free(p);
		return o->err;
	}
	if ((o->format == CAP_FMT_PCAP ? 16 + caplen : weir_pcapng_epb_size(caplen)) <=
	    CAP_COPY_MAX) {
		stage_frame(o, p, caplen);
		return 0;
	}
	h = &o->hdr[o->npkts];
	blen = frame_hdr(o, h, p, caplen, &tail);
	o->iov[o->niov++] = (struct iovec){h->head, o->format == CAP_FMT_PCAP ? 16 : 28};
	left = caplen;
	for (struct weir_pkt *s = p; s && left; s = s->next) {
		uint32_t n = s->data_len < left ? s->data_len : left;

		if (n)
			o->iov[o->niov++] = (struct iovec){weir_pkt_data(s), n};
		left -= n;
	}
	if (tail)
		o->iov[o->niov++] = (struct iovec){h->tail, tail};
	o->pkts[o->npkts++] = p;
	end_block(o, blen, true);
	o->file_frames++;
	return 0;
}

/* After a failed write of done bytes of the batch: the file is cut back to
 * the last complete block, the frames before it count. */
static void torn(struct cap_out *o, uint64_t done, int err)
{
	uint64_t keep = o->off;
	uint32_t frames = 0;

	for (uint32_t b = 0; b < o->nblk && o->blk_end[b] <= o->off + done; b++) {
		keep = o->blk_end[b];
		frames += o->blk_frame[b];
	}
	if (keep < o->off + done && o->can_truncate && ftruncate(o->fd, (off_t)keep) < 0)
		keep = o->off + done; /* said below: the tail may be torn */
	o->frames += frames;
	o->err = err;
	snprintf(o->errmsg, sizeof(o->errmsg), "%s: write failed after %llu bytes: %s%s", o->name,
		 (unsigned long long)keep, strerror(-err),
		 keep == o->off + done || o->can_truncate ? "" : " (the last block may be torn)");
	o->off = keep;
}

int cap_out_flush(struct cap_out *o)
{
	struct iovec *iov = o->iov;
	int niov = o->niov;
	uint64_t total = pending(o), done = 0;

	while (!o->err && done < total) {
		ssize_t n = writev(o->fd, iov, niov < CAP_IOV ? niov : CAP_IOV);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			torn(o, done, n < 0 ? -errno : -ENOSPC);
			break;
		}
		done += (uint64_t)n;
		/* A short write (a pipe, a signal): go on from where it stopped. */
		while (niov && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			niov--;
		}
		if (niov && n) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	if (!o->err && total) {
		o->off += total;
		for (uint32_t b = 0; b < o->nblk; b++)
			o->frames += o->blk_frame[b];
	}
	weir_pkt_free_bulk(o->pkts, o->npkts);
	cap_out_release(o);
	o->npkts = 0;
	o->niov = 0;
	o->nblk = 0;
	o->nframes = 0;
	o->meta_len = 0;
	o->stage_len = 0;
	return o->err;
}

bool cap_out_due(const struct cap_out *o, weir_ns_t ts, uint32_t next_len)
{
	if (!o->named || o->err)
		return false;
	if (o->rot_bytes && o->file_frames &&
	    o->off + pending(o) + next_len > o->rot_bytes)
		return true;
	return o->rot_ns && !weir_time_after(o->next_rot, ts);
}

void cap_out_finish(struct cap_out *o)
{
	cap_out_flush(o);
	cap_files_close(o);
}
