/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Mirrors: capture from a running weir app, with no change to the app.
 * weir-cap connects to the app's --stats-socket and sends
 *     capture port=N dir=rx|tx|both snaplen=N ring=BYTES filter=EXPR
 * (filter last: the rest of the line); the harness (common/mirror_tap.c)
 * compiles the filter, makes a shared-memory area (a memfd) with one ring
 * per queue, passes the fd back with the reply (SCM_RIGHTS) and sets a tap
 * on the port (weir/port.h). On the lcore that makes each burst, the tap
 * copies the matching frames (up to snaplen) into that queue's ring,
 * never waiting: a record that does not fit is dropped and counted. The
 * session ends when weir-cap's connection closes.
 *
 * The area (this file's layout, host byte order: both ends are on one
 * machine): a header, then `nrings` rings of `ring_bytes` data each. A ring
 * is single-producer (the queue's lcore) single-consumer (weir-cap): the
 * producer writes records at head and publishes head (release), the
 * consumer reads up to head (acquire) and publishes tail. Indexes are free
 * running byte counts; a record never wraps: when fewer than a record's
 * bytes are left before the end, the producer writes a skip record there
 * (or, with fewer than a header's bytes left, nothing) and goes on at the
 * start.
 *
 * The consumer trusts nothing in the area (another process writes it):
 * mirror_check() validates the header against the mapping's size, and
 * mirror_next() every record against the ring (tests/fuzz/fuzz_mirror.c).
 */
#ifndef WEIR_APP_MIRROR_H
#define WEIR_APP_MIRROR_H

#include <assert.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define MIRROR_MAGIC 0x5257494du /* "MIWR" */
#define MIRROR_VERSION 1
#define MIRROR_MAX_RINGS 64
#define MIRROR_HDR_SIZE 256
#define MIRROR_RING_DEFAULT (4u << 20)
#define MIRROR_SNAPLEN_MAX 65535u

enum mirror_dir { MIRROR_DIR_RX = 1, MIRROR_DIR_TX = 2 };

struct mirror_hdr {
	uint32_t magic, version;
	uint32_t nrings;     /* one per queue of the port */
	uint32_t ring_bytes; /* data bytes per ring: a power of two */
	uint32_t snaplen;
	uint32_t dirs;       /* enum mirror_dir bits mirrored */
	uint64_t area_bytes; /* the whole mapping */
	char port[128];      /* the port's spec, for the capture file */
};

/* A ring's indexes, on their own cache lines; the data follows. */
struct mirror_ring {
	_Alignas(64) _Atomic uint64_t head; /* producer: bytes written */
	_Alignas(64) _Atomic uint64_t tail; /* consumer: bytes read */
	_Alignas(64) _Atomic uint64_t seen; /* producer: frames that matched */
	_Atomic uint64_t drops;             /* producer: matched, no room */
};

#define MIRROR_RING_HDR 256
static_assert(sizeof(struct mirror_ring) <= MIRROR_RING_HDR, "ring indexes fit");
static_assert(sizeof(struct mirror_hdr) <= MIRROR_HDR_SIZE, "header fits");

/* One frame: this header, caplen bytes, padding to 8. */
struct mirror_rec {
	uint32_t caplen;  /* MIRROR_REC_SKIP: go on at the start of the ring */
	uint32_t origlen; /* the frame's length */
	uint64_t ts;      /* realtime ns */
	uint32_t dir;     /* enum mirror_dir */
	uint32_t pad;
};

#define MIRROR_REC_SKIP UINT32_MAX
#define MIRROR_ALIGN(n) (((uint64_t)(n) + 7) & ~(uint64_t)7)

/* Bytes of the area for nrings rings of ring_bytes. */
static inline uint64_t mirror_area_bytes(uint32_t nrings, uint32_t ring_bytes)
{
	return MIRROR_HDR_SIZE + (uint64_t)nrings * (MIRROR_RING_HDR + ring_bytes);
}

static inline struct mirror_ring *mirror_ring_at(void *area, uint32_t i, uint32_t ring_bytes)
{
	return (struct mirror_ring *)(void *)((uint8_t *)area + MIRROR_HDR_SIZE +
					     (uint64_t)i * (MIRROR_RING_HDR + ring_bytes));
}

static inline uint8_t *mirror_ring_data(struct mirror_ring *r)
{
	return (uint8_t *)r + MIRROR_RING_HDR;
}

/*
 * Checks an area of len bytes someone else wrote: magic, version, ring
 * count and size (a power of two, at least 4 KiB) against len, snaplen.
 * 0, or -EINVAL with what is wrong in why.
 */
int mirror_check(const void *area, uint64_t len, char *why, size_t whylen);

/*
 * The next record of ring r (ring_bytes of data) at *tail, up to head: 1
 * and *rec / *data (caplen bytes, all inside the ring) with *tail moved
 * past it; 0 when the ring is empty; -EPROTO when what is there is no
 * valid record (caplen over snaplen or origlen, a record past head or the
 * ring's end), after which the ring cannot be read any more. Consumer only.
 */
int mirror_next(const uint8_t *ring, uint32_t ring_bytes, uint32_t snaplen, uint64_t head,
		uint64_t *tail, struct mirror_rec *rec, const uint8_t **data);

#endif
