// SPDX-License-Identifier: BSD-3-Clause
/*
 * The pcap: driver's write side: what a port in mode=w is given goes to
 * its file, pcapng through weir's writer (src/pcapng.c; libpcap cannot
 * write pcapng) or classic pcap through libpcap's pcap_dump at nanosecond
 * precision. Timestamps are the wall clock of the burst, taken from the
 * monotonic clock plus the offset at open, so they never go back in a
 * file. A failed write is said once (weir_port_died) with the path and
 * errno, and the file is left ending on its last complete block or record:
 * pcapng's writer cuts it back itself; for classic pcap the stream's
 * buffer is sized so that stdio writes only when told to, the end of every
 * record since the last good flush is known, and the file is cut at the
 * last one that reached the disk.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/log.h"
#include "weir/pkt.h"

#include "pcap_internal.h"

/* Cuts a torn classic file back to the last record that reached it whole
 * and points the stream at /dev/null, so that libpcap's close cannot
 * append the rest of its buffer behind the cut. */
static void classic_cut(struct pcap_writer *w)
{
	int fd = fileno(w->f), nul;
	off_t on_disk = lseek(fd, 0, SEEK_CUR);
	int64_t keep = w->good_off;
	struct stat st;

	for (uint32_t i = 0; i < w->nrec && w->rec_end[i] <= on_disk; i++)
		keep = w->rec_end[i];
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && on_disk > keep &&
	    ftruncate(fd, keep) < 0)
		WEIR_WARN("%s: cannot cut the torn record off: %s", w->path, strerror(errno));
	nul = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (nul >= 0) {
		dup2(nul, fd);
		close(nul);
	}
}

/* Flushes the classic dumper: 0 or -errno with the file cut back. */
static int classic_flush(struct pcap_writer *w)
{
	int err;

	if (!ferror(w->f) && pcap_dump_flush(w->dump) == 0) {
		w->good_off += (int64_t)w->unflushed;
		w->nrec = 0;
		w->unflushed = 0;
		return 0;
	}
	err = errno ? -errno : -EIO;
	classic_cut(w);
	return err;
}

static int classic_write(struct pcap_writer *w, weir_ns_t ts, const struct weir_pkt *p)
{
	struct pcap_pkthdr h = {.caplen = WEIR_MIN(p->pkt_len, w->snaplen), .len = p->pkt_len};
	const uint8_t *d = weir_pkt_data(p);
	int err;

	/* A nanosecond dumper reads tv_usec as nanoseconds. */
	h.ts.tv_sec = (time_t)(ts / WEIR_NS_PER_SEC);
	h.ts.tv_usec = (suseconds_t)(ts % WEIR_NS_PER_SEC);
	if (p->data_len < h.caplen) {
		weir_pkt_copy_out(p, 0, h.caplen, w->scratch);
		d = w->scratch;
	}
	if ((w->nrec == CLASSIC_MAX_RECS || w->unflushed >= CLASSIC_FLUSH) &&
	    (err = classic_flush(w)))
		return err;
	pcap_dump((u_char *)w->dump, &h, d);
	if (ferror(w->f)) /* stdio wrote on its own after all: the same cut */
		return classic_flush(w);
	/* Counted, not asked: ftell on a stream costs an lseek per record. */
	w->unflushed += 16 + h.caplen;
	w->rec_end[w->nrec++] = w->good_off + (int64_t)w->unflushed;
	return 0;
}

static void write_isb(struct pcap_writer *w, weir_ns_t ts)
{
	struct weir_pcapng_stats st = {
		.start = w->start_rt,
		.ifrecv = weir_port_ctr_read(&w->given),
		.ifdrop = weir_port_ctr_read(&w->dropped),
	};

	if (w->ng && weir_pcapng_write_stats(w->ng, 0, ts, &st) == 0)
		weir_port_ctr_add(&w->isbs, 1);
}

static int write_one(struct pcap_writer *w, weir_ns_t ts, const struct weir_pkt *p)
{
	if (p->pkt_len > w->snaplen)
		weir_port_ctr_add(&w->snapped, 1);
	if (w->fmt == FMT_PCAP)
		return classic_write(w, ts, p);
	return weir_pcapng_write_pkt(w->ng, 0, ts, p, WEIR_PCAPNG_DIR_OUT);
}

static void write_failed(struct weir_port *port, struct pcap_writer *w, int err)
{
	const char *msg = w->ng ? weir_pcapng_errmsg(w->ng) : "";
	size_t plen = strlen(w->path);

	weir_port_ctr_add(&w->failed, 1);
	/* The port's label names the file already. */
	if (!strncmp(msg, w->path, plen) && msg[plen] == ':')
		msg += plen + 2;
	if (msg[0])
		weir_port_died(port, "%s; the file ends at its last complete block, the port stops",
			       msg);
	else
		weir_port_died(port, "write failed: %s; the file ends at its last complete %s, the "
			       "port stops",
			       strerror(-err), w->ng ? "block" : "record");
}

uint16_t pcap_writer_tx(struct pcap_writer *w, struct weir_txq *txq, struct weir_pkt **pkts,
			uint16_t n)
{
	struct weir_port *port = txq->port;
	weir_ns_t now = weir_clock_now(), ts = now + (weir_ns_t)w->rt_off;
	uint64_t bytes = 0;
	uint16_t i = 0;
	int err = 0;

	if (!weir_port_is_dead(port)) {
		weir_port_ctr_add(&w->given, n);
		/* Monotonic in the file even if the wall clock steps back. */
		if (ts < w->last_ts)
			ts = w->last_ts;
		w->last_ts = ts;
		for (; i < n && !(err = write_one(w, ts, pkts[i])); i++)
			bytes += pkts[i]->pkt_len;
		weir_port_ctr_add(&w->frames, i);
		if (!err && w->stats_ns && now >= w->next_isb) {
			/* Each tick the file on disk catches up: an ISB saying
			 * what was seen, and the buffer written out, so a
			 * killed process loses at most stats_ms of frames. */
			w->next_isb = now + w->stats_ns;
			write_isb(w, ts);
			err = w->ng ? weir_pcapng_flush(w->ng, false) : classic_flush(w);
		}
		if (err)
			write_failed(port, w, err);
	}
	weir_port_ctr_add(&txq->stats.packets, i);
	weir_port_ctr_add(&txq->stats.bytes, bytes);
	weir_port_ctr_add(&txq->done_pkts, i);
	weir_port_ctr_add(&txq->done_bytes, bytes);
	if (n > i) {
		weir_port_ctr_add(&txq->stats.drops, n - i);
		weir_port_ctr_add(&w->dropped, n - i);
	}
	weir_pkt_free_bulk(pkts, n);
	return n;
}

static int classic_open(struct weir_port *port, struct pcap_writer *w)
{
	int fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), err;
	size_t iosize;

	if (fd < 0)
		return weir_port_fail(port, -errno, "cannot create %s: %s", w->path,
				      strerror(errno));
	w->f = fdopen(fd, "wb");
	w->scratch = malloc(w->snaplen);
	w->dead = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, (int)w->snaplen,
						       PCAP_TSTAMP_PRECISION_NANO);
	if (!w->f || !w->scratch || !w->dead) {
		if (w->f)
			fclose(w->f);
		else
			close(fd);
		w->f = NULL;
		return weir_port_fail(port, -ENOMEM, "out of memory");
	}
	/* Room for CLASSIC_FLUSH and one record more: stdio never writes on
	 * its own, so every write(2) is one of our flushes, whose records we
	 * know. */
	iosize = CLASSIC_FLUSH + w->snaplen + 4096;
	w->iobuf = malloc(iosize);
	/* glibc ignores the size without a buffer: give it one. */
	if (!w->iobuf || setvbuf(w->f, (char *)w->iobuf, _IOFBF, iosize)) {
		fclose(w->f);
		w->f = NULL;
		return weir_port_fail(port, -ENOMEM, "out of memory");
	}
	w->dump = pcap_dump_fopen(w->dead, w->f);
	if (!w->dump) {
		fclose(w->f);
		w->f = NULL;
		return weir_port_fail(port, -EIO, "%s: %s", w->path, pcap_geterr(w->dead));
	}
	w->unflushed = (uint64_t)pcap_dump_ftell64(w->dump); /* the file header */
	if ((err = classic_flush(w)))
		return weir_port_fail(port, err, "cannot write %s: %s", w->path, strerror(-err));
	return 0;
}

int pcap_writer_open(struct weir_port *port, struct pcap_writer *w, enum pcap_format fmt)
{
	const char *ifn = weir_port_arg(port, "if_name");
	uint64_t snaplen, stats_ms;
	char why[WEIR_PORT_ERRSIZE];
	int err;

	if ((err = weir_port_arg_u64(port, "snaplen", WEIR_PCAPNG_SNAPLEN_DEFAULT, 64,
				     WEIR_PCAPNG_SNAPLEN_DEFAULT, &snaplen)) ||
	    (err = weir_port_arg_u64(port, "stats_ms", 1000, 0, 3600000, &stats_ms)))
		return err;
	w->fmt = fmt;
	w->snaplen = (uint32_t)snaplen;
	w->stats_ns = stats_ms * WEIR_NS_PER_MS;
	w->path = strdup(port->ifname);
	if (!w->path)
		return weir_port_fail(port, -ENOMEM, "out of memory");
	w->rt_off = (int64_t)(weir_clock_realtime() - weir_clock_now());
	w->start_rt = weir_clock_now() + (weir_ns_t)w->rt_off;
	w->next_isb = weir_clock_now() + w->stats_ns;
	if (fmt == FMT_PCAP)
		return classic_open(port, w);
	if ((err = weir_pcapng_open(w->path, NULL, &w->ng, why, sizeof(why))))
		return weir_port_fail(port, err, "%s", why);
	err = weir_pcapng_add_if(w->ng, &(struct weir_pcapng_if){
		.name = ifn ? ifn : port->label, .snaplen = w->snaplen});
	if (err >= 0)
		err = weir_pcapng_flush(w->ng, false);
	if (err < 0)
		return weir_port_fail(port, err, "%s", weir_pcapng_errmsg(w->ng));
	return 0;
}

/* Ends the file: a last ISB, flush, fsync, close. After a failed open
 * (w->opened false) it only frees. */
void pcap_writer_close(struct weir_port *port, struct pcap_writer *w)
{
	bool report = w->opened && !weir_port_is_dead(port);
	int err = 0;

	if (w->ng) {
		if (report) {
			write_isb(w, weir_clock_now() + (weir_ns_t)w->rt_off);
			err = weir_pcapng_flush(w->ng, true);
			if (err)
				WEIR_ERR("%s: %s", port->label, weir_pcapng_errmsg(w->ng));
		}
		weir_pcapng_close(w->ng);
	} else if (w->dump) {
		if (report && (err = classic_flush(w)) == 0 && fsync(fileno(w->f)) < 0)
			err = -errno;
		if (report && err)
			WEIR_ERR("%s: %s: write failed at close: %s", port->label, w->path,
				 strerror(-err));
		pcap_dump_close(w->dump); /* closes w->f */
	} else if (w->f) {
		fclose(w->f);
	}
	if (w->dead)
		pcap_close(w->dead);
	if (report && !err)
		WEIR_INFO("%s: wrote %llu frames to %s", port->label,
			  (unsigned long long)w->frames, w->path);
	free(w->iobuf); /* after the stream that used it */
	free(w->scratch);
	free(w->path);
}

uint64_t pcap_writer_bytes(const struct pcap_writer *w)
{
	return w->ng ? weir_pcapng_bytes_written(w->ng) : (uint64_t)w->good_off;
}
