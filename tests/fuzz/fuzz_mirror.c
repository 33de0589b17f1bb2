// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: a mirror area as another process could leave it
 * (apps/common/mirror.c, which weir-cap runs on the area a running app
 * shares). The input is checked as a whole area (mirror_check), then its
 * bytes fill a 4 KiB ring, with a head (free-running, near a wrap) and a
 * snaplen taken from the input, and the ring is read to its end
 * (mirror_next).
 *
 * Properties beyond "does not crash or read out of bounds": every record
 * handed out lies wholly inside the ring, holds at most snaplen and at
 * most origlen bytes; tail only moves forward and never past head; the
 * reading ends (empty or -EPROTO) within one record per 8 bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mirror.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RING 4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t ring[RING];
	uint64_t head, tail, base;
	uint32_t snaplen;
	char why[256];
	unsigned steps = 0;
	int r = 0;

	if (mirror_check(data, size, why, sizeof(why)) == 0) {
		struct mirror_hdr h;

		memcpy(&h, data, sizeof(h));
		if (h.area_bytes > size || h.nrings > MIRROR_MAX_RINGS)
			abort(); /* accepted an area bigger than what is mapped */
	} else if (!why[0]) {
		abort(); /* refused without saying why */
	}
	if (size < 12)
		return 0;
	/* Free-running indexes: start just below a wrap of the 64-bit space
	 * or of the ring, as the input says. */
	memcpy(&base, data, 8);
	base = (base & 1) ? UINT64_MAX - (base >> 52) : (base >> 1) & 0xffffff;
	head = base + (((uint64_t)data[8] << 8 | data[9]) % (RING + 64));
	snaplen = 1 + ((uint32_t)data[10] << 4 | data[11]);
	memset(ring, 0, sizeof(ring));
	memcpy(ring, data + 12, size - 12 < RING ? size - 12 : RING);
	tail = base;
	while (steps++ <= RING / 8 + 2) {
		struct mirror_rec rec;
		const uint8_t *d = NULL;
		uint64_t before = tail;

		r = mirror_next(ring, RING, snaplen, head, &tail, &rec, &d);
		if (r <= 0)
			break;
		if (tail - before > RING || tail - base > head - base)
			abort(); /* tail went back or past head */
		if (d < ring || d + rec.caplen > ring + RING || rec.caplen > snaplen ||
		    rec.caplen > rec.origlen)
			abort(); /* a record outside the ring or longer than allowed */
	}
	if (r > 0)
		abort(); /* more records than the ring can hold */
	return 0;
}
