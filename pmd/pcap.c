// SPDX-License-Identifier: BSD-3-Clause
/*
 * pcap: a capture file as a port, so that every app and test can run from
 * recorded traffic without a network, and write what it sends.
 *
 * pcap:FILE replays FILE on the receive side: at the timing it was
 * captured with (speed=1, the default), faster or slower (speed=2,
 * speed=0.5), at a fixed rate (pps=N) or as fast as the caller takes it
 * (speed=max), loop= times over. libpcap opens and checks the file and
 * reads pcapng (at nanosecond precision); classic pcap records are read by
 * pcap_read.c, in big chunks, parsed in place; each frame is copied into a
 * buffer of the port's pool, chained when it is longer than one buffer.
 * Replay never sleeps: a burst hands out the frames whose time has come,
 * and measures how late each one is against its schedule. That deviation
 * goes into a histogram, whose p50/p99/max, with the count of late frames,
 * are xstats and the line the port logs when it closes.
 *
 * pcap:FILE?mode=w (pcap_write.c) writes what the port transmits, pcapng
 * by default (weir's own writer, src/pcapng.c: libpcap cannot write
 * pcapng) or classic pcap (format=pcap) through libpcap's pcap_dump at
 * nanosecond precision. Writes are buffered; at the first burst after
 * every stats_ms the buffer goes to the file, behind an Interface
 * Statistics Block in pcapng (isb_ifrecv: frames given to the port,
 * isb_ifdrop: frames it could not write; isb_osdrop is 0, no kernel is
 * involved); close writes a last one, flushes and fsyncs. Both formats
 * keep the file valid up to its last complete block or record when a
 * write fails: the failure is reported once with the path and errno, the
 * port dies (weir_port_is_dead), and what it is given afterwards is
 * dropped and counted.
 */
#include <errno.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/log.h"
#include "weir/pcapng.h"
#include "weir/pkt.h"
#include "weir/port_driver.h"

#include "pcap_internal.h"

/* Deviation histogram: 16 linear buckets per power of two (values below
 * 16 ns exact), so a percentile is within 1/16 of the truth. */
#define HIST_SUB 16
#define HIST_N (64 * HIST_SUB)

enum pcap_mode { MODE_READ, MODE_WRITE };

struct replay {
	pcap_t *pc;
	struct pcap_rd fast; /* open (fast.buf): classic pcap, read by pcap_read.c */
	char *path;
	double speed;        /* multiplier; 0: as fast as possible */
	uint64_t period_ns;  /* pps= : ns between frames, 0: file timing */
	uint64_t loops;      /* passes over the file, 0: forever */
	uint64_t late_ns;    /* deviation above which a frame counts late */
	/* The frame read ahead, not yet handed out. */
	bool have, ended, started;
	const uint8_t *data;
	uint32_t caplen;
	weir_ns_t due;       /* monotonic ns it should go at */
	/* Schedule. */
	weir_ns_t start;     /* monotonic ns of the first frame */
	uint64_t t0, tlast;  /* file ns of this pass's first and last frame */
	uint64_t pass_frames;
	double offset_ns;    /* schedule ns (after speed) at which this pass starts */
	weir_ns_t last_due;
	uint64_t index;      /* frames scheduled, all passes */
	/* Counters (weir_port_ctr_add: xstats read them from any thread). */
	uint64_t passes, late, truncated, damaged, nobuf_waits, dev_max, dev_sum;
	uint64_t hist[HIST_N];
};

struct pcap_priv {
	enum pcap_mode mode;
	struct replay rd;
	struct pcap_writer wr;
};

static struct pcap_priv *priv_of(struct weir_port *port)
{
	return port->priv;
}

/* --- deviation histogram --------------------------------------------------- */

static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < HIST_SUB)
		return (unsigned)v;
	e = 63u - (unsigned)__builtin_clzll(v); /* >= 4 */
	return (e - 3) * HIST_SUB + (unsigned)((v >> (e - 4)) & (HIST_SUB - 1));
}

/* The largest value bucket i holds (a percentile is reported as this
 * upper bound: never optimistic). */
static uint64_t hist_upper(unsigned i)
{
	unsigned e = i / HIST_SUB + 3, sub = i % HIST_SUB;

	if (i < HIST_SUB)
		return i;
	return ((uint64_t)(HIST_SUB + sub) << (e - 4)) + ((uint64_t)1 << (e - 4)) - 1;
}

static uint64_t hist_pct(const uint64_t *h, double pct)
{
	uint64_t total = 0, seen = 0, rank;

	for (unsigned i = 0; i < HIST_N; i++)
		total += weir_port_ctr_read(&h[i]);
	if (!total)
		return 0;
	rank = (uint64_t)ceil(pct / 100.0 * (double)total);
	for (unsigned i = 0; i < HIST_N; i++) {
		seen += weir_port_ctr_read(&h[i]);
		if (seen >= rank)
			return hist_upper(i);
	}
	return hist_upper(HIST_N - 1);
}

static void record_dev(struct replay *r, uint64_t dev)
{
	weir_port_ctr_add(&r->hist[hist_index(dev)], 1);
	weir_port_ctr_add(&r->dev_sum, dev);
	if (dev > r->dev_max)
		__atomic_store_n(&r->dev_max, dev, __ATOMIC_RELAXED);
	if (dev > r->late_ns)
		weir_port_ctr_add(&r->late, 1);
}

/* --- replay ------------------------------------------------------------------ */

/* Opens path with libpcap: the handle, or NULL with the port's message set
 * (a missing file, one libpcap does not know, a link type that is not
 * Ethernet). */
static pcap_t *replay_open_file(struct weir_port *port, const char *path, int *err)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	FILE *f = fopen(path, "rb");
	pcap_t *pc;
	int dlt;

	if (!f) {
		*err = weir_port_fail(port, -errno, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	pc = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		fclose(f); /* libpcap leaves it to the caller on failure */
		*err = weir_port_fail(port, -EINVAL,
				      "%s is not a capture file libpcap can read (pcap or pcapng): %s",
				      path, errbuf);
		return NULL;
	}
	dlt = pcap_datalink(pc);
	if (dlt != DLT_EN10MB) {
		const char *name = pcap_datalink_val_to_name(dlt);

		pcap_close(pc);
		*err = weir_port_fail(port, -EINVAL,
				      "%s holds %s frames (link type %d); weir ports carry "
				      "Ethernet (EN10MB) only",
				      path, name ? name : "unknown", dlt);
		return NULL;
	}
	return pc;
}

/* Next pass over the file, or false when the passes are done. */
static bool replay_next_pass(struct weir_port *port, struct replay *r)
{
	int err;

	weir_port_ctr_add(&r->passes, 1);
	if (r->loops && r->passes >= r->loops)
		return false;
	if (!r->pass_frames)
		return false; /* an empty file would loop forever doing nothing */
	/* The next pass starts one mean frame gap after this one's last frame
	 * (offset_ns is schedule time: the file's, divided by the speed). */
	if (r->pass_frames > 1 && r->speed > 0)
		r->offset_ns += (double)(r->tlast - r->t0) *
				(1.0 + 1.0 / (double)(r->pass_frames - 1)) / r->speed;
	r->pass_frames = 0;
	if (r->fast.buf) {
		if (pcap_rd_rewind(&r->fast))
			return true;
		WEIR_WARN("%s: cannot go back to the start of %s for the next pass",
			  port->label, r->path);
		return false;
	}
	pcap_close(r->pc);
	r->pc = replay_open_file(port, r->path, &err);
	if (!r->pc) {
		WEIR_WARN("%s", port->err);
		return false;
	}
	return true;
}

/* The next record, as pcap_next_ex: 1, -2 at the end of the file, -1 on
 * damage (why said). */
static int next_record(struct replay *r, const u_char **d, uint32_t *caplen, uint32_t *len,
		       uint64_t *t, char *why, size_t wlen)
{
	struct pcap_pkthdr *h;
	struct pcap_rd_frame f;
	int rc;

	if (r->fast.buf) {
		rc = pcap_rd_next(&r->fast, &f, why, wlen);
		*d = f.data;
		*caplen = f.caplen;
		*len = f.len;
		*t = f.ts;
		return rc == 0 ? -2 : rc;
	}
	rc = pcap_next_ex(r->pc, &h, d);
	if (rc == 1) {
		*caplen = h->caplen;
		*len = h->len;
		/* Nanosecond precision: tv_usec holds ns. */
		*t = (uint64_t)h->ts.tv_sec * WEIR_NS_PER_SEC + (uint64_t)h->ts.tv_usec;
	} else if (rc == -1) {
		snprintf(why, wlen, "%s", pcap_geterr(r->pc));
	}
	return rc;
}

/* Reads the next frame into r->data/caplen/due: true, or false at the end
 * of the replay (the end of the last pass, or damage, reported once). */
static bool replay_read(struct weir_port *port, struct replay *r)
{
	const u_char *d;
	uint32_t caplen = 0, len = 0;
	uint64_t t = 0;
	char why[PCAP_ERRBUF_SIZE];

	for (;;) {
		int rc = next_record(r, &d, &caplen, &len, &t, why, sizeof(why));

		if (rc == 1 && caplen == 0)
			continue; /* nothing to hand out */
		if (rc == 1)
			break;
		if (rc == -1) {
			weir_port_ctr_add(&r->damaged, 1);
			WEIR_WARN("%s: %s is damaged after %llu frames of this pass (%s); "
				  "replay stops there",
				  port->label, r->path, (unsigned long long)r->pass_frames, why);
			return false;
		}
		if (!replay_next_pass(port, r))
			return false;
	}
	if (r->pass_frames++ == 0)
		r->t0 = t;
	if (t < r->tlast && r->pass_frames > 1)
		t = r->tlast; /* out of order in the file: not before the last */
	r->tlast = t;
	if (caplen < len)
		weir_port_ctr_add(&r->truncated, 1);
	r->data = d;
	r->caplen = caplen;
	if (r->period_ns)
		r->due = r->start + r->index * r->period_ns;
	else if (r->speed > 0)
		r->due = r->start + (weir_ns_t)(r->offset_ns + (double)(t - r->t0) / r->speed);
	else
		r->due = 0;
	if (r->due < r->last_due)
		r->due = r->last_due;
	r->last_due = r->due;
	r->index++;
	return true;
}

/* True when a frame of len bytes fits a chain of pool's buffers. */
static bool frame_fits(const struct weir_pool *pool, uint32_t len)
{
	uint64_t first = WEIR_MIN(pool->buf_size - pool->headroom, (uint32_t)UINT16_MAX);
	uint64_t rest = WEIR_MIN(pool->buf_size, (uint32_t)UINT16_MAX);

	return len <= first + (WEIR_PKT_MAX_SEGS - 1) * rest;
}

/* Copies a frame into a packet from pool, chained across buffers when it
 * is longer than one (frame_fits must hold): the packet, or NULL when the
 * pool is short. */
static struct weir_pkt *frame_to_pkt(struct weir_pool *pool, const uint8_t *d, uint32_t len)
{
	struct weir_pkt *head = weir_pkt_alloc(pool), *last = head;
	uint32_t off = 0;

	if (!head)
		return NULL;
	while (off < len) {
		struct weir_pkt *seg = last;
		uint32_t room, n;

		if (off) {
			if (!(seg = weir_pkt_alloc(pool))) {
				weir_pkt_free(head);
				return NULL;
			}
			seg->data_off = 0; /* headroom is for the head only */
			last->next = seg;
			head->nb_segs++;
		}
		room = WEIR_MIN(seg->buf_len - seg->data_off, (uint32_t)UINT16_MAX);
		n = WEIR_MIN(room, len - off);
		memcpy(weir_pkt_data(seg), d + off, n);
		seg->data_len = (uint16_t)n;
		seg->pkt_len = n;
		off += n;
		last = seg;
	}
	head->pkt_len = len;
	return head;
}

static uint16_t drv_rx_burst(struct weir_rxq *rxq, struct weir_pkt **pkts, uint16_t n)
{
	struct weir_port *port = rxq->port;
	struct replay *r = &priv_of(port)->rd;
	bool timed = r->speed > 0 || r->period_ns;
	weir_ns_t now = weir_clock_now();
	uint64_t bytes = 0;
	uint16_t got = 0;

	if (priv_of(port)->mode != MODE_READ || r->ended)
		return 0;
	if (!r->started) {
		r->started = true;
		r->start = now;
	}
	while (got < n) {
		struct weir_pkt *p;

		if (!r->have && !(r->have = replay_read(port, r))) {
			__atomic_store_n(&r->ended, true, __ATOMIC_RELAXED);
			break;
		}
		if (timed && weir_time_after(r->due, now))
			break;
		if (!frame_fits(port->pool, r->caplen)) {
			/* Longer than a chain of 255 buffers: no packet can hold it. */
			weir_port_ctr_add(&rxq->stats.errors, 1);
			r->have = false;
			continue;
		}
		p = frame_to_pkt(port->pool, r->data, r->caplen);
		if (!p) {
			weir_port_ctr_add(&r->nobuf_waits, 1); /* kept: tried again next burst */
			break;
		}
		if (timed)
			record_dev(r, now - r->due);
		r->have = false;
		p->port = port->id;
		p->queue = rxq->id;
		p->timestamp = now;
		p->ol_flags = WEIR_PKT_OL_RX_TSTAMP;
		bytes += p->pkt_len;
		pkts[got++] = p;
	}
	weir_port_ctr_add(&rxq->stats.packets, got);
	weir_port_ctr_add(&rxq->stats.bytes, bytes);
	return got;
}

/* "speed=" as a multiplier: 0 for max, or -EINVAL. */
static int parse_speed(struct weir_port *port, double *speed)
{
	const char *v = weir_port_arg(port, "speed");
	char *end;

	*speed = 1.0;
	if (!v)
		return 0;
	if (!strcmp(v, "max")) {
		*speed = 0;
		return 0;
	}
	*speed = strtod(v, &end);
	if (end == v || *end || !isfinite(*speed) || *speed < 0.001 || *speed > 1e6)
		return weir_port_fail(port, -EINVAL,
				      "speed=%s: give a multiplier of the file's timing "
				      "(0.001..1000000, e.g. 1, 2, 0.5) or max",
				      v);
	return 0;
}

static int replay_open(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct replay *r = &priv_of(port)->rd;
	uint64_t pps, late_us;
	int err;

	if ((err = parse_speed(port, &r->speed)) ||
	    (err = weir_port_arg_u64(port, "pps", 0, 1, 1000000000, &pps)) ||
	    (err = weir_port_arg_u64(port, "loop", 1, 0, UINT32_MAX, &r->loops)) ||
	    (err = weir_port_arg_u64(port, "late_us", 100, 0, 60000000, &late_us)))
		return err;
	if (weir_port_arg(port, "pps") && weir_port_arg(port, "speed"))
		return weir_port_fail(port, -EINVAL,
				      "speed= and pps= do not go together: one sets the timing");
	if (!conf->pool)
		return weir_port_fail(port, -EINVAL, "needs a packet pool to replay into");
	r->period_ns = weir_port_arg(port, "pps") ? WEIR_NS_PER_SEC / pps : 0;
	if (weir_port_arg(port, "pps") && !r->period_ns)
		r->period_ns = 1;
	r->late_ns = late_us * WEIR_NS_PER_US;
	r->path = strdup(port->ifname);
	if (!r->path)
		return weir_port_fail(port, -ENOMEM, "out of memory");
	r->pc = replay_open_file(port, r->path, &err);
	if (!r->pc)
		return err;
	/* libpcap has checked the file; a classic one is read by ours. */
	pcap_rd_open(&r->fast, r->path);
	return 0;
}

static void replay_report(struct weir_port *port, struct replay *r, const struct weir_rxq *q)
{
	uint64_t frames = weir_port_ctr_read(&q->stats.packets);
	char timing[64];

	if (r->period_ns)
		snprintf(timing, sizeof(timing), "%llu pps",
			 (unsigned long long)(WEIR_NS_PER_SEC / r->period_ns));
	else if (r->speed > 0)
		snprintf(timing, sizeof(timing), "%gx the file's timing", r->speed);
	else
		snprintf(timing, sizeof(timing), "full speed");
	if (r->speed > 0 || r->period_ns)
		WEIR_INFO("%s: replayed %llu frames (%llu passes) at %s; deviation from the "
			  "schedule p50 %.1f us, p99 %.1f us, max %.1f us; %llu late (> %llu us)",
			  port->label, (unsigned long long)frames, (unsigned long long)r->passes,
			  timing, (double)WEIR_MIN(hist_pct(r->hist, 50), r->dev_max) / 1e3,
			  (double)WEIR_MIN(hist_pct(r->hist, 99), r->dev_max) / 1e3,
			  (double)r->dev_max / 1e3, (unsigned long long)r->late,
			  (unsigned long long)(r->late_ns / WEIR_NS_PER_US));
	else
		WEIR_INFO("%s: replayed %llu frames (%llu passes) at full speed", port->label,
			  (unsigned long long)frames, (unsigned long long)r->passes);
}

/* --- port glue ------------------------------------------------------------------ */

static void drv_close(struct weir_port *port)
{
	struct pcap_priv *priv = priv_of(port);
	struct replay *r = &priv->rd;

	if (priv->mode == MODE_WRITE) {
		pcap_writer_close(port, &priv->wr);
		return;
	}
	if (r->pc && port->fp.rxq)
		replay_report(port, r, port->fp.rxq[0]);
	if (r->pc)
		pcap_close(r->pc);
	pcap_rd_close(&r->fast);
	free(r->path);
}

/* A key of the other mode is a mistake worth hearing about (speed= on a
 * file being written does nothing). */
static int refuse_other_mode_keys(struct weir_port *port)
{
	static const char *const read_keys[] = {"speed", "pps", "loop", "late_us"};
	static const char *const write_keys[] = {"format", "snaplen", "stats_ms", "if_name"};
	bool rd = priv_of(port)->mode == MODE_READ;
	const char *const *other = rd ? write_keys : read_keys;

	for (int i = 0; i < port->nkv; i++)
		for (unsigned k = 0; k < 4; k++)
			if (!strcmp(port->kv[i].key, other[k]))
				return weir_port_fail(port, -EINVAL,
						      "%s= is for %s; this port %s",
						      other[k], rd ? "mode=w" : "replay",
						      rd ? "replays (mode=r)" : "writes (mode=w)");
	return 0;
}

static int drv_open(struct weir_port *port, const struct weir_port_conf *conf)
{
	struct pcap_priv *priv = priv_of(port);
	int mode, fmt, err;

	if (!port->ifname[0])
		return weir_port_fail(port, -EINVAL,
				      "needs a file: pcap:FILE (replay) or pcap:FILE?mode=w (write)");
	if ((mode = weir_port_arg_choice(port, "mode", MODE_READ)) < 0 ||
	    (fmt = weir_port_arg_choice(port, "format", FMT_PCAPNG)) < 0)
		return -EINVAL;
	priv->mode = (enum pcap_mode)mode;
	err = refuse_other_mode_keys(port);
	if (!err)
		err = weir_port_alloc_queues(port, 1, 1);
	if (!err)
		err = mode == MODE_READ ? replay_open(port, conf)
					: pcap_writer_open(port, &priv->wr, (enum pcap_format)fmt);
	if (err) {
		if (!port->err[0])
			weir_port_fail(port, err, "out of memory");
		drv_close(port); /* weir_port_open() does not close a failed open */
		return err;
	}
	priv->wr.opened = true;
	memcpy(port->mac, (uint8_t[]){0x02, 0x70, 0x63, 0x61, 0x70, 0x00}, 6);
	/* The file takes frames as they are: the writer records what it is
	 * given (partial checksums and super-frames included, as tcpdump on a
	 * veth would). */
	port->tx_offloads = WEIR_PORT_OFFLOAD_CSUM | WEIR_PORT_OFFLOAD_GSO_TCP |
			    WEIR_PORT_OFFLOAD_GSO_UDP;
	port->mtu = 65535 - 14;
	return 0;
}

static uint16_t drv_tx_burst(struct weir_txq *txq, struct weir_pkt **pkts, uint16_t n)
{
	struct weir_port *port = txq->port;

	if (priv_of(port)->mode == MODE_WRITE)
		return pcap_writer_tx(&priv_of(port)->wr, txq, pkts, n);
	/* A replaying port sends nowhere: what it is given is dropped. */
	weir_port_ctr_add(&txq->stats.drops, n);
	weir_pkt_free_bulk(pkts, n);
	return n;
}

static int drv_xstats(struct weir_port *port, struct weir_xstat *xs, int n)
{
	struct pcap_priv *priv = priv_of(port);
	const struct replay *r = &priv->rd;
	const struct pcap_writer *w = &priv->wr;
	static const char *const rnames[] = {
		"replay_frames", "replay_passes", "replay_late", "replay_dev_p50_ns",
		"replay_dev_p99_ns", "replay_dev_max_ns", "replay_dev_mean_ns", "replay_truncated",
		"replay_damaged", "replay_nobuf_waits", "replay_done",
	};
	static const char *const wnames[] = {
		"write_frames", "write_given", "write_dropped", "write_snapped",
		"write_isb_blocks", "write_failed", "write_bytes",
	};
	uint64_t v[11];
	const char *const *names = priv->mode == MODE_READ ? rnames : wnames;
	int count = priv->mode == MODE_READ ? (int)WEIR_ARRAY_SIZE(rnames)
					    : (int)WEIR_ARRAY_SIZE(wnames);

	if (priv->mode == MODE_READ) {
		uint64_t frames = weir_port_ctr_read(&port->fp.rxq[0]->stats.packets);
		uint64_t timed = 0;

		for (unsigned i = 0; i < HIST_N; i++)
			timed += weir_port_ctr_read(&r->hist[i]);
		v[0] = frames;
		v[1] = weir_port_ctr_read(&r->passes);
		v[2] = weir_port_ctr_read(&r->late);
		v[5] = weir_port_ctr_read(&r->dev_max);
		/* A bucket's upper bound may pass the largest value seen. */
		v[3] = WEIR_MIN(hist_pct(r->hist, 50), v[5]);
		v[4] = WEIR_MIN(hist_pct(r->hist, 99), v[5]);
		v[6] = timed ? weir_port_ctr_read(&r->dev_sum) / timed : 0;
		v[7] = weir_port_ctr_read(&r->truncated);
		v[8] = weir_port_ctr_read(&r->damaged);
		v[9] = weir_port_ctr_read(&r->nobuf_waits);
		v[10] = __atomic_load_n(&r->ended, __ATOMIC_RELAXED);
	} else {
		v[0] = weir_port_ctr_read(&w->frames);
		v[1] = weir_port_ctr_read(&w->given);
		v[2] = weir_port_ctr_read(&w->dropped);
		v[3] = weir_port_ctr_read(&w->snapped);
		v[4] = weir_port_ctr_read(&w->isbs);
		v[5] = weir_port_ctr_read(&w->failed);
		v[6] = pcap_writer_bytes(w);
	}
	for (int i = 0; i < count && i < n; i++) {
		snprintf(xs[i].name, sizeof(xs[i].name), "%s", names[i]);
		xs[i].value = v[i];
	}
	return count;
}

static const struct weir_port_param pcap_params[] = {
	{"mode", "r: replay FILE on receive (default), w: write what is sent to FILE", "r|w"},
	{"speed", "replay: multiplier of the file's timing (default 1, e.g. 2, 0.5) or max", NULL},
	{"pps", "replay: frames per second, evenly spaced, instead of the file's timing", NULL},
	{"loop", "replay: passes over the file, default 1, 0 for ever", NULL},
	{"late_us", "replay: a frame later than this counts late, default 100", NULL},
	{"format", "write: pcapng (default) or classic pcap", "pcapng|pcap"},
	{"snaplen", "write: bytes kept of each frame, default 262144", NULL},
	{"stats_ms", "write: ms between flushes to the file (and pcapng interface statistics "
		     "blocks), default 1000, 0: at close only", NULL},
	{"if_name", "write, pcapng: the interface's name in the file, default the port's label",
	 NULL},
	{NULL, NULL, NULL},
};

static const struct weir_port_ops pcap_ops = {
	.open = drv_open,
	.rx_burst = drv_rx_burst,
	.tx_burst = drv_tx_burst,
	.xstats = drv_xstats,
	.close = drv_close,
};

static struct weir_port_driver pcap_driver = {
	.name = "pcap",
	.help = "pcap:FILE — replays a pcap/pcapng file on receive, or writes what is sent "
		"(mode=w)",
	.ops = &pcap_ops,
	.params = pcap_params,
	.priv_size = sizeof(struct pcap_priv),
};

WEIR_PORT_DRIVER_REGISTER(pcap_driver)
