// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio: the vhost-user protocol, front-end side (QEMU's
 * docs/interop/vhost-user.rst): a unix stream socket carrying 12-byte
 * headers and small payloads, file descriptors passed as SCM_RIGHTS.
 * Every message is synchronous; with REPLY_ACK negotiated, messages that
 * otherwise have no reply ask for one, so an error the backend sees is
 * reported at the message that caused it. A reply is read header first,
 * checked (vhu_reply_check, fuzzed), then exactly its payload: a backend
 * cannot make weir read past what it expects, and waits are bounded.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "virtio_internal.h"

#define VHU_REPLY_TIMEOUT_MS 5000

static int conn_fail(struct vhu_conn *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int conn_fail(struct vhu_conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

static const char *req_name(uint32_t req)
{
	static const char *const names[] = {
		[VHU_GET_FEATURES] = "GET_FEATURES",
		[VHU_SET_FEATURES] = "SET_FEATURES",
		[VHU_SET_OWNER] = "SET_OWNER",
		[VHU_SET_MEM_TABLE] = "SET_MEM_TABLE",
		[VHU_SET_VRING_NUM] = "SET_VRING_NUM",
		[VHU_SET_VRING_ADDR] = "SET_VRING_ADDR",
		[VHU_SET_VRING_BASE] = "SET_VRING_BASE",
		[VHU_GET_VRING_BASE] = "GET_VRING_BASE",
		[VHU_SET_VRING_KICK] = "SET_VRING_KICK",
		[VHU_SET_VRING_CALL] = "SET_VRING_CALL",
		[VHU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
		[VHU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
		[VHU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
		[VHU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
		[VHU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
		[VHU_ADD_MEM_REG] = "ADD_MEM_REG",
	};

	return req < WEIR_ARRAY_SIZE(names) && names[req] ? names[req] : "?";
}

int vhu_reply_check(const uint8_t *hdr, uint32_t req, uint32_t want, char *err, size_t errlen)
{
	uint32_t r, flags, size;

	memcpy(&r, hdr, 4);
	memcpy(&flags, hdr + 4, 4);
	memcpy(&size, hdr + 8, 4);
	if ((flags & 3) != VHU_VERSION || !(flags & VHU_FLAG_REPLY)) {
		snprintf(err, errlen, "reply to %s has flags 0x%x (version 1 with the reply bit "
			 "expected)", req_name(req), flags);
		return -EPROTO;
	}
	if (r != req) {
		snprintf(err, errlen, "reply to %s answers request %u (%s) instead",
			 req_name(req), r, req_name(r));
		return -EPROTO;
	}
	if (size != want) {
		snprintf(err, errlen, "reply to %s carries %u bytes (%u expected)", req_name(req),
			 size, want);
		return -EPROTO;
	}
	return 0;
}

/* Sends msg (header + size payload bytes) with fds attached. */
static int send_msg(struct vhu_conn *c, struct vhu_msg *msg, const int *fds, int nfds)
{
	char ctl[CMSG_SPACE(sizeof(int) * VHU_MAX_REGIONS)];
	struct iovec iov = {.iov_base = msg, .iov_len = VHU_HDR_SIZE + msg->size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t r;

	msg->flags |= VHU_VERSION;
	if (nfds) {
		struct cmsghdr *cm;

		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	do
		r = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return conn_fail(c, errno == EPIPE ? -ECONNRESET : -errno, "%s: send: %s",
				 req_name(msg->request), strerror(errno));
	if ((size_t)r != iov.iov_len)
		return conn_fail(c, -EIO, "%s: short send", req_name(msg->request));
	return 0;
}

/* Reads exactly len bytes within the reply timeout; fds the backend
 * attaches (none are due) are closed. */
static int read_full(struct vhu_conn *c, void *buf, size_t len, uint32_t req)
{
	size_t got = 0;

	while (got < len) {
		char ctl[CMSG_SPACE(sizeof(int) * 8)];
		struct iovec iov = {.iov_base = (uint8_t *)buf + got, .iov_len = len - got};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				    .msg_controllen = sizeof(ctl)};
		struct pollfd pf = {.fd = c->fd, .events = POLLIN};
		int pr = poll(&pf, 1, VHU_REPLY_TIMEOUT_MS);
		ssize_t r;

		if (pr == 0)
			return conn_fail(c, -ETIMEDOUT, "no reply to %s within %d ms",
					 req_name(req), VHU_REPLY_TIMEOUT_MS);
		if (pr < 0 && errno == EINTR)
			continue;
		r = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return conn_fail(c, -errno, "%s: receive: %s", req_name(req),
					 strerror(errno));
		if (r == 0)
			return conn_fail(c, -ECONNRESET, "the backend closed the connection "
					 "(waiting for the reply to %s)", req_name(req));
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
				close(fd);
			}
		}
		got += (size_t)r;
	}
	return 0;
}

/* Reads the reply to req, of want payload bytes, into out. */
static int recv_reply(struct vhu_conn *c, uint32_t req, void *out, uint32_t want)
{
	uint8_t hdr[VHU_HDR_SIZE];
	int err = read_full(c, hdr, sizeof(hdr), req);

	if (err)
		return err;
	if ((err = vhu_reply_check(hdr, req, want, c->err, sizeof(c->err))))
		return err;
	return read_full(c, out, want, req);
}

/* Sends a message that has no reply of its own; with REPLY_ACK, asks for
 * the ack and checks it (0 is success). */
static int send_acked(struct vhu_conn *c, struct vhu_msg *msg, const int *fds, int nfds)
{
	uint32_t req = msg->request;
	uint64_t ack;
	int err;

	if (c->reply_ack)
		msg->flags |= VHU_FLAG_NEED_REPLY;
	if ((err = send_msg(c, msg, fds, nfds)))
		return err;
	if (!c->reply_ack)
		return 0;
	if ((err = recv_reply(c, req, &ack, 8)))
		return err;
	if (ack)
		return conn_fail(c, -EIO, "the backend refused %s (reply-ack %llu)", req_name(req),
				 (unsigned long long)ack);
	return 0;
}

int vhu_get_u64(struct vhu_conn *c, enum vhu_request req, uint64_t *out)
{
	struct vhu_msg m = {.request = req};
	int err = send_msg(c, &m, NULL, 0);

	return err ? err : recv_reply(c, req, out, 8);
}

int vhu_set_u64(struct vhu_conn *c, enum vhu_request req, uint64_t v)
{
	struct vhu_msg m = {.request = req, .size = 8, .p.u64 = v};

	return send_acked(c, &m, NULL, 0);
}

int vhu_set_owner(struct vhu_conn *c)
{
	struct vhu_msg m = {.request = VHU_SET_OWNER};

	return send_acked(c, &m, NULL, 0);
}

int vhu_set_state(struct vhu_conn *c, enum vhu_request req, uint32_t index, uint32_t num)
{
	struct vhu_msg m = {.request = req, .size = 8, .p.state = {index, num}};

	return send_acked(c, &m, NULL, 0);
}

int vhu_get_vring_base(struct vhu_conn *c, uint32_t index, uint32_t *num)
{
	struct vhu_msg m = {.request = VHU_GET_VRING_BASE, .size = 8, .p.state = {index, 0}};
	struct {
		uint32_t index, num;
	} st;
	int err = send_msg(c, &m, NULL, 0);

	if (err || (err = recv_reply(c, VHU_GET_VRING_BASE, &st, 8)))
		return err;
	if (st.index != index)
		return conn_fail(c, -EPROTO, "GET_VRING_BASE for ring %u answered for ring %u",
				 index, st.index);
	*num = st.num;
	return 0;
}

int vhu_set_vring_addr(struct vhu_conn *c, const struct vhu_vring_addr *a)
{
	struct vhu_msg m = {.request = VHU_SET_VRING_ADDR, .size = sizeof(*a), .p.addr = *a};

	return send_acked(c, &m, NULL, 0);
}

int vhu_set_vring_fd(struct vhu_conn *c, enum vhu_request req, uint32_t index, int fd)
{
	struct vhu_msg m = {.request = req, .size = 8, .p.u64 = index | (fd < 0 ? VHU_VRING_NOFD : 0)};

	return send_acked(c, &m, &fd, fd < 0 ? 0 : 1);
}

static struct vhu_region area_region(const struct vt_area *a)
{
	/* Guest "physical" addresses are weir's own virtual addresses, as in
	 * DPDK's virtio-user: descriptors carry plain pointers. */
	return (struct vhu_region){.guest_addr = (uint64_t)(uintptr_t)a->addr, .size = a->len,
				   .user_addr = (uint64_t)(uintptr_t)a->addr, .mmap_offset = 0};
}

int vhu_set_mem(struct vhu_conn *c, const struct vt_area *areas, int n)
{
	struct vhu_msg m = {.request = VHU_SET_MEM_TABLE};
	int fds[VHU_MAX_REGIONS];
	int err;

	if (c->protocol_features & VT_BIT(VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS)) {
		uint64_t slots;

		if ((err = vhu_get_u64(c, VHU_GET_MAX_MEM_SLOTS, &slots)))
			return err;
		if (slots < (uint64_t)n)
			return conn_fail(c, -ENOSPC, "the backend takes %llu memory regions, weir "
					 "needs %d", (unsigned long long)slots, n);
		for (int i = 0; i < n; i++) {
			m = (struct vhu_msg){.request = VHU_ADD_MEM_REG, .size = sizeof(m.p.mem_reg),
					     .p.mem_reg.region = area_region(&areas[i])};
			if ((err = send_acked(c, &m, &areas[i].fd, 1)))
				return err;
		}
		return 0;
	}
	if (n > VHU_MAX_REGIONS)
		return conn_fail(c, -ENOSPC, "%d memory regions, SET_MEM_TABLE takes %d", n,
				 VHU_MAX_REGIONS);
	m.p.mem.nregions = (uint32_t)n;
	m.size = (uint32_t)(8 + sizeof(struct vhu_region) * (size_t)n);
	for (int i = 0; i < n; i++) {
		m.p.mem.regions[i] = area_region(&areas[i]);
		fds[i] = areas[i].fd;
	}
	return send_acked(c, &m, fds, n);
}

/* Waits for fd to be readable, up to timeout_ms (-1: for ever), or for
 * stop_fd (if >= 0): 1 readable, 0 timed out, -ECANCELED stopped. */
static int wait_in(int fd, int stop_fd, int timeout_ms)
{
	struct pollfd pf[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
	int r;

	do
		r = poll(pf, stop_fd >= 0 ? 2 : 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r > 0 && stop_fd >= 0 && pf[1].revents)
		return -ECANCELED;
	return r > 0 ? 1 : 0;
}

static int listen_on(struct vhu_conn *c, const struct sockaddr_un *sa)
{
	int err;

	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->lfd < 0)
		return conn_fail(c, -errno, "socket: %s", strerror(errno));
	unlink(sa->sun_path); /* a stale socket of an earlier run */
	if (bind(c->lfd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 || listen(c->lfd, 1) < 0) {
		err = -errno;
		close(c->lfd);
		c->lfd = -1;
		return conn_fail(c, err, "cannot listen on %s: %s", sa->sun_path, strerror(-err));
	}
	chmod(sa->sun_path, 0600); /* owner-only, whatever the umask */
	return 0;
}

int vhu_connect(struct vhu_conn *c, const char *path, bool server, int timeout_ms, int stop_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, err, r;

	c->fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return conn_fail(c, -ENAMETOOLONG, "socket path longer than %zu bytes",
				 sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (server) {
		if (c->lfd < 0 && (err = listen_on(c, &sa)))
			return err;
		r = wait_in(c->lfd, stop_fd, timeout_ms);
		if (r < 0)
			return conn_fail(c, r, "stopped");
		if (r == 0)
			return conn_fail(c, -ETIMEDOUT, "no backend connected to %s within %d ms "
					 "(start it with the socket as client, e.g. "
					 "net_vhost0,iface=%s,client=1)", path, timeout_ms, path);
		c->fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c->fd < 0)
			return conn_fail(c, -errno, "accept on %s: %s", path, strerror(errno));
		return 0;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return conn_fail(c, -errno, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return conn_fail(c, err, "cannot connect to %s: %s (is the vhost-user backend "
				 "listening there? or use server=1)", path, strerror(-err));
	}
	c->fd = fd;
	return 0;
}

void vhu_close(struct vhu_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void vhu_unlisten(struct vhu_conn *c, const char *path)
{
	if (c->lfd < 0)
		return;
	close(c->lfd);
	c->lfd = -1;
	unlink(path);
}
