// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-stat: reads the JSON telemetry a weir app serves on --stats-socket
 * and prints it, once or every --interval. The server sends one document
 * per connection, so each read is a fresh connect.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/opts.h"

struct stat_cfg {
	char *path; /* malloc'd */
	weir_ns_t interval;
	uint64_t count;
};

static const struct app_opt stat_opts[] = {
	{"socket", 's', "PATH", "the app's --stats-socket (or give PATH as the argument)"},
	{"interval", 'i', "TIME", "repeat every TIME, e.g. 1s (default: once)"},
	{"count", 'n', "N", "with --interval: stop after N reads"},
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
	return 0;
}

static int read_once(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[65536];
	ssize_t n;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "weir-stat: %s: path too long\n", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		fprintf(stderr, "weir-stat: %s: %s%s\n", path, strerror(e),
			e == ENOENT || e == ECONNREFUSED
				? " (is the app running with --stats-socket at this path?)"
				: "");
		if (fd >= 0)
			close(fd);
		return -e;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	close(fd);
	return n < 0 ? -EIO : 0;
}

int main(int argc, char **argv)
{
	struct stat_cfg c = {0};
	const struct app_cli cli = {
		.prog = "weir-stat",
		.section = "stat",
		.synopsis = "weir-stat PATH [--interval TIME [--count N]]",
		.about = "Prints the JSON telemetry (per port and queue counters, per qdisc\n"
			 "backlog, sojourn time, drops and ECN marks, latency percentiles) that\n"
			 "weir-fwd and weir-gen serve with --stats-socket PATH.",
		.footer = "Examples:\n"
			  "  weir-stat /run/weir-fwd.sock | python3 -m json.tool\n"
			  "  weir-stat /run/weir-fwd.sock -i 1s -n 10   (one document per line)\n",
		.opts = stat_opts,
		.set = stat_set,
		.ctx = &c,
	};
	int argc2 = argc, r, rc = 0;

	/* A trailing non-option argument is the socket path. */
	if (argc > 1 && argv[argc - 1][0] != '-' &&
	    (argc == 2 || argv[argc - 2][0] != '-' || strchr(argv[argc - 2], '='))) {
		c.path = strdup(argv[argc - 1]);
		if (!c.path)
			return 2;
		argc2 = argc - 1;
	}
	r = app_cli_parse(&cli, argc2, argv);
	if (r) {
		rc = r > 0 ? 0 : 1;
	} else if (!c.path) {
		fprintf(stderr, "weir-stat: which socket? (weir-stat PATH; try --help)\n");
		rc = 1;
	}
	for (uint64_t i = 0; !r && c.path; i++) {
		if (read_once(c.path) < 0) {
			rc = 2;
			break;
		}
		if (!c.interval || (c.count && i + 1 >= c.count))
			break;
		usleep((useconds_t)(c.interval / 1000));
	}
	free(c.path);
	return rc;
}
