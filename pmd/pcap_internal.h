/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The pcap: driver's write side (pcap_write.c), as pcap.c sees it: one
 * writer per port in mode=w, for pcapng (src/pcapng.c) or classic pcap
 * (libpcap's pcap_dump); and its fast reader of classic pcap files
 * (pcap_read.c). Internal to pmd/.
 */
#ifndef WEIR_PMD_PCAP_INTERNAL_H
#define WEIR_PMD_PCAP_INTERNAL_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>

#include "weir/pcapng.h"
#include "weir/port_driver.h"

enum pcap_format { FMT_PCAPNG, FMT_PCAP };

/* A classic pcap file read in big chunks (pcap_read.c). */
#define PCAP_READ_BUF (1u << 20) /* > the largest record (16 + 262144) */
struct pcap_rd {
	int fd;
	uint8_t *buf;
	size_t pos, end; /* the unparsed bytes: buf[pos, end) */
	bool swap, nsec, eof;
	uint32_t snaplen;
};
struct pcap_rd_frame {
	const uint8_t *data; /* valid until the next pcap_rd_next */
	uint32_t caplen, len;
	uint64_t ts; /* ns */
};
/* 1 when path is a classic pcap file of Ethernet frames that rd now reads
 * (from the first record); 0 otherwise (rd is closed: use libpcap). A
 * zeroed rd is closed; closing a closed one does nothing. */
int pcap_rd_open(struct pcap_rd *rd, const char *path);
void pcap_rd_close(struct pcap_rd *rd);
/* Back to the first record: false when the file cannot seek. */
bool pcap_rd_rewind(struct pcap_rd *rd);
/* The next record: 1, 0 at the end of the file, -1 on damage (said in why). */
int pcap_rd_next(struct pcap_rd *rd, struct pcap_rd_frame *f, char *why, size_t len);

/* classic pcap: records pass to write(2) in chunks of about this much. */
#define CLASSIC_FLUSH (64u * 1024)
#define CLASSIC_MAX_RECS 4096

struct pcap_writer {
	enum pcap_format fmt;
	struct weir_pcapng *ng;
	pcap_t *dead;          /* classic: libpcap's handle for the dumper */
	pcap_dumper_t *dump;
	FILE *f;
	char *path;
	uint8_t *iobuf;        /* classic: the stream's buffer */
	uint8_t *scratch;      /* classic: a chain made contiguous */
	uint32_t snaplen;
	int64_t rt_off;        /* realtime - monotonic at open */
	weir_ns_t last_ts;
	uint64_t stats_ns, next_isb;
	weir_ns_t start_rt;
	/* classic: record ends since the last good flush (where a torn file
	 * may be cut). */
	int64_t good_off, rec_end[CLASSIC_MAX_RECS];
	uint32_t nrec;
	uint64_t unflushed;
	/* Counters. */
	uint64_t frames, given, isbs, snapped, dropped, failed;
	bool opened;
};

/* Creates the file (SHB and IDB written at once for pcapng, the file
 * header for pcap) from the spec's write keys: 0 or a negative errno with
 * the port's message set. What it opened is freed by pcap_writer_close. */
int pcap_writer_open(struct weir_port *port, struct pcap_writer *w, enum pcap_format fmt);
/* Writes pkts (and an ISB when one is due), frees them, returns n. After a
 * failed write the port is dead and what follows is dropped, counted. */
uint16_t pcap_writer_tx(struct pcap_writer *w, struct weir_txq *txq, struct weir_pkt **pkts,
			uint16_t n);
/* A last ISB, flush, fsync, close; only frees after a failed open. */
void pcap_writer_close(struct weir_port *port, struct pcap_writer *w);
/* Bytes that reached the file. */
uint64_t pcap_writer_bytes(const struct pcap_writer *w);

#endif
