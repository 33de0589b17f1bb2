// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-stat: reads the JSON telemetry a weir app serves on --stats-socket
 * and prints it, once or every --interval; or sends the app one command
 * (--command "route show") and prints its one-line JSON reply. Each read
 * is a fresh connection: weir-stat half-closes it at once, which the
 * server answers with the document (see common/telemetry.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/opts.h"

struct stat_cfg {
	char *path; /* malloc'd */
	char *command; /* malloc'd; NULL: the document */
	weir_ns_t interval;
	weir_ns_t timeout;
	uint64_t count;
};

static const struct app_opt stat_opts[] = {
	{"socket", 's', "PATH", "the app's --stats-socket (or give PATH as the argument)"},
	{"interval", 'i', "TIME", "repeat every TIME, e.g. 1s (default: once)"},
	{"count", 'n', "N", "with --interval: stop after N reads"},
	{"command", 'x', "CMD", "send CMD (e.g. \"help\") and print the reply instead"},
	{"timeout", 't', "TIME", "give up when the app has not answered in TIME (default 5s)"},
	{NULL, 0, NULL, NULL},
};

static int stat_set(void *ctx, const char *name, const char *val, char *why, size_t len)
{
	struct stat_cfg *c = ctx;

	/* A copy of the path: from --config, val is inih's line buffer. */
	if (!strcmp(name, "socket"))
		return app_set_str(&c->path, val, why, len);
	else if (!strcmp(name, "interval"))
		return app_parse_duration(val, &c->interval, why, len);
	else if (!strcmp(name, "count"))
		return app_parse_u64(val, 1, UINT64_MAX, &c->count, why, len);
	else if (!strcmp(name, "command"))
		return app_set_str(&c->command, val, why, len);
	else if (!strcmp(name, "timeout"))
		return app_parse_duration(val, &c->timeout, why, len);
	return 0;
}

static int stat_connect(const char *path, weir_ns_t timeout)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = (time_t)(timeout / 1000000000),
			     .tv_usec = (suseconds_t)(timeout % 1000000000 / 1000)};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "weir-stat: %s: path too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		fprintf(stderr, "weir-stat: %s: %s%s\n", path, strerror(e),
			e == ENOENT || e == ECONNREFUSED ? " (is the app running with --stats-socket at this path?)"
			: e == EACCES ? " (the socket is the app's user's only: run as that user or root)"
				      : "");
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

/* Writes what the app sent; to a terminal, control bytes (but newline and
 * tab) as \xNN, so a hostile or broken server cannot send the terminal
 * escape sequences. Valid JSON from a weir app has none: it escapes them. */
static void put(const char *buf, size_t n, bool tty)
{
	for (size_t i = 0; tty && i < n; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	if (!tty)
		fwrite(buf, 1, n, stdout);
}

/* One document, or the reply to c->command. */
static int read_once(const struct stat_cfg *c)
{
	char buf[65536];
	ssize_t n = 0;
	bool failed = false, tty = isatty(STDOUT_FILENO);
	int fd = stat_connect(c->path, c->timeout);

	if (fd < 0)
		return fd;
	if (c->command) {
		size_t len = strlen(c->command);

		if (send(fd, c->command, len, MSG_NOSIGNAL) != (ssize_t)len ||
		    send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
			n = -1;
	}
	/* Half-closed: the server answers what was sent (or with the
	 * document) and closes. */
	shutdown(fd, SHUT_WR);
	for (bool first = true; n >= 0 && (n = read(fd, buf, sizeof(buf))) > 0; first = false) {
		if (first && c->command && !strncmp(buf, "{\"error\"", (size_t)n < 8 ? (size_t)n : 8))
			failed = true;
		put(buf, (size_t)n, tty);
	}
	fflush(stdout);
	if (n < 0)
		fprintf(stderr, "weir-stat: %s: %s\n", c->path,
			errno == EAGAIN ? "no answer within --timeout" : strerror(errno));
	close(fd);
	return n < 0 || failed ? -EIO : 0;
}

int main(int argc, char **argv)
{
	struct stat_cfg c = {.timeout = 5 * WEIR_NS_PER_SEC};
	const struct app_cli cli = {
		.prog = "weir-stat",
		.section = "stat",
		.synopsis = "weir-stat PATH [--interval TIME [--count N]] [--command CMD]",
		.about = "Prints the JSON telemetry (per port and queue counters, per qdisc\n"
			 "backlog, sojourn time, drops and ECN marks, latency percentiles) that\n"
			 "weir-fwd and weir-gen serve with --stats-socket PATH.",
		.footer = "Examples:\n"
			  "  weir-stat /run/weir-fwd.sock | python3 -m json.tool\n"
			  "  weir-stat /run/weir-fwd.sock -i 1s -n 10   (one document per line)\n"
			  "  weir-stat /run/weir-fwd.sock -x help       (the app's commands)\n",
		.opts = stat_opts,
		.rest = "socket", /* the PATH argument, before or after the options */
		.set = stat_set,
		.ctx = &c,
	};
	int r, rc = 0;

	r = app_cli_parse(&cli, argc, argv);
	if (r) {
		rc = r > 0 ? 0 : 1;
	} else if (!c.path) {
		fprintf(stderr, "weir-stat: which socket? (weir-stat PATH; try --help)\n");
		rc = 1;
	}
	for (uint64_t i = 0; !r && c.path; i++) {
		if (read_once(&c) < 0) {
			rc = 2;
			break;
		}
		if (!c.interval || (c.count && i + 1 >= c.count))
			break;
		usleep((useconds_t)(c.interval / 1000));
	}
	free(c.path);
	free(c.command);
	return rc;
}
