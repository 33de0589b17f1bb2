// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio: the split virtqueue (virtio 1.2 §2.7), driver side. The
 * descriptor table, the available ring (written by weir) and the used
 * ring (written by the device) each start on a page of their own, so the
 * lines the device writes are never the lines weir writes. Notification
 * suppression follows VIRTIO_RING_F_EVENT_IDX when negotiated (§2.7.10):
 * weir kicks only when the new avail entries pass the device's
 * avail_event, and asks for an interrupt by writing used_event only when
 * it is about to sleep. The fast-path parts are inline in
 * virtio_internal.h.
 */
#include <string.h>

#include "virtio_internal.h"

#define PAGE 4096u

static size_t page_up(size_t v)
{
	return (v + PAGE - 1) & ~(size_t)(PAGE - 1);
}

static size_t avail_bytes(uint16_t n)
{
	return 2 * (3 + (size_t)n); /* flags, idx, ring[n], used_event */
}

static size_t used_bytes(uint16_t n)
{
	return 4 + 8 * (size_t)n + 2; /* flags, idx, ring[n], avail_event */
}

size_t vt_split_bytes(uint16_t n)
{
	return page_up(16 * (size_t)n) + page_up(avail_bytes(n)) + page_up(used_bytes(n));
}

void vt_split_init(struct vt_split *vq, void *mem, uint16_t n, bool event_idx)
{
	uint8_t *p = mem;
	uint8_t *avail = p + page_up(16 * (size_t)n);
	uint8_t *used = avail + page_up(avail_bytes(n));

	memset(vq, 0, sizeof(*vq));
	vq->desc = mem;
	vq->avail_flags = (uint16_t *)(void *)avail;
	vq->avail_idx = vq->avail_flags + 1;
	vq->avail_ring = vq->avail_flags + 2;
	vq->used_event = vq->avail_ring + n;
	vq->used_flags = (uint16_t *)(void *)used;
	vq->used_idx = vq->used_flags + 1;
	vq->used_ring = (struct vring_used_elem *)(void *)(used + 4);
	vq->avail_event = (uint16_t *)(void *)(used + 4 + 8 * (size_t)n);
	vq->size = n;
	vq->mask = (uint16_t)(n - 1);
	vq->event_idx = event_idx;
	/* Poll mode: no interrupts until a queue goes to sleep (vt_split_arm).
	 * With event idx the flag means nothing to the device; used_event = 0
	 * behind last_used does the same until the index wraps. */
	*vq->avail_flags = VRING_AVAIL_F_NO_INTERRUPT;
	*vq->used_event = (uint16_t)(vq->last_used - 1);
	/* Slot i names descriptor i until a chain shifts them: with in-order
	 * single-descriptor buffers weir then never rewrites a slot. */
	for (uint16_t i = 0; i < n; i++)
		vq->avail_ring[i] = i;
}

void vt_split_addrs(const struct vt_split *vq, struct vhu_vring_addr *a)
{
	a->desc = (uint64_t)(uintptr_t)vq->desc;
	a->avail = (uint64_t)(uintptr_t)vq->avail_flags;
	a->used = (uint64_t)(uintptr_t)vq->used_flags;
	a->log = 0;
	a->flags = 0;
}

/* §2.7.10: true when the device wants a notification for the entries
 * between old and new_idx, given the event index it published. */
static inline bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vt_split_publish(struct vt_split *vq)
{
	uint16_t old = vq->kicked_at, now = vq->avail_shadow;

	/* Release: the descriptors and ring slots written before are visible
	 * to a device that acquires avail->idx (the device's read barrier
	 * after loading idx, §2.7.13.3). */
	__atomic_store_n(vq->avail_idx, now, __ATOMIC_RELEASE);
	vq->kicked_at = now;
	/* Full barrier: the idx store above must be visible before the
	 * suppression state is read, or the device could decide to sleep on
	 * the old idx while weir reads a stale "no notify" (§2.7.13.4: the
	 * driver's mb pairs with the device's mb between its update of
	 * avail_event/used flags and its final re-read of avail->idx). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vq->event_idx)
		return need_event(__atomic_load_n(vq->avail_event, __ATOMIC_RELAXED), now, old);
	return !(__atomic_load_n(vq->used_flags, __ATOMIC_RELAXED) & VRING_USED_F_NO_NOTIFY);
}

bool vt_split_arm(struct vt_split *vq)
{
	if (vq->event_idx)
		__atomic_store_n(vq->used_event, vq->last_used, __ATOMIC_RELAXED);
	else
		__atomic_store_n(vq->avail_flags, 0, __ATOMIC_RELAXED);
	/* Full barrier: the request must be visible before used->idx is read
	 * again, pairing with the device's mb between writing used->idx and
	 * reading used_event (§2.7.14), so an entry added meanwhile is either
	 * seen here or interrupts. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(vq->used_idx, __ATOMIC_ACQUIRE) != vq->last_used;
}
