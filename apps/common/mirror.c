// SPDX-License-Identifier: BSD-3-Clause
/*
 * The reading side of a mirror area (common/mirror.h): checks of the
 * header and of each record, which another process wrote. Nothing here
 * trusts a length before it is bounded by the mapping or the ring.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/mirror.h"

int mirror_check(const void *area, uint64_t len, char *why, size_t whylen)
{
	struct mirror_hdr h;

	if (len < MIRROR_HDR_SIZE) {
		snprintf(why, whylen, "the area is %llu bytes, less than its header",
			 (unsigned long long)len);
		return -EINVAL;
	}
	memcpy(&h, area, sizeof(h));
	if (h.magic != MIRROR_MAGIC || h.version != MIRROR_VERSION) {
		snprintf(why, whylen, "not a weir mirror area of version %d (magic 0x%08x, "
			 "version %u): the app and weir-cap are from different builds",
			 MIRROR_VERSION, h.magic, h.version);
		return -EINVAL;
	}
	if (!h.nrings || h.nrings > MIRROR_MAX_RINGS || h.ring_bytes < 4096 ||
	    (h.ring_bytes & (h.ring_bytes - 1)) || !h.snaplen || h.snaplen > MIRROR_SNAPLEN_MAX ||
	    h.area_bytes != mirror_area_bytes(h.nrings, h.ring_bytes) || h.area_bytes > len) {
		snprintf(why, whylen, "bad mirror header: %u rings of %u bytes, snaplen %u, %llu "
			 "bytes in a mapping of %llu", h.nrings, h.ring_bytes, h.snaplen,
			 (unsigned long long)h.area_bytes, (unsigned long long)len);
		return -EINVAL;
	}
	return 0;
}

int mirror_next(const uint8_t *ring, uint32_t ring_bytes, uint32_t snaplen, uint64_t head,
		uint64_t *tail, struct mirror_rec *rec, const uint8_t **data)
{
	for (int pass = 0; pass < 2; pass++) {
		uint64_t t = *tail, off = t & (ring_bytes - 1), left = ring_bytes - off, size;

		if (t == head)
			return 0;
		if (head - t > ring_bytes)
			return -EPROTO;
		if (left >= sizeof(*rec))
			memcpy(rec, ring + off, sizeof(*rec));
		if (left < sizeof(*rec) || rec->caplen == MIRROR_REC_SKIP) {
			/* The producer went on at the start of the ring. */
			if (left > head - t) /* differences: the indexes wrap */
				return -EPROTO;
			*tail = t + left;
			continue;
		}
		size = MIRROR_ALIGN(sizeof(*rec) + (uint64_t)rec->caplen);
		if (rec->caplen > snaplen || rec->caplen > rec->origlen || size > left ||
		    size > head - t)
			return -EPROTO;
		*data = ring + off + sizeof(*rec);
		*tail = t + size;
		return 1;
	}
	return -EPROTO; /* two skips in a row */
}
