// SPDX-License-Identifier: BSD-3-Clause
/*
 * vhost_evil: a vhost-user backend of weir's own that misbehaves on
 * purpose, to show that weir's virtio: driver refuses it with a clear
 * message, without a crash, an out-of-bounds access or a lost buffer.
 *
 *   vhost_evil SOCKET MODE
 *
 * It listens on SOCKET, takes one front-end, answers the set-up messages
 * as a real backend would (mapping the memory regions and rings it is
 * given), and then, by MODE:
 *   nofeatures   offers no feature at all (no VIRTIO_F_VERSION_1)
 *   badreply     answers GET_FEATURES as if it were another request
 *   silent       never answers GET_FEATURES
 *   garbage      writes an out-of-range id into the RX used ring
 *   bigidx       moves the RX used index a thousand entries ahead
 *   badlen       returns an RX buffer with a length beyond its size
 *   dup          completes one TX chain twice
 *   close        completes TX chains correctly for a while, then closes
 *                the connection mid-run
 *   fewqueues    offers multiqueue but has only 2 queue pairs
 *   echo         a well-behaved backend (split rings) that sends every
 *                frame back with its virtio-net header as it came: a
 *                partial checksum comes back partial (GUEST_CSUM)
 *   memslots     a well-behaved backend that takes its memory by
 *                CONFIGURE_MEM_SLOTS (GET_MAX_MEM_SLOTS, ADD_MEM_REG)
 *                instead of SET_MEM_TABLE, completes TX chains, and closes
 *                after 500 like close
 * It exits when the front-end goes away (or after 20 s).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "virtio_internal.h"

struct region {
	uint64_t gpa, size;
	uint8_t *base;
};

struct vring {
	uint16_t num;
	struct vring_desc *desc;
	uint16_t *avail; /* flags, idx, ring[] */
	uint16_t *used;  /* flags, idx, then elems */
	uint16_t last_avail;
	bool enabled;
};

static struct region regions[VHU_MAX_REGIONS];
static int nregions;
static struct vring rings[2];
static const char *mode;

static void *gpa_to_ptr(uint64_t a)
{
	for (int i = 0; i < nregions; i++)
		if (a >= regions[i].gpa && a - regions[i].gpa < regions[i].size)
			return regions[i].base + (a - regions[i].gpa);
	fprintf(stderr, "vhost_evil: address 0x%llx is in no region\n", (unsigned long long)a);
	exit(2);
}

static int recv_msg(int fd, struct vhu_msg *m, int *fds, int *nfds)
{
	char ctl[CMSG_SPACE(sizeof(int) * VHU_MAX_REGIONS)];
	struct iovec iov = {.iov_base = m, .iov_len = VHU_HDR_SIZE};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl)};
	ssize_t r = recvmsg(fd, &mh, 0);

	*nfds = 0;
	if (r != VHU_HDR_SIZE)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_type != SCM_RIGHTS)
			continue;
		*nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)*nfds);
	}
	if (m->size > sizeof(m->p) || (m->size && recv(fd, &m->p, m->size, MSG_WAITALL) !=
							   (ssize_t)m->size))
		return -1;
	return 0;
}

static void reply(int fd, const struct vhu_msg *req, uint32_t as, const void *p, uint32_t len)
{
	struct vhu_msg m = {.request = as, .flags = VHU_VERSION | VHU_FLAG_REPLY, .size = len};

	(void)req;
	memcpy(&m.p, p, len);
	if (send(fd, &m, VHU_HDR_SIZE + len, MSG_NOSIGNAL) < 0)
		exit(0);
}

/* ADD_MEM_REG: one region, one fd. */
static void add_mem(const struct vhu_msg *m, const int *fds, int nfds)
{
	struct vhu_region r;
	void *p;

	memcpy(&r, (const uint8_t *)m + VHU_HDR_SIZE + 8, sizeof(r));
	if (nfds != 1 || nregions == VHU_MAX_REGIONS) {
		fprintf(stderr, "vhost_evil: ADD_MEM_REG with %d fds\n", nfds);
		exit(2);
	}
	p = mmap(NULL, r.size + r.mmap_offset, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	if (p == MAP_FAILED) {
		perror("vhost_evil: mmap");
		exit(2);
	}
	regions[nregions++] = (struct region){.gpa = r.guest_addr, .size = r.size,
					      .base = (uint8_t *)p + r.mmap_offset};
}

static void set_mem(const struct vhu_msg *m, const int *fds, int nfds)
{
	nregions = 0;
	for (uint32_t i = 0; i < m->p.mem.nregions && (int)i < nfds; i++) {
		struct vhu_region r;
		void *p;

		memcpy(&r, (const uint8_t *)m + VHU_HDR_SIZE + 8 + i * sizeof(r), sizeof(r));
		p = mmap(NULL, r.size + r.mmap_offset, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);

		if (p == MAP_FAILED) {
			perror("vhost_evil: mmap");
			exit(2);
		}
		regions[nregions++] = (struct region){.gpa = r.guest_addr, .size = r.size,
						      .base = (uint8_t *)p + r.mmap_offset};
	}
}

/* Handles one set-up message; returns false when the front-end is gone. */
static bool handle(int fd)
{
	struct vhu_msg m;
	int fds[VHU_MAX_REGIONS], nfds;
	uint64_t v;

	if (recv_msg(fd, &m, fds, &nfds) < 0)
		return false;
	switch (m.request) {
	case VHU_GET_FEATURES:
		if (!strcmp(mode, "silent"))
			break;
		v = !strcmp(mode, "nofeatures") ? 0 :
			VT_BIT(VIRTIO_F_VERSION_1) | VT_BIT(VIRTIO_NET_F_MRG_RXBUF) |
			VT_BIT(VIRTIO_RING_F_EVENT_IDX) | VT_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
		if (!strcmp(mode, "echo"))
			v |= VT_BIT(VIRTIO_NET_F_CSUM) | VT_BIT(VIRTIO_NET_F_GUEST_CSUM);
		reply(fd, &m, !strcmp(mode, "badreply") ? VHU_SET_FEATURES : m.request, &v, 8);
		return true;
	case VHU_GET_PROTOCOL_FEATURES:
		v = VT_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) | VT_BIT(VHOST_USER_PROTOCOL_F_MQ);
		if (!strcmp(mode, "memslots"))
			v |= VT_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS);
		reply(fd, &m, m.request, &v, 8);
		return true;
	case VHU_GET_MAX_MEM_SLOTS:
		v = 8;
		reply(fd, &m, m.request, &v, 8);
		return true;
	case VHU_ADD_MEM_REG:
		add_mem(&m, fds, nfds);
		break;
	case VHU_SET_MEM_TABLE:
		if (!strcmp(mode, "memslots")) {
			fprintf(stderr, "vhost_evil: SET_MEM_TABLE although CONFIGURE_MEM_SLOTS "
					"was negotiated\n");
			exit(2);
		}
		set_mem(&m, fds, nfds);
		break;
	case VHU_GET_QUEUE_NUM:
		v = !strcmp(mode, "fewqueues") ? 2 : 1;
		reply(fd, &m, m.request, &v, 8);
		return true;
	case VHU_SET_VRING_NUM:
		rings[m.p.state.index & 1].num = (uint16_t)m.p.state.num;
		break;
	case VHU_SET_VRING_ADDR: {
		struct vring *r = &rings[m.p.addr.index & 1];

		r->desc = gpa_to_ptr(m.p.addr.desc);
		r->avail = gpa_to_ptr(m.p.addr.avail);
		r->used = gpa_to_ptr(m.p.addr.used);
		break;
	}
	case VHU_SET_VRING_ENABLE:
		rings[m.p.state.index & 1].enabled = m.p.state.num;
		break;
	default:
		break;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]); /* mappings outlive their fds */
	if (m.flags & VHU_FLAG_NEED_REPLY) {
		v = 0;
		reply(fd, &m, m.request, &v, 8);
	}
	return true;
}

static struct vring_used_elem *used_elem(struct vring *r, uint16_t i)
{
	return (struct vring_used_elem *)(void *)(r->used + 2) + (i & (r->num - 1));
}

static void used_publish(struct vring *r, uint16_t idx)
{
	__atomic_store_n(&r->used[1], idx, __ATOMIC_RELEASE);
}

/* echo: the next TX chain (header and frame) into the next RX buffer,
 * header kept (num_buffers 1); false when either ring has nothing. */
static bool echo_one(struct vring *tx, struct vring *rx)
{
	static uint8_t buf[65536];
	uint16_t head, id, rx_id;
	uint32_t len = 0;
	struct vring_desc *d;

	if (tx->last_avail == __atomic_load_n(&tx->avail[1], __ATOMIC_ACQUIRE) ||
	    rx->last_avail == __atomic_load_n(&rx->avail[1], __ATOMIC_ACQUIRE))
		return false;
	head = id = tx->avail[2 + (tx->last_avail & (tx->num - 1))];
	for (;;) {
		d = &tx->desc[id];
		if (len + d->len > sizeof(buf))
			exit(2);
		memcpy(buf + len, gpa_to_ptr(d->addr), d->len);
		len += d->len;
		if (!(d->flags & VRING_DESC_F_NEXT))
			break;
		id = d->next;
	}
	rx_id = rx->avail[2 + (rx->last_avail & (rx->num - 1))];
	d = &rx->desc[rx_id];
	if (len > d->len)
		exit(2); /* the tool's frames fit one buffer */
	((struct vt_net_hdr *)(void *)buf)->num_buffers = 1;
	memcpy(gpa_to_ptr(d->addr), buf, len);
	*used_elem(rx, rx->used[1]) = (struct vring_used_elem){.id = rx_id, .len = len};
	used_publish(rx, (uint16_t)(rx->used[1] + 1));
	rx->last_avail++;
	*used_elem(tx, tx->used[1]) = (struct vring_used_elem){.id = head, .len = 0};
	used_publish(tx, (uint16_t)(tx->used[1] + 1));
	tx->last_avail++;
	return true;
}

/* One step of the misbehaviour once both rings run; true when done. */
static bool misbehave(int fd, uint64_t *done)
{
	struct vring *rx = &rings[0], *tx = &rings[1];
	uint16_t rx_avail = __atomic_load_n(&rx->avail[1], __ATOMIC_ACQUIRE);
	uint16_t tx_avail = __atomic_load_n(&tx->avail[1], __ATOMIC_ACQUIRE);

	if (!strcmp(mode, "echo")) {
		while (echo_one(tx, rx))
			;
		return false;
	}
	if (!strcmp(mode, "garbage") || !strcmp(mode, "bigidx") || !strcmp(mode, "badlen")) {
		struct vt_net_hdr *h;

		if (!rx_avail)
			return false;
		/* A well-formed header: the used entry is what is wrong. */
		h = gpa_to_ptr(rx->desc[rx->avail[2]].addr);
		h->num_buffers = 1;
		*used_elem(rx, 0) = (struct vring_used_elem){
			.id = !strcmp(mode, "garbage") ? 0xdeadbeef : rx->avail[2],
			.len = !strcmp(mode, "badlen") ? 1u << 20 : 64};
		used_publish(rx, !strcmp(mode, "bigidx") ? 1000 : 1);
		return true;
	}
	/* dup, close: complete TX chains as they come. */
	while (tx->last_avail != tx_avail) {
		uint16_t head = tx->avail[2 + (tx->last_avail & (tx->num - 1))];
		uint16_t u = tx->used[1];

		*used_elem(tx, u) = (struct vring_used_elem){.id = head, .len = 0};
		if (!strcmp(mode, "dup") && *done == 10)
			*used_elem(tx, ++u) = (struct vring_used_elem){.id = head, .len = 0};
		used_publish(tx, (uint16_t)(u + 1));
		tx->last_avail++;
		++*done;
		if (!strcmp(mode, "dup"))
			break; /* one at a time: the front-end reaps between */
	}
	if ((!strcmp(mode, "close") || !strcmp(mode, "memslots")) && *done >= 500) {
		close(fd);
		fprintf(stderr, "vhost_evil: closed the connection after %llu frames\n",
			(unsigned long long)*done);
		exit(0);
	}
	return false;
}

static int listen_on(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		perror("vhost_evil: listen");
		exit(2);
	}
	return fd;
}

int main(int argc, char **argv)
{
	time_t end = time(NULL) + 20;
	bool did = false;
	uint64_t done = 0;
	int lfd, fd;

	if (argc != 3) {
		fprintf(stderr, "usage: vhost_evil SOCKET MODE\n");
		return 2;
	}
	mode = argv[2];
	lfd = listen_on(argv[1]);
	fd = accept(lfd, NULL, NULL);
	close(lfd);
	unlink(argv[1]);
	while (time(NULL) < end) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		if (poll(&pf, 1, 1) > 0 && !handle(fd))
			return 0; /* the front-end went away */
		if (rings[0].enabled && rings[1].enabled && !did)
			did = misbehave(fd, &done);
	}
	return 0;
}
