// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio: the packed virtqueue (virtio 1.2 §2.8), driver side. One ring
 * of descriptors that both sides write: weir makes a descriptor available
 * by writing it with AVAIL == its wrap counter and USED != it, the device
 * hands it back by writing id, length and AVAIL == USED == its own wrap
 * counter at the position it has reached. Chains take consecutive
 * positions; the device returns a chain as one used descriptor at the
 * chain's first position, and weir (which alone knows how long the chain
 * was: private state, never the ring) steps past all of it. Event
 * suppression lives in two small areas, each on a page of its own: the
 * driver area (weir's: "interrupt me at") and the device area (the
 * device's: "kick me at").
 */
#include <string.h>

#include "virtio_internal.h"

#define PAGE 4096u

static size_t page_up(size_t v)
{
	return (v + PAGE - 1) & ~(size_t)(PAGE - 1);
}

size_t vt_packed_bytes(uint16_t n)
{
	return page_up(16 * (size_t)n) + 2 * PAGE;
}

void vt_packed_init(struct vt_packed *pq, void *mem, uint16_t n, bool event_idx)
{
	uint8_t *p = mem;

	memset(pq, 0, sizeof(*pq));
	pq->desc = mem;
	pq->driver = (struct vring_packed_event *)(void *)(p + page_up(16 * (size_t)n));
	pq->device = (struct vring_packed_event *)(void *)(p + page_up(16 * (size_t)n) + PAGE);
	pq->size = n;
	pq->nfree = n;
	pq->avail_wrap = true;
	pq->used_wrap = true;
	pq->event_idx = event_idx;
	/* Poll mode: no interrupts until a queue goes to sleep. */
	pq->driver->flags = VRING_PACKED_EVENT_DISABLE;
}

void vt_packed_addrs(const struct vt_packed *pq, struct vhu_vring_addr *a)
{
	a->desc = (uint64_t)(uintptr_t)pq->desc;
	a->avail = (uint64_t)(uintptr_t)pq->driver;
	a->used = (uint64_t)(uintptr_t)pq->device;
	a->log = 0;
	a->flags = 0;
}

void vt_packed_add(struct vt_packed *pq, const struct vt_seg *segs, uint16_t k, uint16_t id,
		   bool write)
{
	uint16_t head = pq->next_avail, head_flags = 0;

	for (uint16_t i = 0; i < k; i++) {
		struct vring_packed_desc *d = &pq->desc[pq->next_avail];
		uint16_t f = (pq->avail_wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED) |
			     (i + 1 < k ? VRING_DESC_F_NEXT : 0) | (write ? VRING_DESC_F_WRITE : 0);

		d->addr = segs[i].addr;
		d->len = segs[i].len;
		d->id = id;
		if (i == 0)
			head_flags = f;
		else
			__atomic_store_n(&d->flags, f, __ATOMIC_RELAXED);
		if (++pq->next_avail == pq->size) {
			pq->next_avail = 0;
			pq->avail_wrap = !pq->avail_wrap;
		}
	}
	if (!pq->held) {
		/* The batch's first: vt_packed_publish makes it available. */
		pq->held = &pq->desc[head];
		pq->held_flags = head_flags;
	} else {
		/* Release: the head's flags make the whole chain available, so
		 * every field written above is visible first (§2.8.21: the
		 * device reads the chain after it sees the head available,
		 * with a read barrier). */
		__atomic_store_n(&pq->desc[head].flags, head_flags, __ATOMIC_RELEASE);
	}
	pq->nfree = (uint16_t)(pq->nfree - k);
	pq->added += k;
}

/* §2.7.10's test, on positions that wrap at the ring size (Linux's
 * virtqueue_kick_prepare_packed does the same sums). */
static inline bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vt_packed_publish(struct vt_packed *pq)
{
	uint16_t new_idx = pq->next_avail, old = (uint16_t)(new_idx - pq->added);
	uint16_t off_wrap, flags, event;

	/* Release: every descriptor of the batch (this one's fields, the
	 * others' fields and flags) is visible before the flags that make
	 * the first available; pairs with the device's acquire (its read
	 * barrier after seeing a descriptor available, §2.8.21). */
	if (pq->held) {
		__atomic_store_n(&pq->held->flags, pq->held_flags, __ATOMIC_RELEASE);
		pq->held = NULL;
	}
	pq->added = 0;
	/* Full barrier: the descriptors made available must be visible before
	 * the device's suppression state is read, pairing with the device's
	 * barrier between writing its event area and re-reading the ring. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = __atomic_load_n(&pq->device->flags, __ATOMIC_RELAXED);
	off_wrap = __atomic_load_n(&pq->device->off_wrap, __ATOMIC_RELAXED);
	if (flags != VRING_PACKED_EVENT_DESC || !pq->event_idx)
		return flags != VRING_PACKED_EVENT_DISABLE;
	event = off_wrap & 0x7fff;
	if (!!(off_wrap >> 15) != pq->avail_wrap)
		event = (uint16_t)(event - pq->size);
	return need_event(event, new_idx, old);
}

bool vt_packed_arm(struct vt_packed *pq)
{
	struct vring_used_elem e;

	if (pq->event_idx) {
		__atomic_store_n(&pq->driver->off_wrap,
				 (uint16_t)(pq->next_used | (pq->used_wrap ? 0x8000 : 0)),
				 __ATOMIC_RELAXED);
		__atomic_store_n(&pq->driver->flags, VRING_PACKED_EVENT_DESC, __ATOMIC_RELAXED);
	} else {
		__atomic_store_n(&pq->driver->flags, VRING_PACKED_EVENT_ENABLE, __ATOMIC_RELAXED);
	}
	/* Full barrier: the request is visible before the ring is read again
	 * (pairs with the device's barrier between writing a used descriptor
	 * and reading the driver area), so an entry added meanwhile is seen
	 * here or interrupts. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vt_packed_used_at(pq, pq->next_used, pq->used_wrap, &e);
}

void vt_packed_disarm(struct vt_packed *pq)
{
	__atomic_store_n(&pq->driver->flags, VRING_PACKED_EVENT_DISABLE, __ATOMIC_RELAXED);
}
