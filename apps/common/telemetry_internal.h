/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The telemetry server's insides, shared by its two halves: the socket
 * side (telemetry.c: the thread, accept, poll, recv, send) and the
 * request side (telemetry_req.c: the command table, a client's input
 * split into lines, the 4 KiB line cap, dispatching, the reply queue).
 * The request side never touches a socket, so a test or a fuzz target
 * (tests/fuzz/fuzz_tele.c) can be a client by feeding bytes to
 * tele_client_input and reading the queue: a client with fd -1.
 */
#ifndef WEIR_APP_TELEMETRY_INTERNAL_H
#define WEIR_APP_TELEMETRY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "common/telemetry.h"

#define TELE_MAX_CLIENTS 16
#define TELE_MAX_CMDS 32
#define TELE_NAME_MAX 32
#define TELE_LINE_MAX (APP_TELE_REQ_MAX + 2) /* the line, its newline, a NUL */
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
	int fd; /* -1: slot free (or a client without a socket) */
	bool spoke;   /* sent at least one byte: not a read-only client */
	bool closing; /* close once the queued output is written; read no more */
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

/* Sets t up with the document callback fn(arg), no commands, every
 * client slot free; no socket, no thread. Undone by tele_fini. */
void tele_init(struct app_tele *t, app_tele_fn fn, void *arg);
void tele_fini(struct app_tele *t);

/* A new client in slot c, connected on fd (-1 for one without a socket). */
void tele_client_init(struct app_tele_client *c, int fd);

/* Bytes the client may send before its line buffer is full (what one recv
 * should read at most). */
size_t tele_client_room(const struct app_tele_client *c);

/*
 * n bytes the client sent, in any chunking: each complete line is
 * answered (one reply line queued per request; blank lines get none); a
 * line that reaches TELE_LINE_MAX - 1 bytes without a newline gets an
 * error reply and the client is closing (bytes after that are ignored, as
 * the socket side stops reading). Returns false when the client must be
 * dropped at once (its queue is over TELE_OUT_MAX, or out of memory).
 * Telemetry thread only (or the one thread of a test).
 */
bool tele_client_input(struct app_tele *t, struct app_tele_client *c, const char *buf, size_t n);

/* The client half-closed: the document if it never spoke, else its last
 * unterminated line as a request; it is closing. false: drop it. */
bool tele_client_eof(struct app_tele *t, struct app_tele_client *c);

/* The client only reads (silent TELE_SILENT_MS): its document, and it is
 * closing. false: drop it. */
bool tele_client_document(struct app_tele *t, struct app_tele_client *c);

/* Runs c's on-close callbacks, closes its fds (fd unless -1, a pending
 * pass_fd), frees its queue and frees the slot. */
void tele_client_release(struct app_tele_client *c);

#endif
