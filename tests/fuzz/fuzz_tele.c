// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the telemetry server's request side without a socket
 * (apps/common/telemetry_req.c through common/telemetry_internal.h: a
 * client's bytes split into lines, the 4 KiB line cap, dispatching), the
 * app's "capture" command behind it (common/mirror_tap.c: its argument
 * parsing, the session, the tap on a port) and weir-cap's side of a
 * mirror request (apps/cap/mirror_req.c: `app:SOCK?port=N...` into the
 * request line).
 *
 * Input: a flags byte, a chunking byte, then the client's bytes. With
 * flag 1, the bytes up to the first NUL are a weir-cap -i spec and those
 * up to the next NUL its filter: the request weir-cap would send goes
 * first, the rest of the input after it. The bytes reach the server in
 * chunks (sizes from the chunking byte: 1..8, 1..512 or all at once), the
 * replies are read after every chunk (a passed fd is taken as a socket
 * would deliver it); with flag 2 the client half-closes at the end.
 *
 * Properties beyond "no crash, no leak": a request line weir-cap builds
 * is one line, and when the app takes it, the port it mirrors is the one
 * the spec named (its last port=, else 0); the server answers exactly one
 * line per non-blank request line (counted here from the bytes, the same
 * cap applied), each line one well-formed JSON object; a line over the
 * cap ends the client; after the client goes no capture session, tap or
 * fd is left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "weir/pool.h"
#include "weir/port.h"

#include "cap/cap.h"
#include "common/app.h"
#include "common/report.h"
#include "common/telemetry_internal.h"
#include "json_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static struct app_tele tele;
static struct app_base base;
static int devnull;

static void doc(FILE *out, void *arg)
{
	(void)arg;
	fputs("{\"app\":\"fuzz\",\"n\":1}", out);
}

static void cmd_echo(struct app_tele_client *c, const char *args, FILE *out, void *arg)
{
	(void)c;
	(void)arg;
	fputs("{\"args\":", out);
	report_json_str(out, args);
	fputc('}', out);
}

static void cmd_fail(struct app_tele_client *c, const char *args, FILE *out, void *arg)
{
	(void)c;
	(void)arg;
	app_tele_error(out, "fail: %s", args);
}

/* Passes a descriptor with its reply, as "capture" does. */
static void cmd_fd(struct app_tele_client *c, const char *args, FILE *out, void *arg)
{
	int err = app_tele_client_pass_fd(c, devnull);

	(void)args;
	(void)arg;
	if (err < 0)
		return app_tele_error(out, "fd: %s", strerror(-err));
	fputs("{\"fd\":true}", out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const specs[] = {"null:?queues=2", "ring:fuzztele?queues=1"};
	char why[WEIR_PORT_ERRSIZE];

	(void)argc;
	(void)argv;
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	CHECK(devnull >= 0);
	CHECK(weir_pool_create(&(struct weir_pool_conf){.name = "fuzz_tele", .n = 256},
			       &base.pool) == 0);
	for (int i = 0; i < 2; i++)
		CHECK(weir_port_open(specs[i], &(struct weir_port_conf){.pool = base.pool},
				     &base.ports[base.nports++], why, sizeof(why)) == 0);
	tele_init(&tele, doc, NULL);
	CHECK(app_mirror_register(&tele, &base) == 0);
	CHECK(app_tele_cmd(&tele, "echo", "the arguments back", cmd_echo, NULL) == 0);
	CHECK(app_tele_cmd(&tele, "fail", "an error", cmd_fail, NULL) == 0);
	CHECK(app_tele_cmd(&tele, "fd", "a descriptor", cmd_fd, NULL) == 0);
	return 0;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	CHECK(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* What the server must answer, counted from the bytes alone. */
struct model {
	size_t pending; /* bytes of the current line */
	bool blank;     /* ...all blank (up to a NUL, which ends the line's text) */
	bool nul;       /* a NUL seen in this line: the rest does not count */
	bool spoke, closed;
	unsigned replies;
};

static void model_byte(struct model *m, uint8_t b)
{
	if (m->closed)
		return;
	m->spoke = true;
	if (b == '\n') {
		m->replies += !m->blank;
		*m = (struct model){.blank = true, .spoke = true, .replies = m->replies};
		return;
	}
	if (!b)
		m->nul = true;
	else if (!m->nul && b != ' ' && b != '\t' && b != '\r')
		m->blank = false;
	if (++m->pending == TELE_LINE_MAX - 1) {
		m->replies++; /* "request line longer than ..." */
		m->closed = true;
	}
}

static char first[256]; /* the first reply line, for the capture check */

/* Reads the client's queue as its socket would, checking every line. */
static void drain(struct app_tele_client *c, unsigned *lines)
{
	if (c->pass_fd >= 0) {
		CHECK(c->pass_at >= c->outoff && c->pass_at < c->outlen);
		close(c->pass_fd);
		c->pass_fd = -1;
	}
	while (c->outoff < c->outlen) {
		char *s = c->out + c->outoff, *nl = memchr(s, '\n', c->outlen - c->outoff);

		CHECK(nl); /* every reply ends with its newline */
		fuzz_check_json(s, (size_t)(nl - s));
		if (!*lines)
			snprintf(first, sizeof(first), "%.*s", (int)(nl - s), s);
		(*lines)++;
		c->outoff += (size_t)(nl - s) + 1;
	}
}

/* The port a spec names: its last port= (the app takes the last), else 0;
 * -1 when that is no plain number. */
static long spec_port(const char *spec)
{
	const char *q = strchr(spec, '?'), *p = q, *last = NULL;
	char *end;
	long v;

	while (p && (p = strstr(p + 1, "port=")))
		if (p[-1] == '?' || p[-1] == '&')
			last = p + 5;
	if (!last)
		return 0;
	v = strtol(last, &end, 10);
	return end > last && (*end == '&' || !*end) && *last != '-' && *last != '+' ? v : -1;
}

/* weir-cap's request for the spec and filter at the front of the input;
 * the bytes used go into *used; *port is the port the spec names (-1:
 * none the app can take, -2: refused). */
static void cap_request(const uint8_t *d, size_t n, char *req, size_t rlen, size_t *used,
			long *port)
{
	const uint8_t *z1 = memchr(d, 0, n), *z2;
	char *spec, *filter, path[108], why[512] = "";
	int r;

	*used = n;
	req[0] = '\0';
	spec = strndup((const char *)d, z1 ? (size_t)(z1 - d) : n);
	z2 = z1 ? memchr(z1 + 1, 0, n - (size_t)(z1 + 1 - d)) : NULL;
	filter = NULL;
	if (z1)
		filter = strndup((const char *)z1 + 1,
				 z2 ? (size_t)(z2 - z1 - 1) : n - (size_t)(z1 + 1 - d));
	if (z2)
		*used = (size_t)(z2 + 1 - d);
	CHECK(spec);
	r = cap_mirror_request(spec, filter, 65535, path, sizeof(path), req, rlen, why,
			       sizeof(why));
	CHECK(r == 0 || r == -EINVAL);
	*port = r < 0 ? -2 : spec_port(spec);
	if (r < 0) {
		CHECK(why[0]);
		req[0] = '\0';
	} else {
		char *nl = strchr(req, '\n');

		/* One line, ended: the app must read exactly one request. */
		CHECK(path[0] && nl && nl[1] == '\0' && nl - req <= APP_TELE_REQ_MAX);
	}
	free(spec);
	free(filter);
}

static void feed(struct app_tele_client *c, struct model *m, const uint8_t *d, size_t n,
		 uint8_t chunking, uint32_t *rng, unsigned *lines)
{
	size_t max = chunking % 3 == 0 ? 8 : chunking % 3 == 1 ? 512 : SIZE_MAX;

	while (n) {
		size_t k;

		*rng = *rng * 1103515245u + 12345u;
		k = max == SIZE_MAX ? n : 1 + (*rng >> 8) % max;
		k = k < n ? k : n;
		for (size_t i = 0; i < k; i++)
			model_byte(m, d[i]);
		CHECK(tele_client_input(&tele, c, (const char *)d, k));
		CHECK(c->inlen < TELE_LINE_MAX);
		drain(c, lines);
		d += k;
		n -= k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct app_tele_client *c = &tele.clients[0];
	struct model m = {.blank = true};
	unsigned lines = 0;
	uint32_t rng;
	char req[4800];
	size_t used = 0;
	long port = -2;
	int fds = open_fds();

	if (size < 2)
		return 0;
	rng = data[1];
	first[0] = '\0';
	tele_client_init(c, -1);
	if (data[0] & 1) {
		cap_request(data + 2, size - 2, req, sizeof(req), &used, &port);
		feed(c, &m, (const uint8_t *)req, strlen(req), data[1], &rng, &lines);
	}
	feed(c, &m, data + 2 + used, size - 2 - used, data[1], &rng, &lines);
	if (data[0] & 2 && !m.closed) {
		m.replies += !m.spoke || !m.blank;
		CHECK(tele_client_eof(&tele, c));
		drain(c, &lines);
	}
	CHECK(lines == m.replies);
	/* What the app mirrors is what weir-cap asked for. */
	if (port != -2 && !strncmp(first, "{\"capture\":true,\"port\":", 23))
		CHECK(port >= 0 && strtol(first + 23, NULL, 10) == port);
	CHECK(c->closing == (m.closed || (data[0] & 2)));
	tele_client_release(c);
	for (int i = 0; i < base.nports; i++)
		CHECK(!weir_port_tap_get(base.ports[i]));
	CHECK(open_fds() == fds);
	return 0;
}
