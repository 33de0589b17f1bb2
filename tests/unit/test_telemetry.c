// SPDX-License-Identifier: BSD-3-Clause
/*
 * The telemetry socket server (apps/common/telemetry.c) against real unix
 * socket clients: the document for clients that only read (silent or
 * half-closed), commands and their replies on a kept-open connection, help
 * and unknown commands, on-close callbacks, passing a descriptor with a
 * reply, the socket file's mode, overlong lines, and that a client that
 * never reads does not hold up the others; and the request side alone
 * (telemetry_req.c), fed bytes by a client without a socket.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/telemetry.h"
#include "common/telemetry_internal.h"

static char path[108];
static struct app_tele *tele;
static atomic_int closed_count;

static void doc(FILE *out, void *arg)
{
	fprintf(out, "{\"app\":\"test\",\"n\":%d}", *(int *)arg);
}

static void cmd_echo(struct app_tele_client *c, const char *args, FILE *out, void *arg)
{
	(void)c;
	(void)arg;
	fprintf(out, "{\"echo\":\"%s\"}", args);
}

static void on_close(void *arg)
{
	(void)arg;
	atomic_fetch_add(&closed_count, 1);
}

static void cmd_session(struct app_tele_client *c, const char *args, FILE *out, void *arg)
{
	(void)args;
	(void)arg;
	cr_assert_eq(app_tele_client_on_close(c, on_close, NULL), 0);
	fputs("{\"session\":true}", out);
}

static void cmd_fd(struct app_tele_client *c, const char *args, FILE *out, void *arg)
{
	int p[2];

	(void)args;
	(void)arg;
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], "via-fd", 6), 6);
	close(p[1]);
	cr_assert_eq(app_tele_client_pass_fd(c, p[0]), 0);
	cr_assert_eq(app_tele_client_pass_fd(c, p[0]), -EBUSY);
	close(p[0]);
	fputs("{\"fd\":true}", out);
}

static int n_doc = 7;

static void setup(void)
{
	char why[256];

	snprintf(path, sizeof(path), "/tmp/weir-tele-test-%d.sock", getpid());
	unlink(path);
	atomic_store(&closed_count, 0);
	cr_assert_eq(app_tele_start(path, doc, &n_doc, &tele, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(app_tele_cmd(tele, "echo", "echoes its arguments", cmd_echo, NULL), 0);
	cr_assert_eq(app_tele_cmd(tele, "session", "binds a callback to the client",
				  cmd_session, NULL), 0);
	cr_assert_eq(app_tele_cmd(tele, "fd", "passes a pipe", cmd_fd, NULL), 0);
}

static void teardown(void)
{
	app_tele_stop(tele);
	tele = NULL;
}

static int client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "%s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Reads one line (without the newline) into buf. */
static void read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);

		cr_assert_eq(r, 1, "connection ended or timed out after '%.*s'", (int)n, buf);
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
}

static void say(int fd, const char *s)
{
	cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

TestSuite(telemetry, .init = setup, .fini = teardown, .timeout = 30);

Test(telemetry, silent_client_gets_the_document_and_eof)
{
	char buf[256];
	int fd = client();

	read_line(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{\"app\":\"test\",\"n\":7}");
	cr_assert_eq(read(fd, buf, sizeof(buf)), 0, "the server closes after the document");
	close(fd);
}

Test(telemetry, half_closed_client_gets_the_document)
{
	char buf[256];
	int fd = client();

	shutdown(fd, SHUT_WR);
	read_line(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{\"app\":\"test\",\"n\":7}");
	close(fd);
}

Test(telemetry, commands_on_one_connection)
{
	char buf[512];
	int fd = client();

	say(fd, "echo  hello world\r\nstats\n");
	read_line(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{\"echo\":\"hello world\"}");
	read_line(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{\"app\":\"test\",\"n\":7}");
	usleep(200 * 1000); /* past the silence limit: a client that spoke stays */
	say(fd, "nosuch x\n");
	read_line(fd, buf, sizeof(buf));
	cr_assert(strstr(buf, "\"error\"") && strstr(buf, "unknown command 'nosuch'"), "%s", buf);
	say(fd, "help\n");
	read_line(fd, buf, sizeof(buf));
	cr_assert(strstr(buf, "\"echo\":\"echoes its arguments\""), "%s", buf);
	close(fd);
}

Test(telemetry, last_line_without_newline_is_answered_at_half_close)
{
	char buf[256];
	int fd = client();

	say(fd, "echo tail");
	shutdown(fd, SHUT_WR);
	read_line(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{\"echo\":\"tail\"}");
	cr_assert_eq(read(fd, buf, sizeof(buf)), 0);
	close(fd);
}

Test(telemetry, on_close_runs_when_the_client_goes)
{
	char buf[256];
	int fd = client();

	say(fd, "session\n");
	read_line(fd, buf, sizeof(buf));
	cr_assert_eq(atomic_load(&closed_count), 0);
	close(fd);
	for (int i = 0; i < 200 && !atomic_load(&closed_count); i++)
		usleep(10 * 1000);
	cr_assert_eq(atomic_load(&closed_count), 1);
}

Test(telemetry, on_close_runs_when_the_server_stops)
{
	char buf[256];
	int fd = client();

	say(fd, "session\n");
	read_line(fd, buf, sizeof(buf));
	app_tele_stop(tele);
	tele = NULL;
	cr_assert_eq(atomic_load(&closed_count), 1);
	close(fd);
}

Test(telemetry, a_descriptor_comes_with_its_reply)
{
	char buf[256], data[16] = {0};
	union {
		char c[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.c,
			    .msg_controllen = sizeof(u.c)};
	struct cmsghdr *cm;
	int fd = client(), got;

	say(fd, "echo first\nfd\n");
	read_line(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{\"echo\":\"first\"}", "the fd rides on its own reply");
	cr_assert_eq(recvmsg(fd, &mh, 0), 1);
	cm = CMSG_FIRSTHDR(&mh);
	cr_assert(cm && cm->cmsg_type == SCM_RIGHTS, "no descriptor with the reply");
	memcpy(&got, CMSG_DATA(cm), sizeof(int));
	cr_assert_eq(read(got, data, sizeof(data)), 6);
	cr_assert_str_eq(data, "via-fd");
	close(got);
	read_line(fd, buf + 1, sizeof(buf) - 1);
	cr_assert_str_eq(buf, "{\"fd\":true}");
	close(fd);
}

Test(telemetry, socket_file_is_private)
{
	struct stat st;

	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISSOCK(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
}

Test(telemetry, overlong_line_is_refused_and_closed)
{
	char big[5000], buf[256];
	int fd = client();

	memset(big, 'a', sizeof(big));
	cr_assert_eq(write(fd, big, sizeof(big)), (ssize_t)sizeof(big));
	read_line(fd, buf, sizeof(buf));
	cr_assert(strstr(buf, "longer than 4094"), "%s", buf);
	/* closed: EOF, or a reset since the rest of the line was never read */
	cr_assert_leq(read(fd, buf, sizeof(buf)), 0);
	close(fd);
}

/* A client that asks for much and never reads fills its socket buffer;
 * the server must go on serving others. */
Test(telemetry, a_client_that_never_reads_does_not_block_others)
{
	char buf[256];
	int stuck = client(), fd;
	int small = 4096;

	setsockopt(stuck, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	for (int i = 0; i < 3000; i++)
		say(stuck, "stats\n");
	fd = client();
	say(fd, "echo alive\n");
	read_line(fd, buf, sizeof(buf));
	cr_assert_str_eq(buf, "{\"echo\":\"alive\"}");
	close(fd);
	close(stuck);
}

Test(telemetry, command_names_are_checked)
{
	cr_assert_eq(app_tele_cmd(tele, "echo", "", cmd_echo, NULL), -EEXIST);
	cr_assert_eq(app_tele_cmd(tele, "stats", "", cmd_echo, NULL), -EINVAL);
	cr_assert_eq(app_tele_cmd(tele, "Bad Name", "", cmd_echo, NULL), -EINVAL);
	cr_assert_eq(app_tele_cmd(tele, "", "", cmd_echo, NULL), -EINVAL);
	cr_assert_eq(app_tele_cmd(tele, "route.get", "", cmd_echo, NULL), 0);
}

/* The request side without a socket: lines split anywhere across chunks
 * are answered once each, blank ones not at all, a line of 4095 bytes ends
 * the client with one error, and its queue holds one JSON line per
 * answer. */
Test(telemetry, lines_split_across_chunks_are_answered_once_each)
{
	static struct app_tele t;
	struct app_tele_client *c = &t.clients[0];
	const char *chunks[] = {"ec", "ho a\n \t\r\n\nst", "ats\nhe", "lp\r\n"};
	char big[TELE_LINE_MAX];
	int n = 7, lines = 0;

	tele_init(&t, doc, &n);
	cr_assert_eq(app_tele_cmd(&t, "echo", "", cmd_echo, NULL), 0);
	tele_client_init(c, -1);
	for (int i = 0; i < 4; i++)
		cr_assert(tele_client_input(&t, c, chunks[i], strlen(chunks[i])));
	for (size_t i = c->outoff; i < c->outlen; i++)
		lines += c->out[i] == '\n';
	cr_assert_eq(lines, 3, "%.*s", (int)c->outlen, c->out);
	cr_assert(!strncmp(c->out, "{\"echo\":\"a\"}\n{\"app\":\"test\",\"n\":7}\n{\"commands\"",
			   42), "%.*s", (int)c->outlen, c->out);
	c->outoff = c->outlen;
	memset(big, 'x', sizeof(big));
	cr_assert(tele_client_input(&t, c, big, sizeof(big)));
	cr_assert(c->closing);
	cr_assert(strstr(c->out + c->outoff, "longer than 4094 bytes"));
	tele_client_release(c);
	tele_fini(&t);
}
