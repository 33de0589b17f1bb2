// SPDX-License-Identifier: BSD-3-Clause
/*
 * pcapng: block encoders and a buffered writer (weir/pcapng.h). libpcap
 * cannot write pcapng (pcap_dump writes classic pcap only), so weir writes
 * its own: four block types (SHB, IDB, EPB, ISB) and the handful of
 * options they need, in host byte order as the spec allows.
 *
 * The writer keeps whole blocks in one buffer and hands the buffer to
 * write(2). Whatever happens on the way to the disk, the file must stay
 * readable: when a write fails part way, the blocks in the buffer are
 * walked (each says its own length) to find the last one that reached the
 * file completely, and the file is truncated back to its end, so a reader
 * sees a clean end of file rather than a torn block. The error is kept,
 * with the path and errno, and returned by every later call.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "weir/pcapng.h"

#define PAD4(n) (((size_t)(n) + 3) & ~(size_t)3)
#define BUF_DEFAULT (256u * 1024)
#define ERRSIZE 256

/* --- encoders ------------------------------------------------------------ */

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Timestamps are two 32-bit words, high first (not one 64-bit word: the
 * spec's order, whatever the byte order). */
static void put_ts(uint8_t *p, weir_ns_t ts)
{
	put32(p, (uint32_t)(ts >> 32));
	put32(p + 4, (uint32_t)ts);
}

/* One option (code, length, value, zero padding to 32 bits) at p; returns
 * the bytes it takes. */
static size_t put_opt(uint8_t *p, uint16_t code, const void *val, uint16_t len)
{
	put16(p, code);
	put16(p + 2, len);
	if (len)
		memcpy(p + 4, val, len);
	memset(p + 4 + len, 0, PAD4(len) - len);
	return 4 + PAD4(len);
}

static size_t put_opt_u64(uint8_t *p, uint16_t code, uint64_t v)
{
	return put_opt(p, code, &v, 8);
}

static size_t put_opt_ts(uint8_t *p, uint16_t code, weir_ns_t ts)
{
	uint8_t v[8];

	put_ts(v, ts);
	return put_opt(p, code, v, 8);
}

/* Closes a block of total length len at buf: the end-of-options marker
 * when there were options (opts true), then the length again. */
static int finish(uint8_t *buf, size_t off, bool opts, uint32_t type)
{
	if (opts) {
		put32(buf + off, 0); /* opt_endofopt: code 0, length 0 */
		off += 4;
	}
	put32(buf, type);
	put32(buf + 4, (uint32_t)(off + 4));
	put32(buf + off, (uint32_t)(off + 4));
	return (int)(off + 4);
}

int weir_pcapng_encode_shb(uint8_t *buf, size_t cap, const char *userappl)
{
	size_t ulen = userappl ? strlen(userappl) : 0;
	size_t need = 24 + 4 + (ulen ? 4 + PAD4(ulen) + 4 : 0);
	int64_t section_len = -1; /* unknown: the file is written as a stream */
	size_t off = 8;

	if (ulen > UINT16_MAX)
		return -EINVAL;
	if (need > cap)
		return -ENOSPC;
	put32(buf + off, WEIR_PCAPNG_BYTE_ORDER_MAGIC);
	put16(buf + off + 4, 1); /* major */
	put16(buf + off + 6, 0); /* minor */
	memcpy(buf + off + 8, &section_len, 8);
	off += 16;
	if (ulen)
		off += put_opt(buf + off, WEIR_PCAPNG_OPT_SHB_USERAPPL, userappl, (uint16_t)ulen);
	return finish(buf, off, ulen != 0, WEIR_PCAPNG_SHB);
}

int weir_pcapng_encode_idb(uint8_t *buf, size_t cap, const struct weir_pcapng_if *ifc)
{
	size_t nlen = ifc->name ? strlen(ifc->name) : 0;
	size_t need = 16 + (nlen ? 4 + PAD4(nlen) : 0) + 8 + 4 + 4;
	uint8_t tsresol = 9; /* 10^-9 s: nanoseconds */
	size_t off = 8;

	if (nlen > UINT16_MAX)
		return -EINVAL;
	if (need > cap)
		return -ENOSPC;
	put16(buf + off, ifc->linktype ? ifc->linktype : WEIR_PCAPNG_LINKTYPE_ETHERNET);
	put16(buf + off + 2, 0); /* reserved */
	put32(buf + off + 4, ifc->snaplen ? ifc->snaplen : WEIR_PCAPNG_SNAPLEN_DEFAULT);
	off += 8;
	if (nlen)
		off += put_opt(buf + off, WEIR_PCAPNG_OPT_IF_NAME, ifc->name, (uint16_t)nlen);
	off += put_opt(buf + off, WEIR_PCAPNG_OPT_IF_TSRESOL, &tsresol, 1);
	return finish(buf, off, true, WEIR_PCAPNG_IDB);
}

size_t weir_pcapng_epb_size(uint32_t caplen)
{
	return 28 + PAD4(caplen) + 8 + 4 + 4;
}

int weir_pcapng_encode_epb(uint8_t *buf, size_t cap, uint32_t ifid, weir_ns_t ts,
			   const struct iovec *iov, int iovcnt, uint32_t caplen, uint32_t origlen,
			   enum weir_pcapng_dir dir)
{
	size_t need = weir_pcapng_epb_size(caplen) - (dir ? 0 : 12);
	uint32_t left = caplen, flags = (uint32_t)dir & 3;
	size_t off = 28;

	if (caplen > origlen || caplen > UINT32_MAX - 64)
		return -EINVAL;
	if (need > cap)
		return -ENOSPC;
	put32(buf + 8, ifid);
	put_ts(buf + 12, ts);
	put32(buf + 20, caplen);
	put32(buf + 24, origlen);
	for (int i = 0; i < iovcnt && left; i++) {
		uint32_t n = iov[i].iov_len < left ? (uint32_t)iov[i].iov_len : left;

		memcpy(buf + off, iov[i].iov_base, n);
		off += n;
		left -= n;
	}
	if (left)
		return -EINVAL; /* the iovecs hold less than caplen */
	memset(buf + off, 0, PAD4(caplen) - caplen);
	off = 28 + PAD4(caplen);
	if (dir)
		off += put_opt(buf + off, WEIR_PCAPNG_OPT_EPB_FLAGS, &flags, 4);
	return finish(buf, off, dir != 0, WEIR_PCAPNG_EPB);
}

int weir_pcapng_encode_isb(uint8_t *buf, size_t cap, uint32_t ifid, weir_ns_t ts,
			   const struct weir_pcapng_stats *st)
{
	size_t need = 20 + (st->start ? 12 : 0) + 4 * 12 + 4 + 4;
	size_t off = 20;

	if (need > cap)
		return -ENOSPC;
	put32(buf + 8, ifid);
	put_ts(buf + 12, ts);
	if (st->start)
		off += put_opt_ts(buf + off, WEIR_PCAPNG_OPT_ISB_STARTTIME, st->start);
	off += put_opt_ts(buf + off, WEIR_PCAPNG_OPT_ISB_ENDTIME, ts);
	off += put_opt_u64(buf + off, WEIR_PCAPNG_OPT_ISB_IFRECV, st->ifrecv);
	off += put_opt_u64(buf + off, WEIR_PCAPNG_OPT_ISB_IFDROP, st->ifdrop);
	off += put_opt_u64(buf + off, WEIR_PCAPNG_OPT_ISB_OSDROP, st->osdrop);
	return finish(buf, off, true, WEIR_PCAPNG_ISB);
}

/* --- the writer ------------------------------------------------------------ */

struct weir_pcapng {
	int fd;
	bool regular;      /* a regular file: can be truncated and fsynced */
	char *name;
	uint8_t *buf;
	size_t cap, len;
	uint64_t written;  /* bytes in the file, all of them complete blocks */
	uint32_t *snaplen; /* per interface */
	uint32_t nif;
	int err;
	char errmsg[ERRSIZE];
};

static int fail(struct weir_pcapng *w, int err, const char *what)
{
	if (!w->err) {
		w->err = err;
		snprintf(w->errmsg, sizeof(w->errmsg), "%s: %s after %llu bytes: %s", w->name,
			 what, (unsigned long long)w->written, strerror(-err));
	}
	return w->err;
}

/* Length of the blocks at the start of buf that lie wholly within done
 * bytes: where the file may be cut after a short write. */
static size_t complete_prefix(const uint8_t *buf, size_t len, size_t done)
{
	size_t off = 0;

	while (off + 8 <= len) {
		uint32_t blen;

		memcpy(&blen, buf + off + 4, 4);
		if (blen < 12 || off + blen > done)
			break;
		off += blen;
	}
	return off;
}

static int flush_buf(struct weir_pcapng *w)
{
	size_t done = 0;

	if (w->err)
		return w->err;
	while (done < w->len) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? -errno : -EIO;
			size_t keep = complete_prefix(w->buf, w->len, done);

			/* Cut the torn block off: the file ends on a block. */
			if (keep < done && w->regular &&
			    ftruncate(w->fd, (off_t)(w->written + keep)) == 0)
				done = keep;
			w->written += done;
			w->len = 0;
			return fail(w, err, "write failed");
		}
		done += (size_t)n;
	}
	w->written += done;
	w->len = 0;
	return 0;
}

/* Room for a block of need bytes at the end of the buffer. */
static int reserve(struct weir_pcapng *w, size_t need)
{
	int err;

	if (w->err)
		return w->err;
	if (w->len + need <= w->cap)
		return 0;
	if ((err = flush_buf(w)))
		return err;
	if (need > w->cap) {
		uint8_t *b = realloc(w->buf, need);

		if (!b)
			return -ENOMEM;
		w->buf = b;
		w->cap = need;
	}
	return 0;
}

int weir_pcapng_fdopen(int fd, const char *name, const struct weir_pcapng_conf *conf,
		       struct weir_pcapng **out, char *why, size_t whylen)
{
	static const struct weir_pcapng_conf no_conf;
	struct weir_pcapng *w = calloc(1, sizeof(*w));
	struct stat st;
	int n;

	if (!conf)
		conf = &no_conf;
	if (w) {
		w->cap = conf->buf_size ? conf->buf_size : BUF_DEFAULT;
		if (w->cap < 4096)
			w->cap = 4096;
		w->buf = malloc(w->cap);
		w->name = strdup(name ? name : "pcapng");
	}
	if (!w || !w->buf || !w->name) {
		if (w) {
			free(w->buf);
			free(w->name);
		}
		free(w);
		snprintf(why, whylen, "%s: out of memory", name);
		return -ENOMEM;
	}
	w->fd = fd;
	w->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	n = weir_pcapng_encode_shb(w->buf, w->cap, conf->userappl ? conf->userappl : "weir");
	if (n < 0) {
		snprintf(why, whylen, "%s: shb_userappl too long", name);
		w->fd = -1;
		weir_pcapng_close(w);
		return n;
	}
	w->len = (size_t)n;
	*out = w;
	return 0;
}

int weir_pcapng_open(const char *path, const struct weir_pcapng_conf *conf,
		     struct weir_pcapng **out, char *why, size_t whylen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err;

	if (fd < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: cannot create: %s", path, strerror(-err));
		return err;
	}
	err = weir_pcapng_fdopen(fd, path, conf, out, why, whylen);
	if (err)
		close(fd);
	return err;
}

int weir_pcapng_add_if(struct weir_pcapng *w, const struct weir_pcapng_if *ifc)
{
	size_t nlen = ifc->name ? strlen(ifc->name) : 0;
	uint32_t *s;
	int n, err;

	if ((err = reserve(w, 40 + PAD4(nlen))))
		return err;
	n = weir_pcapng_encode_idb(w->buf + w->len, w->cap - w->len, ifc);
	if (n < 0)
		return n;
	s = realloc(w->snaplen, (w->nif + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	w->snaplen = s;
	s[w->nif] = ifc->snaplen ? ifc->snaplen : WEIR_PCAPNG_SNAPLEN_DEFAULT;
	w->len += (size_t)n;
	return (int)w->nif++;
}

static int write_iov(struct weir_pcapng *w, uint32_t ifid, weir_ns_t ts, const struct iovec *iov,
		     int iovcnt, uint32_t caplen, uint32_t origlen, enum weir_pcapng_dir dir)
{
	int n, err;

	if (ifid >= w->nif)
		return -EINVAL;
	if (caplen > w->snaplen[ifid])
		caplen = w->snaplen[ifid];
	if ((err = reserve(w, weir_pcapng_epb_size(caplen))))
		return err;
	n = weir_pcapng_encode_epb(w->buf + w->len, w->cap - w->len, ifid, ts, iov, iovcnt, caplen,
				   origlen, dir);
	if (n < 0)
		return n;
	w->len += (size_t)n;
	return 0;
}

int weir_pcapng_write_pkt(struct weir_pcapng *w, uint32_t ifid, weir_ns_t ts,
			  const struct weir_pkt *p, enum weir_pcapng_dir dir)
{
	struct iovec iov[WEIR_PKT_MAX_SEGS];
	uint32_t have = 0;
	int n = 0;

	for (const struct weir_pkt *s = p; s && n < WEIR_PKT_MAX_SEGS; s = s->next) {
		iov[n++] = (struct iovec){weir_pkt_data(s), s->data_len};
		have += s->data_len;
	}
	return write_iov(w, ifid, ts, iov, n, have < p->pkt_len ? have : p->pkt_len, p->pkt_len,
			 dir);
}

int weir_pcapng_write_data(struct weir_pcapng *w, uint32_t ifid, weir_ns_t ts, const void *data,
			   uint32_t len, uint32_t origlen, enum weir_pcapng_dir dir)
{
	struct iovec iov = {(void *)(uintptr_t)data, len};

	if (origlen < len)
		return -EINVAL;
	return write_iov(w, ifid, ts, &iov, 1, len, origlen, dir);
}

int weir_pcapng_write_stats(struct weir_pcapng *w, uint32_t ifid, weir_ns_t ts,
			    const struct weir_pcapng_stats *st)
{
	int n, err;

	if (ifid >= w->nif)
		return -EINVAL;
	if ((err = reserve(w, 96)))
		return err;
	n = weir_pcapng_encode_isb(w->buf + w->len, w->cap - w->len, ifid, ts, st);
	if (n < 0)
		return n;
	w->len += (size_t)n;
	return 0;
}

int weir_pcapng_flush(struct weir_pcapng *w, bool sync)
{
	int err = flush_buf(w);

	if (err)
		return err;
	if (sync && w->regular && fsync(w->fd) < 0)
		return fail(w, -errno, "fsync failed");
	return 0;
}

int weir_pcapng_close(struct weir_pcapng *w)
{
	int err;

	if (!w)
		return 0;
	if (w->fd >= 0) {
		weir_pcapng_flush(w, true);
		if (close(w->fd) < 0)
			fail(w, -errno, "close failed");
	}
	err = w->err;
	free(w->snaplen);
	free(w->buf);
	free(w->name);
	free(w);
	return err;
}

int weir_pcapng_error(const struct weir_pcapng *w)
{
	return w->err;
}

const char *weir_pcapng_errmsg(const struct weir_pcapng *w)
{
	return w->errmsg;
}

uint64_t weir_pcapng_bytes_written(const struct weir_pcapng *w)
{
	return w->written;
}
