// SPDX-License-Identifier: BSD-3-Clause
/*
 * The telemetry socket server: a thread that polls the listening socket and
 * up to TELE_MAX_CLIENTS connected clients, hands what they send to the
 * request side (telemetry_req.c: lines, commands, one JSON line each) and
 * serves the app's document to clients that only read. Every reply is
 * built in memory (open_memstream) and queued; the socket is written only
 * as far as the client reads, so a slow or stuck client never stalls the
 * others or the callbacks' locks.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/telemetry_internal.h"

/* One sendmsg: up to the pending fd's byte, or from it with the fd. */
static ssize_t send_some(struct app_tele_client *c)
{
	size_t end = c->outlen;
	struct iovec iov;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	bool with_fd = c->pass_fd >= 0 && c->outoff == c->pass_at;
	ssize_t w;

	if (c->pass_fd >= 0 && c->outoff < c->pass_at)
		end = c->pass_at;
	iov.iov_base = c->out + c->outoff;
	iov.iov_len = end - c->outoff;
	if (with_fd) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &c->pass_fd, sizeof(int));
	}
	w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (w > 0 && with_fd) {
		close(c->pass_fd);
		c->pass_fd = -1;
	}
	return w;
}

/* Writes what the socket takes; false when the client is gone. */
static bool flush(struct app_tele_client *c)
{
	while (c->outoff < c->outlen) {
		ssize_t w = send_some(c);

		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		c->outoff += (size_t)w;
	}
	return true;
}

/* Reads what c sent (no more than its line buffer takes, the rest stays
 * in the socket) and answers its complete lines; false: drop c. */
static bool client_read(struct app_tele *t, struct app_tele_client *c)
{
	char buf[TELE_LINE_MAX];
	ssize_t r = recv(c->fd, buf, tele_client_room(c), MSG_DONTWAIT);

	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	if (r == 0) /* half-closed: answer what is left, then go */
		return tele_client_eof(t, c);
	return tele_client_input(t, c, buf, (size_t)r);
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Only clients running as the server's user (or root) are served. */
static bool peer_allowed(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

static void accept_one(struct app_tele *t)
{
	int fd = accept4(t->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	static const char busy[] = "{\"error\":\"too many telemetry clients (16); try again\"}\n";
	static const char denied[] = "{\"error\":\"permission denied: connect as the app's user "
				     "or root\"}\n";

	if (fd < 0)
		return;
	if (!peer_allowed(fd)) {
		(void)!send(fd, denied, sizeof(denied) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
	for (int i = 0; i < TELE_MAX_CLIENTS; i++) {
		struct app_tele_client *c = &t->clients[i];

		if (c->fd >= 0)
			continue;
		tele_client_init(c, fd);
		return;
	}
	(void)!send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

/* Serves a read-only client its document once it has been silent long
 * enough; returns the poll timeout it needs (ms, or -1 for none). */
static int silent_check(struct app_tele *t, struct app_tele_client *c)
{
	long ms;

	if (c->spoke || c->closing)
		return -1;
	ms = ms_since(&c->since);
	if (ms < TELE_SILENT_MS)
		return (int)(TELE_SILENT_MS - ms);
	if (!tele_client_document(t, c))
		tele_client_release(c);
	return -1;
}

/* One round: poll, accept, read, write, close what is done. */
static void serve_round(struct app_tele *t)
{
	struct pollfd pfd[TELE_MAX_CLIENTS + 1] = {{.fd = t->fd, .events = POLLIN}};
	int idx[TELE_MAX_CLIENTS + 1], n = 1, timeout = 100; /* wake to notice stop */

	for (int i = 0; i < TELE_MAX_CLIENTS; i++) {
		struct app_tele_client *c = &t->clients[i];
		int w;

		if (c->fd < 0)
			continue;
		w = silent_check(t, c);
		if (c->fd < 0)
			continue;
		if (w >= 0 && w < timeout)
			timeout = w;
		pfd[n].fd = c->fd;
		pfd[n].events = (short)((c->closing ? 0 : POLLIN) |
					(c->outoff < c->outlen ? POLLOUT : 0));
		idx[n++] = i;
	}
	if (poll(pfd, (nfds_t)n, timeout) <= 0)
		return;
	if (pfd[0].revents & POLLIN)
		accept_one(t);
	for (int k = 1; k < n; k++) {
		struct app_tele_client *c = &t->clients[idx[k]];
		bool ok = true;

		if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
			ok = c->closing ? !(pfd[k].revents & POLLERR) : client_read(t, c);
		if (ok)
			ok = flush(c);
		if (!ok || (c->closing && c->outoff == c->outlen))
			tele_client_release(c);
	}
}

static void *tele_main(void *arg)
{
	struct app_tele *t = arg;

	while (!atomic_load(&t->stop))
		serve_round(t);
	for (int i = 0; i < TELE_MAX_CLIENTS; i++)
		if (t->clients[i].fd >= 0) {
			flush(&t->clients[i]);
			tele_client_release(&t->clients[i]);
		}
	return NULL;
}

/* A socket file at path: refused if something else or a live server; a
 * stale one (its server gone) is removed. 0 or a negative errno. */
static int clear_stale(const char *path, const struct sockaddr_un *sa, char *why, size_t whylen)
{
	struct stat st;
	int probe;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(why, whylen, "%s exists and is not a socket (remove it or pick another path)",
			 path);
		return -EEXIST;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		close(probe);
		snprintf(why, whylen, "%s is in use by a running process", path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(path); /* stale: its server is gone */
	return 0;
}

/* Binds and listens with mode 0600 from the start: the socket inode's mode
 * (fchmod before bind) is what Linux gives the file, and a chmod after bind
 * covers other kernels. */
static int bind_private(int fd, const struct sockaddr_un *sa, char *why, size_t whylen)
{
	int err;

	if (fchmod(fd, 0600) < 0 || bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", sa->sun_path, strerror(errno));
		return err;
	}
	if (chmod(sa->sun_path, 0600) < 0 || listen(fd, 16) < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", sa->sun_path, strerror(errno));
		unlink(sa->sun_path);
		return err;
	}
	return 0;
}

int app_tele_start(const char *path, app_tele_fn fn, void *arg, struct app_tele **out, char *why,
		   size_t whylen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct app_tele *t;
	int err;

	/* An empty sun_path would bind an abstract socket no one can find
	 * by name (what a dangling --config value used to produce). */
	if (!path[0]) {
		snprintf(why, whylen, "'' is not a path (an empty one binds an abstract socket; "
			 "give a file name, e.g. /run/weir.sock)");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, whylen, "%s: path longer than %zu bytes", path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	strcpy(sa.sun_path, path);
	strcpy(t->path, path);
	tele_init(t, fn, arg);
	t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: socket: %s", path, strerror(errno));
		goto fail_free;
	}
	err = clear_stale(path, &sa, why, whylen);
	if (!err)
		err = bind_private(t->fd, &sa, why, whylen);
	if (err)
		goto fail_close;
	err = -pthread_create(&t->thread, NULL, tele_main, t);
	if (err) {
		snprintf(why, whylen, "%s: cannot start thread", path);
		unlink(path);
		goto fail_close;
	}
	*out = t;
	return 0;
fail_close:
	close(t->fd);
fail_free:
	tele_fini(t);
	free(t);
	return err;
}

void app_tele_stop(struct app_tele *t)
{
	if (!t)
		return;
	atomic_store(&t->stop, true);
	pthread_join(t->thread, NULL);
	close(t->fd);
	unlink(t->path);
	tele_fini(t);
	free(t);
}
