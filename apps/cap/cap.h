/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir-cap's internals: the context, the receive lcores (cap/rx.c), the
 * writer lcore (cap/writer.c), the file output with rotation (cap/out.c,
 * cap/files.c), the filter (cap/filter.c) and the reports (cap/report.c).
 *
 * The data path (with a writer lcore): receive lcore q polls RX queue q of every port, runs the
 * filter on each frame, stamps the frame (realtime ns into ->timestamp, the
 * interface and direction into ->udata64) and enqueues the packet itself on
 * its own SPSC ring to the writer; a full ring drops the frame (counted).
 * The writer lcore dequeues, gathers each frame's segments into a writev()
 * next to the block headers it builds (no copy of packet bytes in user
 * space), writes, then frees the packets. The receive side never waits for
 * the disk; the writer is the only one that touches a file.
 *
 * Inline (one receive lcore sharing its CPU with the writer: --writer
 * inline, or auto with --cores putting both on one CPU or one CPU allowed):
 * the receive lcore writes the frames itself, as tcpdump does. Two threads
 * on one CPU only add context switches and a ring to overflow while the
 * other one runs; inline, a frame waits in the kernel's ring instead.
 *
 * Counters have one writer each (relaxed atomic stores) and are summed by
 * whoever reports.
 */
#ifndef WEIR_APP_CAP_H
#define WEIR_APP_CAP_H

#include <pcap/pcap.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "weir/pcapng.h"
#include "weir/pkt.h"
#include "weir/port.h"
#include "weir/ring.h"

#include "common/app.h"
#include "common/cbpf.h"
#include "common/mirror.h"

#define CAP_MAX_PORTS 8
#define CAP_MAX_RX 16             /* receive lcores (queues) */
#define CAP_BATCH 1024            /* frames per writev at most */
#define CAP_IOV 1024              /* iovecs per writev (IOV_MAX) */
#define CAP_COPY_MAX 512          /* blocks up to this long are copied, not gathered */
#define CAP_STAGE (CAP_BATCH * CAP_COPY_MAX)
#define CAP_DONE 64               /* staged packets freed in one weir_pkt_free_bulk */
#define CAP_FLUSH_NS (20 * WEIR_NS_PER_MS) /* a batch waits at most this long while busy */
#define CAP_XDP_RX 8192           /* AF_XDP RX descriptors a port (see open_ports) */

/* ->udata64 of a captured frame: interface id and direction. */
#define CAP_META(ifid, dir) ((uint64_t)(ifid) | (uint64_t)(dir) << 16)
#define CAP_META_IFID(m) ((uint32_t)((m) & 0xffff))
#define CAP_META_DIR(m) ((enum weir_pcapng_dir)(((m) >> 16) & 3))
/* A mirrored frame cut by the app's snaplen keeps its wire length here. */
#define CAP_META_ORIG(m) ((uint32_t)((m) >> 32))

enum cap_format { CAP_FMT_PCAPNG, CAP_FMT_PCAP };
/* --writer: a writer lcore of its own, or writes from the receive lcore. */
enum cap_writer { CAP_WRITER_AUTO, CAP_WRITER_THREAD, CAP_WRITER_INLINE };

/* A receive lcore's counters per port (its one writer: that lcore). */
struct cap_rx_count {
	_Atomic uint64_t recv;  /* frames received */
	_Atomic uint64_t match; /* passed the filter */
	_Atomic uint64_t drop;  /* matched, but the ring to the writer was full */
};

struct cap;

struct cap_rx {
	struct cap *c;
	uint16_t q;
	struct weir_ring *ring; /* to the writer */
	uint8_t *scratch;       /* snaplen bytes: a chain's head linearised for the filter */
	struct cap_rx_count cnt[CAP_MAX_PORTS];
	_Atomic bool done; /* set after its last enqueue */
	bool writer;       /* the last lcore's arg: the writer, not a receiver */
};

/* A compiled filter (libpcap's BPF); insns NULL: everything matches. */
struct cap_filter {
	struct bpf_program prog;
	struct cbpf *fast; /* prog, decoded (common/cbpf.h): what runs */
	bool compiled;
};

/* One frame's block framing around its data, built by the writer. */
struct cap_frame_hdr {
	uint8_t head[28];  /* EPB header, or a pcap record header (16) */
	uint8_t tail[20];  /* EPB padding + epb_flags + end of options + length */
};

/* The output: the current file, its batch, rotation. */
struct cap_out {
	/* settings */
	enum cap_format format;
	const char *path;      /* -w; "-" is stdout */
	uint64_t rot_bytes;    /* -C, bytes; 0: none */
	uint64_t rot_ns;       /* -G, ns; 0: none */
	uint32_t ring_files;   /* -W; 0: keep every file */
	uint32_t snaplen;
	int nifs;
	const char *ifnames[CAP_MAX_PORTS];
	/* the current file */
	int fd;
	char name[4096];
	uint64_t seq;          /* files opened so far */
	uint64_t off;          /* bytes that reached the file (complete blocks) */
	uint64_t file_frames;  /* frames in the current file */
	weir_ns_t next_rot;    /* -G: the next wall-clock boundary */
	bool can_truncate;
	bool named;            /* files get PREFIX_SEQ_TIME.EXT names */
	char **ring_names;     /* -W: the last ring_files names, by seq % ring_files */
	/* the batch */
	struct iovec iov[CAP_IOV];
	int niov;
	uint32_t nblk;
	uint32_t nframes;      /* frames in the batch (gathered and staged) */
	uint64_t blk_end[CAP_BATCH + 2 * CAP_MAX_PORTS + 2]; /* file offset after each block */
	bool blk_frame[CAP_BATCH + 2 * CAP_MAX_PORTS + 2];
	struct weir_pkt *pkts[CAP_BATCH];
	uint32_t npkts;
	/* staged frames' packets, freed together (cap_out_release) */
	struct weir_pkt *done[CAP_DONE];
	uint32_t ndone;
	struct cap_frame_hdr hdr[CAP_BATCH];
	uint8_t meta[4096];    /* SHB, IDBs, ISBs of this batch */
	size_t meta_len;
	uint8_t stage[CAP_STAGE]; /* small frames' whole blocks, back to back */
	size_t stage_len;
	/* results */
	uint64_t frames;       /* frames in complete blocks, all files */
	uint64_t files;        /* files created */
	int err;               /* first error (negative errno), then nothing is written */
	char errmsg[4352];
};

struct cap {
	struct app_base base;
	/* settings */
	char *specs[CAP_MAX_PORTS];
	int nports;
	char *filter_expr;
	char *write;
	uint32_t snaplen;
	uint64_t count;          /* -c: stop after this many frames written; 0: no limit */
	uint32_t ring_size;
	weir_ns_t isb_interval;
	enum cap_writer writer_mode;
	struct cap_out out;
	/* state */
	struct weir_port *ports[CAP_MAX_PORTS];     /* NULL for an app: source */
	struct cap_mirror *mirrors[CAP_MAX_PORTS]; /* -i app:SOCKET?port=N */
	int nmirrors;
	bool replay[CAP_MAX_PORTS]; /* a pcap: replay port: done when it has played */
	struct cap_filter filter;
	uint16_t nrx;                 /* receive lcores; the writer is lcore nrx */
	bool inline_write;            /* no writer lcore: receive lcore 0 writes */
	/* the writer's (the writer lcore's, or lcore 0's when inline) */
	weir_ns_t next_isb, last_flush;
	bool err_said;
	struct cap_rx rx[CAP_MAX_RX + 1]; /* [nrx]: the writer's arg */
	weir_ns_t rt_off;             /* realtime - monotonic, at setup */
	weir_ns_t t_start;            /* realtime at setup, for the ISBs */
	_Atomic uint64_t written;     /* frames in complete blocks (the writer publishes) */
	_Atomic uint64_t over;        /* frames dequeued after -c was reached (freed) */
	_Atomic bool finished;        /* -c reached or the output failed: stop */
	_Atomic int out_err;
};

extern volatile sig_atomic_t cap_hup; /* SIGHUP: start a new file */

/* cap/filter.c */
int cap_filter_compile(struct cap_filter *f, const char *expr, uint32_t snaplen, char *why,
		       size_t len);
void cap_filter_free(struct cap_filter *f);
/* True when p matches; scratch holds snaplen bytes for a chain whose head
 * segment is shorter than what the filter may read. */
bool cap_filter_match(const struct cap_filter *f, const struct weir_pkt *p, uint32_t snaplen,
		      uint8_t *scratch);

/* cap/rx.c, cap/writer.c: lcore bodies (arg: struct cap_rx, struct cap). */
int cap_rx_main(void *arg);
int cap_writer_main(void *arg);
/* Hands n matching, stamped frames of port i to the writer: onto rx's ring
 * (what does not fit is freed and counted as dropped) or, inline, into the
 * output. Counts them as received and matched (plus extra frames received
 * that did not match). */
void cap_rx_hand(struct cap_rx *rx, int i, struct weir_pkt **pkts, uint32_t n, uint32_t seen);
/* cap/writer.c: the writer's steps, for the writer lcore or inline. One
 * frame into the output (-c, rotation by size and time); after each pass,
 * idle or not (flush, -c, the error said once, SIGHUP, ISBs); at the end. */
void cap_writer_start(struct cap *c);
void cap_write_frame(struct cap *c, struct weir_pkt *p);
void cap_writer_step(struct cap *c, bool idle);
void cap_writer_end(struct cap *c);

/* cap/out.c: the output (the writer lcore's; see there). */
int cap_out_start(struct cap_out *o, weir_ns_t now);
int cap_out_frame(struct cap_out *o, struct weir_pkt *p);
int cap_out_stats(struct cap_out *o, uint32_t ifid, weir_ns_t ts,
		  const struct weir_pcapng_stats *st);
int cap_out_flush(struct cap_out *o);
/* Frees the packets of the frames already copied into the batch: after
 * each burst, so a zero-copy driver gets its ring blocks back at once. */
void cap_out_release(struct cap_out *o);
bool cap_out_due(const struct cap_out *o, weir_ns_t ts, uint32_t next_len);
void cap_out_finish(struct cap_out *o);
/* cap/files.c: names, opening, the -W ring. */
int cap_files_open(struct cap_out *o, weir_ns_t now);
void cap_files_close(struct cap_out *o);
void cap_files_free(struct cap_out *o);

/*
 * cap/mirror_req.c: spec is "app:SOCKET?port=N&dir=rx|tx|both&ring=BYTES"
 * (port 0 when not given), filter a capture filter or NULL: the socket's
 * path into path (plen bytes), the capture request line for the app
 * (common/mirror.h) into req (rlen bytes). 0, or -EINVAL with what is
 * wrong in why.
 */
int cap_mirror_request(const char *spec, const char *filter, uint32_t snaplen, char *path,
		       size_t plen, char *req, size_t rlen, char *why, size_t wlen);

/* cap/mirror.c: capture from a running app (see there). */
struct cap_mirror;
int cap_mirror_open(const char *spec, const char *filter, uint32_t snaplen,
		    struct cap_mirror **out, char *why, size_t wlen);
void cap_mirror_close(struct cap_mirror *m);
const char *cap_mirror_name(const struct cap_mirror *m);
/* Receive lcore rx takes up to a burst of interface i's records. */
uint32_t cap_mirror_poll(struct cap *c, struct cap_rx *rx, int i);
/* What the app's side counted: frames that matched, dropped for no room. */
void cap_mirror_stats(const struct cap_mirror *m, uint64_t *seen, uint64_t *drops);
/* True once the app is gone (or sent garbage) and its rings are read. */
bool cap_mirror_over(const struct cap_mirror *m);

/* The interface statistics of port i now (all receive lcores). */
void cap_port_stats(struct cap *c, int i, struct weir_pcapng_stats *st);

/* cap/report.c */
struct cap_totals {
	uint64_t recv, match, drop, kdrop, written;
};
void cap_totals(void *ctx, void *out);
void cap_live(void *ctx, const void *prev, const void *cur, double dt);
void cap_json(FILE *o, void *ctx);
void cap_summary(FILE *o, void *ctx);

#endif
