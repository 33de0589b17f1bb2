// SPDX-License-Identifier: BSD-3-Clause
/*
 * The request side of the telemetry server (common/telemetry.h): the
 * command table, a client's bytes split into request lines (at most 4094
 * bytes each), each line dispatched to "stats", "help" or a registered
 * command and its answer queued as one JSON line. Nothing here touches a
 * socket: telemetry.c reads and writes them, and tests/fuzz/fuzz_tele.c
 * is a client made of bytes (common/telemetry_internal.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/report.h"
#include "common/telemetry_internal.h"

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

void tele_client_release(struct app_tele_client *c)
{
	for (int i = 0; i < c->nclosers; i++)
		c->closers[i].fn(c->closers[i].arg);
	if (c->pass_fd >= 0)
		close(c->pass_fd);
	if (c->fd >= 0)
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

void tele_init(struct app_tele *t, app_tele_fn fn, void *arg)
{
	t->fd = -1;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_init(&t->lock, NULL);
	for (int i = 0; i < TELE_MAX_CLIENTS; i++) {
		t->clients[i].fd = -1;
		t->clients[i].pass_fd = -1;
	}
}

void tele_fini(struct app_tele *t)
{
	pthread_mutex_destroy(&t->lock);
}

void tele_client_init(struct app_tele_client *c, int fd)
{
	c->fd = fd;
	clock_gettime(CLOCK_MONOTONIC, &c->since);
}

size_t tele_client_room(const struct app_tele_client *c)
{
	return sizeof(c->in) - 1 - c->inlen;
}

/* Answers the complete lines in c->in and keeps the rest; false: drop c. */
static bool answer_lines(struct app_tele *t, struct app_tele_client *c)
{
	char *nl;

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
		static const char msg[] = "{\"error\":\"request line longer than 4094 bytes\"}";

		c->closing = true;
		return queue(c, msg, sizeof(msg) - 1);
	}
	return true;
}

bool tele_client_input(struct app_tele *t, struct app_tele_client *c, const char *buf, size_t n)
{
	while (n && !c->closing) {
		size_t k = n < tele_client_room(c) ? n : tele_client_room(c);

		c->spoke = true;
		memcpy(c->in + c->inlen, buf, k);
		c->inlen += k;
		c->in[c->inlen] = '\0';
		if (!answer_lines(t, c))
			return false;
		buf += k;
		n -= k;
	}
	return true;
}

bool tele_client_eof(struct app_tele *t, struct app_tele_client *c)
{
	c->closing = true;
	if (!c->spoke)
		return reply(c, do_stats, t, "");
	c->in[c->inlen] = '\0';
	c->inlen = 0;
	return request(t, c, c->in);
}

bool tele_client_document(struct app_tele *t, struct app_tele_client *c)
{
	c->closing = true;
	return reply(c, do_stats, t, "");
}
