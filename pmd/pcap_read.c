// SPDX-License-Identifier: BSD-3-Clause
/*
 * The pcap: driver's fast reader of classic pcap files (pcap.c uses it for
 * any file whose header it knows; pcapng and the rest go through libpcap):
 * the file comes in reads of PCAP_READ_BUF bytes, records are parsed in
 * place, so a frame costs no syscall and no copy before the one into its
 * packet. libpcap's pcap_next_ex costs two fread()s per record (header,
 * then data) into its own buffer, about a third of weir-cap's work from a
 * file to a file.
 *
 * It reads what libpcap reads, the same way: both byte orders, microsecond
 * and nanosecond magic; a capture length above the file's snap length (or
 * 262144 when the header says 0 or more) is cut to it, the rest skipped; a
 * capture length above 262144 or a record cut short by the end of the file
 * is damage, said in `why`. read(2), not mmap: a file cut while replayed
 * ends the pass as damage instead of raising SIGBUS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pcap_internal.h"

#define MAGIC_US 0xa1b2c3d4u
#define MAGIC_NS 0xa1b23c4du
#define MAX_CAPLEN 262144u

static uint32_t get32(const struct pcap_rd *rd, const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return rd->swap ? __builtin_bswap32(v) : v;
}

int pcap_rd_open(struct pcap_rd *rd, const char *path)
{
	uint8_t h[24];
	uint32_t magic, snap;

	memset(rd, 0, sizeof(*rd));
	rd->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (rd->fd < 0)
		return 0;
	if (pread(rd->fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		goto no;
	memcpy(&magic, h, 4);
	rd->swap = magic == __builtin_bswap32(MAGIC_US) || magic == __builtin_bswap32(MAGIC_NS);
	magic = get32(rd, h);
	if (magic != MAGIC_US && magic != MAGIC_NS)
		goto no;
	/* Link type: the low 16 bits (the rest are FCS flags); Ethernet only,
	 * as libpcap already checked. */
	if ((get32(rd, h + 20) & 0xffff) != 1)
		goto no;
	rd->nsec = magic == MAGIC_NS;
	snap = get32(rd, h + 16);
	rd->snaplen = snap && snap <= MAX_CAPLEN ? snap : MAX_CAPLEN;
	rd->buf = malloc(PCAP_READ_BUF);
	if (!rd->buf)
		goto no;
	if (lseek(rd->fd, 24, SEEK_SET) != 24)
		goto no;
	return 1;
no:
	if (rd->fd >= 0)
		close(rd->fd);
	free(rd->buf);
	memset(rd, 0, sizeof(*rd));
	return 0;
}

void pcap_rd_close(struct pcap_rd *rd)
{
	if (!rd->buf)
		return; /* not open */
	close(rd->fd);
	free(rd->buf);
	memset(rd, 0, sizeof(*rd));
}

bool pcap_rd_rewind(struct pcap_rd *rd)
{
	rd->pos = rd->end = 0;
	rd->eof = false;
	return lseek(rd->fd, 24, SEEK_SET) == 24;
}

/* At least want bytes from pos in the buffer: true, or false at the end
 * of the file (or a read error) with what there is. */
static bool fill(struct pcap_rd *rd, size_t want)
{
	if (rd->end - rd->pos >= want)
		return true;
	memmove(rd->buf, rd->buf + rd->pos, rd->end - rd->pos);
	rd->end -= rd->pos;
	rd->pos = 0;
	while (!rd->eof && rd->end < want) {
		ssize_t n = read(rd->fd, rd->buf + rd->end, PCAP_READ_BUF - rd->end);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			rd->eof = true;
		else
			rd->end += (size_t)n;
	}
	return rd->end >= want;
}

int pcap_rd_next(struct pcap_rd *rd, struct pcap_rd_frame *f, char *why, size_t len)
{
	const uint8_t *h;
	uint32_t caplen;

	if (rd->end - rd->pos < 16 && !fill(rd, 16)) {
		if (rd->end == rd->pos)
			return 0;
		snprintf(why, len, "truncated dump file; tried to read 16 header bytes, only got %zu",
			 rd->end - rd->pos);
		return -1;
	}
	h = rd->buf + rd->pos;
	caplen = get32(rd, h + 8);
	f->len = get32(rd, h + 12);
	f->ts = (uint64_t)get32(rd, h) * 1000000000u +
		(uint64_t)get32(rd, h + 4) * (rd->nsec ? 1u : 1000u);
	if (caplen > MAX_CAPLEN) {
		snprintf(why, len, "invalid packet capture length %u, bigger than maximum of %u",
			 caplen, MAX_CAPLEN);
		return -1;
	}
	if (rd->end - rd->pos < 16 + (size_t)caplen && !fill(rd, 16 + (size_t)caplen)) {
		snprintf(why, len, "truncated dump file; tried to read %u captured bytes, only got %zu",
			 caplen, rd->end - rd->pos - 16);
		return -1;
	}
	f->data = rd->buf + rd->pos + 16;
	f->caplen = caplen < rd->snaplen ? caplen : rd->snaplen;
	rd->pos += 16 + (size_t)caplen;
	return 1;
}
