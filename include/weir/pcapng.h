/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * pcapng capture files, written by weir itself: libpcap reads pcapng but
 * writes only classic pcap, and DPDK's librte_pcapng wants rte_mbufs, so
 * weir has this small writer of its own (the pcap: driver and weir-cap
 * share it). What it writes is checked by reading it back with libpcap and
 * tshark (tests/unit/test_pcapng.c, tests/integration/test_pcap.sh).
 *
 * Two layers:
 *  - block encoders (weir_pcapng_encode_*): one whole block into a caller's
 *    buffer, in host byte order (the Section Header Block's byte-order magic
 *    tells readers which), every option padded to 32 bits, the total length
 *    at both ends. Pure functions, no I/O: unit tests check them byte by
 *    byte against the spec (draft-ietf-opsawg-pcapng);
 *  - a writer (struct weir_pcapng): an fd, a buffer of whole blocks, and
 *    the rule that a file is always valid up to its last complete block: a
 *    failed write (full disk, I/O error) is remembered with the path and
 *    errno, the file is cut back to the last block boundary that reached it
 *    (when the fd can be truncated), and every later call returns the same
 *    error without touching the file.
 *
 * A writer belongs to one thread at a time (no locking).
 */
#ifndef WEIR_PCAPNG_H
#define WEIR_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "clock.h"
#include "pkt.h"

/* Block types and the option codes weir writes (pcapng spec, section 4). */
#define WEIR_PCAPNG_SHB 0x0A0D0D0Au
#define WEIR_PCAPNG_IDB 0x00000001u
#define WEIR_PCAPNG_ISB 0x00000005u
#define WEIR_PCAPNG_EPB 0x00000006u
#define WEIR_PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du

#define WEIR_PCAPNG_OPT_ENDOFOPT 0
#define WEIR_PCAPNG_OPT_SHB_USERAPPL 4
#define WEIR_PCAPNG_OPT_IF_NAME 2
#define WEIR_PCAPNG_OPT_IF_TSRESOL 9
#define WEIR_PCAPNG_OPT_EPB_FLAGS 2
#define WEIR_PCAPNG_OPT_ISB_STARTTIME 2
#define WEIR_PCAPNG_OPT_ISB_ENDTIME 3
#define WEIR_PCAPNG_OPT_ISB_IFRECV 4
#define WEIR_PCAPNG_OPT_ISB_IFDROP 5
#define WEIR_PCAPNG_OPT_ISB_OSDROP 7

#define WEIR_PCAPNG_LINKTYPE_ETHERNET 1

/* epb_flags bits 0-1: the direction of a packet. */
enum weir_pcapng_dir {
	WEIR_PCAPNG_DIR_UNKNOWN = 0,
	WEIR_PCAPNG_DIR_IN = 1,
	WEIR_PCAPNG_DIR_OUT = 2,
};

/* An interface (Interface Description Block). Timestamps are always in
 * nanoseconds (if_tsresol = 9). */
struct weir_pcapng_if {
	const char *name;  /* if_name; NULL or "" for none */
	uint16_t linktype; /* 0: Ethernet */
	uint32_t snaplen;  /* bytes kept of each packet; 0: 262144 */
};

/* What an interface saw (Interface Statistics Block). */
struct weir_pcapng_stats {
	weir_ns_t start;  /* isb_starttime, realtime ns; 0: left out */
	uint64_t ifrecv;  /* isb_ifrecv: packets the interface received (or was given) */
	uint64_t ifdrop;  /* isb_ifdrop: dropped by weir (ring full, no buffer) */
	uint64_t osdrop;  /* isb_osdrop: dropped by the kernel / device */
};

#define WEIR_PCAPNG_SNAPLEN_DEFAULT 262144u

/* --- encoders: each returns the block's length (a multiple of 4), or
 * -ENOSPC when it does not fit cap bytes (nothing meaningful written), or
 * -EINVAL for arguments no block can carry. Any thread. --------------- */

/* Section Header Block (version 1.0, section length unknown), with
 * shb_userappl when userappl is not NULL. */
int weir_pcapng_encode_shb(uint8_t *buf, size_t cap, const char *userappl);
/* Interface Description Block with if_name (if any) and if_tsresol = 9. */
int weir_pcapng_encode_idb(uint8_t *buf, size_t cap, const struct weir_pcapng_if *ifc);
/*
 * Enhanced Packet Block on interface ifid at ts (realtime ns), with the
 * first caplen bytes of the data gathered from iov[0..iovcnt-1] (caplen
 * must not exceed their sum), origlen the packet's length on the wire, and
 * an epb_flags option giving dir unless it is WEIR_PCAPNG_DIR_UNKNOWN.
 */
int weir_pcapng_encode_epb(uint8_t *buf, size_t cap, uint32_t ifid, weir_ns_t ts,
			   const struct iovec *iov, int iovcnt, uint32_t caplen, uint32_t origlen,
			   enum weir_pcapng_dir dir);
/* Interface Statistics Block for ifid at ts (isb_endtime is ts too). */
int weir_pcapng_encode_isb(uint8_t *buf, size_t cap, uint32_t ifid, weir_ns_t ts,
			   const struct weir_pcapng_stats *st);
/* Bytes an EPB of caplen bytes takes, with the epb_flags option. */
size_t weir_pcapng_epb_size(uint32_t caplen);

/* --- the writer --------------------------------------------------------- */

struct weir_pcapng;

struct weir_pcapng_conf {
	size_t buf_size;      /* bytes buffered before a write(); 0: 256 KiB */
	const char *userappl; /* shb_userappl; NULL: "weir" */
};

/*
 * Creates (or truncates) path and writes the Section Header Block into the
 * buffer. 0 and *out, or a negative errno with a message naming the path
 * in why: -ENOENT, -EACCES, -EISDIR, ... from open(2), -ENOMEM.
 * conf may be NULL. Control thread.
 */
int weir_pcapng_open(const char *path, const struct weir_pcapng_conf *conf,
		     struct weir_pcapng **out, char *why, size_t whylen);
/* The same on an fd the writer then owns (closes at weir_pcapng_close),
 * e.g. 1 for "-w -"; name is for messages. On failure the fd is still the
 * caller's. */
int weir_pcapng_fdopen(int fd, const char *name, const struct weir_pcapng_conf *conf,
		       struct weir_pcapng **out, char *why, size_t whylen);
/* Adds an interface: its id (0, 1, ...) or a negative errno (the writer's
 * error, -ENOMEM). */
int weir_pcapng_add_if(struct weir_pcapng *w, const struct weir_pcapng_if *ifc);
/*
 * Appends packet p (a chain is gathered segment by segment, cut to the
 * interface's snaplen) as an EPB: 0, -EINVAL (no such interface), or the
 * writer's error. Buffered: the bytes reach the file at a later call.
 */
int weir_pcapng_write_pkt(struct weir_pcapng *w, uint32_t ifid, weir_ns_t ts,
			  const struct weir_pkt *p, enum weir_pcapng_dir dir);
/* The same for len bytes at data (tests, tools reading other sources). */
int weir_pcapng_write_data(struct weir_pcapng *w, uint32_t ifid, weir_ns_t ts, const void *data,
			   uint32_t len, uint32_t origlen, enum weir_pcapng_dir dir);
/* Appends an ISB for ifid: 0 or the writer's error. */
int weir_pcapng_write_stats(struct weir_pcapng *w, uint32_t ifid, weir_ns_t ts,
			    const struct weir_pcapng_stats *st);
/* Writes out the buffer (and fsyncs when sync): 0 or the writer's error. */
int weir_pcapng_flush(struct weir_pcapng *w, bool sync);
/* Flushes, fsyncs (a regular file) and closes; frees w (NULL is a no-op).
 * Returns 0 or the first error the writer met. */
int weir_pcapng_close(struct weir_pcapng *w);
/* The first error (negative errno, 0 if none) and its message ("PATH:
 * write failed after N bytes: No space left on device"). */
int weir_pcapng_error(const struct weir_pcapng *w);
const char *weir_pcapng_errmsg(const struct weir_pcapng *w);
/* Bytes that reached the file so far (complete blocks only). */
uint64_t weir_pcapng_bytes_written(const struct weir_pcapng *w);

#endif
