// SPDX-License-Identifier: BSD-3-Clause
/*
 * The telemetry socket server: a thread that accepts unix-socket clients and
 * writes each one JSON document. The document is built in memory first
 * (open_memstream) so a slow client never holds the callback's locks.
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
#include <unistd.h>

#include "telemetry.h"

struct app_tele {
	int fd;
	char path[108];
	app_tele_fn fn;
	void *arg;
	pthread_t thread;
	atomic_bool stop;
};

static void serve(struct app_tele *t, int c)
{
	char *doc = NULL;
	size_t len = 0, off = 0;
	FILE *f = open_memstream(&doc, &len);

	if (!f)
		return;
	t->fn(f, t->arg);
	fputc('\n', f);
	fclose(f);
	while (off < len) {
		ssize_t w = send(c, doc + off, len - off, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(doc);
}

static void *tele_main(void *arg)
{
	struct app_tele *t = arg;

	while (!atomic_load(&t->stop)) {
		struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
		int c;

		/* Wake every 100 ms to notice stop without a self-pipe. */
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		c = accept4(t->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* A stuck client must not stall the server forever. */
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &(struct timeval){.tv_sec = 1},
			   sizeof(struct timeval));
		serve(t, c);
		close(c);
	}
	return NULL;
}

int app_tele_start(const char *path, app_tele_fn fn, void *arg, struct app_tele **out, char *why,
		   size_t whylen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct app_tele *t;
	struct stat st;
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
	t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: socket: %s", path, strerror(errno));
		goto fail_free;
	}
	if (lstat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			err = -EEXIST;
			snprintf(why, whylen, "%s exists and is not a socket (remove it or pick "
				 "another path)", path);
			goto fail_close;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			err = -EADDRINUSE;
			snprintf(why, whylen, "%s is in use by a running process", path);
			goto fail_close;
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* stale: its server is gone */
	}
	if (bind(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(t->fd, 8) < 0) {
		err = -errno;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		goto fail_close;
	}
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
	free(t);
}
