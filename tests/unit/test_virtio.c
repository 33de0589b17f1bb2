// SPDX-License-Identifier: BSD-3-Clause
/*
 * Unit tests for the virtio driver's parts that need no backend
 * (pmd/virtio_split.c, virtio_packed.c, virtio_vhost.c, virtio.c's
 * checks): notification suppression by event index (when a kick is due,
 * across the 16-bit wrap and the packed ring's wrap counter), the
 * interrupt request, reply-header checks, and the messages a port spec
 * gets when the pool is private, the path is missing or nobody listens.
 * The rings with a real backend are tests/integration/test_virtio.sh.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weir/port.h"

#include "virtio_internal.h"

static uint8_t mem[64 * 1024] __attribute__((aligned(4096)));

Test(virtio, split_kick_only_when_the_device_asks)
{
	struct vt_split vq;

	memset(mem, 0, sizeof(mem));
	vt_split_init(&vq, mem, 256, true);
	/* The device wants a kick once avail idx passes 10. */
	*vq.avail_event = 10;
	for (int i = 0; i < 8; i++)
		vt_split_avail_add(&vq, (uint16_t)i);
	cr_expect_not(vt_split_publish(&vq), "0..8 does not cross avail_event 10");
	cr_expect_eq(*vq.avail_idx, 8, "published");
	for (int i = 0; i < 8; i++)
		vt_split_avail_add(&vq, (uint16_t)i);
	cr_expect(vt_split_publish(&vq), "8..16 crosses 10");
	cr_expect_not(vt_split_publish(&vq), "nothing new, no kick");
}

Test(virtio, split_kick_decision_across_the_16_bit_wrap)
{
	struct vt_split vq;

	memset(mem, 0, sizeof(mem));
	vt_split_init(&vq, mem, 256, true);
	vq.avail_shadow = vq.kicked_at = 65530;
	*vq.avail_event = 2; /* past the wrap */
	for (int i = 0; i < 6; i++)
		vt_split_avail_add(&vq, 0);
	cr_expect_not(vt_split_publish(&vq), "65530..0 does not reach 2");
	for (int i = 0; i < 6; i++)
		vt_split_avail_add(&vq, 0);
	cr_expect(vt_split_publish(&vq), "0..6 crosses 2");
}

Test(virtio, split_without_event_idx_follows_no_notify)
{
	struct vt_split vq;

	memset(mem, 0, sizeof(mem));
	vt_split_init(&vq, mem, 64, false);
	vt_split_avail_add(&vq, 0);
	cr_expect(vt_split_publish(&vq), "no NO_NOTIFY: kick");
	*vq.used_flags = VRING_USED_F_NO_NOTIFY;
	vt_split_avail_add(&vq, 1);
	cr_expect_not(vt_split_publish(&vq), "NO_NOTIFY: no kick");
}

Test(virtio, split_arm_asks_for_the_next_entry_and_sees_one_that_slipped_in)
{
	struct vt_split vq;

	memset(mem, 0, sizeof(mem));
	vt_split_init(&vq, mem, 64, true);
	cr_expect_eq(*vq.used_event, 65535, "poll mode: used_event behind");
	vq.last_used = 7;
	*vq.used_idx = 7;
	cr_expect_not(vt_split_arm(&vq));
	cr_expect_eq(*vq.used_event, 7, "interrupt at the next entry");
	*vq.used_idx = 8;
	cr_expect(vt_split_arm(&vq), "an entry arrived: read it instead of sleeping");
	cr_expect_eq(vt_split_used_avail(&vq), 1);
	*vq.used_idx = 7 + 65;
	cr_expect_eq(vt_split_used_avail(&vq), -1, "65 entries in a ring of 64: broken");
}

Test(virtio, packed_kick_with_wrap_counters)
{
	struct vt_packed pq;
	struct vt_seg s = {.addr = 0x1000, .len = 64};

	memset(mem, 0, sizeof(mem));
	vt_packed_init(&pq, mem, 8, true);
	cr_expect_eq(pq.desc[0].flags, 0);
	pq.device->flags = VRING_PACKED_EVENT_DESC;
	pq.device->off_wrap = 5 | 0x8000; /* kick past position 5 of wrap 1 */
	for (int i = 0; i < 4; i++)
		vt_packed_add(&pq, &s, 1, (uint16_t)i, false);
	cr_expect_eq(pq.desc[0].flags, 0, "the batch's first is held until publish");
	cr_expect_eq(pq.desc[1].flags, VRING_PACKED_DESC_F_AVAIL, "the rest written in full");
	cr_expect_not(vt_packed_publish(&pq), "0..4 does not pass 5");
	cr_expect_eq(pq.desc[0].flags, VRING_PACKED_DESC_F_AVAIL, "available in wrap 1");
	for (int i = 0; i < 4; i++)
		vt_packed_add(&pq, &s, 1, (uint16_t)i, false);
	cr_expect(!pq.avail_wrap && pq.next_avail == 0, "wrapped after 8");
	cr_expect(vt_packed_publish(&pq), "4..8 passes 5");
	pq.device->flags = VRING_PACKED_EVENT_DISABLE;
	pq.nfree = 8;
	vt_packed_add(&pq, &s, 1, 0, false);
	cr_expect_not(vt_packed_publish(&pq), "disabled");
	cr_expect_eq(pq.desc[0].flags, VRING_PACKED_DESC_F_USED, "available in wrap 0");
}

Test(virtio, packed_used_needs_both_bits_and_the_right_wrap)
{
	struct vt_packed pq;
	struct vring_used_elem e;
	uint16_t pos = 6;
	bool wrap = true;

	memset(mem, 0, sizeof(mem));
	vt_packed_init(&pq, mem, 8, false);
	pq.desc[0] = (struct vring_packed_desc){.id = 3, .len = 99,
						.flags = VRING_PACKED_DESC_F_AVAIL};
	cr_expect_not(vt_packed_used_at(&pq, 0, true, &e), "available is not used");
	pq.desc[0].flags = VRING_PACKED_DESC_F_AVAIL | VRING_PACKED_DESC_F_USED;
	cr_expect(vt_packed_used_at(&pq, 0, true, &e));
	cr_expect(e.id == 3 && e.len == 99);
	cr_expect_not(vt_packed_used_at(&pq, 0, false, &e), "a used of the last lap");
	vt_packed_step(8, &pos, &wrap, 3);
	cr_expect(pos == 1 && !wrap, "6 + 3 in a ring of 8 is 1 of the next lap");
	cr_expect(vt_packed_arm(&pq), "position 0 holds a used descriptor already");
	cr_expect_eq(pq.driver->flags, VRING_PACKED_EVENT_ENABLE);
	vt_packed_disarm(&pq);
	cr_expect_eq(pq.driver->flags, VRING_PACKED_EVENT_DISABLE);
}

Test(virtio, reply_check)
{
	uint8_t h[12];
	uint32_t v[3] = {VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, 8};
	char err[160];

	memcpy(h, v, 12);
	cr_expect_eq(vhu_reply_check(h, VHU_GET_FEATURES, 8, err, sizeof(err)), 0);
	cr_expect_eq(vhu_reply_check(h, VHU_GET_PROTOCOL_FEATURES, 8, err, sizeof(err)), -EPROTO);
	cr_expect(strstr(err, "answers request 1 (GET_FEATURES)"), "%s", err);
	cr_expect_eq(vhu_reply_check(h, VHU_GET_FEATURES, 4, err, sizeof(err)), -EPROTO);
	cr_expect(strstr(err, "carries 8 bytes (4 expected)"), "%s", err);
	v[1] = VHU_VERSION;
	memcpy(h, v, 12);
	cr_expect_eq(vhu_reply_check(h, VHU_GET_FEATURES, 8, err, sizeof(err)), -EPROTO);
	cr_expect(strstr(err, "reply bit"), "%s", err);
}

static int open_err(const char *spec, struct weir_pool *pool, char *why, size_t len)
{
	struct weir_port *port = NULL;
	int err = weir_port_open(spec, &(struct weir_port_conf){.pool = pool}, &port, why, len);

	if (!err)
		weir_port_close(port);
	return err;
}

Test(virtio, open_messages)
{
	struct weir_pool *priv = NULL, *shared = NULL;
	char why[WEIR_PORT_ERRSIZE], path[64];

	cr_assert_eq(weir_pool_create(&(struct weir_pool_conf){.n = 1024}, &priv), 0);
	cr_assert_eq(weir_pool_create(&(struct weir_pool_conf){.n = 1024, .shared = true},
				      &shared), 0);
	cr_expect(weir_port_spec_shares_pool("virtio:/x.sock?queues=2"));
	cr_expect_not(weir_port_spec_shares_pool("ring:a"));
	snprintf(path, sizeof(path), "/tmp/weir-test-virtio-%d.sock", getpid());
	unlink(path);
	snprintf(why, sizeof(why), "virtio:%s", path);
	cr_expect_eq(open_err(why, priv, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "private memory") && strstr(why, "shared = true"), "%s", why);
	cr_expect_eq(open_err("virtio:", shared, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "needs the vhost-user socket"), "%s", why);
	snprintf(why, sizeof(why), "virtio:%s?queue_size=100", path);
	cr_expect_eq(open_err(why, shared, why, sizeof(why)), -EINVAL);
	cr_expect(strstr(why, "not a power of two"), "%s", why);
	snprintf(why, sizeof(why), "virtio:%s", path);
	cr_expect_eq(open_err(why, shared, why, sizeof(why)), -ENOENT);
	cr_expect(strstr(why, "cannot connect") && strstr(why, "server=1"), "%s", why);
	cr_expect_eq(weir_pool_in_use(shared), 0);
	weir_pool_destroy(priv);
	weir_pool_destroy(shared);
}
