// SPDX-License-Identifier: BSD-3-Clause
/*
 * The telemetry socket server: a thread that polls the listening socket and
 * up to TELE_MAX_CLIENTS connected clients, reads their request lines,
 * answers each with one JSON line, and serves the app's document to
 * clients that only read. Every reply is built in memory (open_memstream)
 * and queued; the socket is written only as far as the client reads, so a
 * slow or stuck client never stalls the others or the callbacks' locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/report.h"
#include "common/telemetry.h"

#define TELE_MAX_CLIENTS 16
#define TELE_MAX_CMDS 32
#define TELE_NAME_MAX 32
#define TELE_LINE_MAX 4096
#define TELE_OUT_MAX (4u << 20)
#define TELE_SILENT_MS 100 /* a client silent this long only reads: the document */
#define TELE_MAX_CLOSERS 4

struct tele_cmd {
	char name[TELE_NAME_MAX + 1];
	const char *help;
	app_tele_cmd_fn fn;
	void *arg;
};

struct app_tele_client {
	int fd; /* -1: slot free */
	bool spoke;   /* sent at least one byte: not a read-only client */
	bool closing; /* close once the queued output is written */
	struct timespec since;
	char in[TELE_LINE_MAX];
	size_t inlen;
	char *out; /* queued reply bytes [outoff, outlen) */
	size_t outlen, outoff, outcap;
	int pass_fd;   /* to send with the byte at pass_at, or -1 */
	size_t pass_at;
	struct {
		void (*fn)(void *arg);
		void *arg;
	} closers[TELE_MAX_CLOSERS];
	int nclosers;
};

struct app_tele {
	int fd;
	char path[108];
	app_tele_fn fn;
	void *arg;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock; /* cmds */
	struct tele_cmd cmds[TELE_MAX_CMDS];
	int ncmds;
	struct app_tele_client clients[TELE_MAX_CLIENTS];
};

void app_tele_error(FILE *out, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fputs("{\"error\":", out);
	report_json_str(out, msg);
	fputc('}', out);
}

static bool cmd_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > TELE_NAME_MAX || !strcmp(name, "stats") || !strcmp(name, "help"))
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_./-") == n;
}

int app_tele_cmd(struct app_tele *t, const char *name, const char *help, app_tele_cmd_fn fn,
		 void *arg)
{
	int err = 0;

	if (!cmd_name_ok(name) || !fn)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->ncmds; i++)
		if (!strcmp(t->cmds[i].name, name))
			err = -EEXIST;
	if (!err && t->ncmds == TELE_MAX_CMDS)
		err = -ENOSPC;
	if (!err) {
		struct tele_cmd *c = &t->cmds[t->ncmds++];

		strcpy(c->name, name);
		c->help = help ? help : "";
		c->fn = fn;
		c->arg = arg;
	}
	pthread_mutex_unlock(&t->lock);
	return err;
}

int app_tele_client_on_close(struct app_tele_client *c, void (*fn)(void *arg), void *arg)
{
	if (c->nclosers == TELE_MAX_CLOSERS)
		return -ENOSPC;
	c->closers[c->nclosers].fn = fn;
	c->closers[c->nclosers].arg = arg;
	c->nclosers++;
	return 0;
}

int app_tele_client_pass_fd(struct app_tele_client *c, int fd)
{
	if (c->pass_fd >= 0)
		return -EBUSY;
	c->pass_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (c->pass_fd < 0)
		return -errno;
	c->pass_at = c->outlen; /* the reply being built starts here */
	return 0;
}

int app_tele_client_fd(const struct app_tele_client *c)
{
	return c->fd;
}

static void client_close(struct app_tele_client *c)
{
	for (int i = 0; i < c->nclosers; i++)
		c->closers[i].fn(c->closers[i].arg);
	if (c->pass_fd >= 0)
		close(c->pass_fd);
	close(c->fd);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->pass_fd = -1;
}

/* Appends a reply (and its newline) to c's queue; false when the client
 * has let too much pile up and must go. */
static bool queue(struct app_tele_client *c, const char *s, size_t n)
{
	if (c->outoff == c->outlen && c->pass_fd < 0)
		c->outoff = c->outlen = 0;
	if (c->outlen - c->outoff + n + 1 > TELE_OUT_MAX)
		return false;
	if (c->outlen + n + 1 > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		char *p;

		while (cap < c->outlen + n + 1)
			cap *= 2;
		p = realloc(c->out, cap);
		if (!p)
			return false;
		c->out = p;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, s, n);
	c->outlen += n;
	if (!n || s[n - 1] != '\n')
		c->out[c->outlen++] = '\n';
	return true;
}

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

/* Runs fn into memory and queues the result as one reply line. */
static bool reply(struct app_tele_client *c, void (*fn)(struct app_tele *, struct app_tele_client *,
							 const char *, FILE *),
		  struct app_tele *t, const char *args)
{
	char *doc = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&doc, &len);
	bool ok;

	if (!f)
		return false;
	fn(t, c, args, f);
	if (fclose(f) != 0) {
		free(doc);
		return false;
	}
	ok = queue(c, doc, len);
	free(doc);
	return ok;
}

static void do_stats(struct app_tele *t, struct app_tele_client *c, const char *args, FILE *f)
{
	(void)c;
	(void)args;
	t->fn(f, t->arg);
}

static void do_help(struct app_tele *t, struct app_tele_client *c, const char *args, FILE *f)
{
	(void)c;
	(void)args;
	fputs("{\"commands\":{\"stats\":\"the app's JSON document\",\"help\":\"this list\"", f);
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->ncmds; i++) {
		fprintf(f, ",\"%s\":", t->cmds[i].name);
		report_json_str(f, t->cmds[i].help);
	}
	pthread_mutex_unlock(&t->lock);
	fputs("}}", f);
}

/* The command named by line's first word; the name is valid on return. */
static void do_cmd(struct app_tele *t, struct app_tele_client *c, const char *line, FILE *f)
{
	size_t n = strcspn(line, " \t");
	const char *args = line + n + strspn(line + n, " \t");
	struct tele_cmd cmd = {0};

	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->ncmds; i++)
		if (strlen(t->cmds[i].name) == n && !strncmp(t->cmds[i].name, line, n))
			cmd = t->cmds[i];
	pthread_mutex_unlock(&t->lock);
	if (cmd.fn)
		cmd.fn(c, args, f, cmd.arg);
	else
		app_tele_error(f, "unknown command '%.*s' (send \"help\" for the list)", (int)n,
			       line);
}

/* Answers one request line (newline removed). */
static bool request(struct app_tele *t, struct app_tele_client *c, char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	line += strspn(line, " \t");
	if (!*line)
		return true;
	if (!strcmp(line, "stats"))
		return reply(c, do_stats, t, "");
	if (!strcmp(line, "help"))
		return reply(c, do_help, t, "");
	return reply(c, do_cmd, t, line);
}

/* Reads what c sent and answers its complete lines; false: drop c. */
static bool client_read(struct app_tele *t, struct app_tele_client *c)
{
	ssize_t r = recv(c->fd, c->in + c->inlen, sizeof(c->in) - 1 - c->inlen, MSG_DONTWAIT);
	char *nl;

	if (r < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
	if (r == 0) { /* half-closed: answer what is left, then go */
		c->closing = true;
		if (!c->spoke)
			return reply(c, do_stats, t, "");
		c->in[c->inlen] = '\0';
		c->inlen = 0;
		return request(t, c, c->in);
	}
	c->spoke = true;
	c->inlen += (size_t)r;
	c->in[c->inlen] = '\0';
	while ((nl = memchr(c->in, '\n', c->inlen))) {
		size_t used = (size_t)(nl - c->in) + 1;

		*nl = '\0';
		if (!request(t, c, c->in))
			return false;
		memmove(c->in, c->in + used, c->inlen - used);
		c->inlen -= used;
		c->in[c->inlen] = '\0';
	}
	if (c->inlen == sizeof(c->in) - 1) { /* no newline in 4 KiB */
		c->closing = true;
		return queue(c, "{\"error\":\"request line longer than 4095 bytes\"}", 48);
	}
	return true;
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
		c->fd = fd;
		clock_gettime(CLOCK_MONOTONIC, &c->since);
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
	c->closing = true;
	if (!reply(c, do_stats, t, ""))
		client_close(c);
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
			client_close(c);
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
			client_close(&t->clients[i]);
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
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_init(&t->lock, NULL);
	for (int i = 0; i < TELE_MAX_CLIENTS; i++) {
		t->clients[i].fd = -1;
		t->clients[i].pass_fd = -1;
	}
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
	pthread_mutex_destroy(&t->lock);
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
	pthread_mutex_destroy(&t->lock);
	free(t);
}
