/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry and control over a unix stream socket. A client sends request
 * lines, "NAME ARGS\n", and gets one JSON object on one line for each; the
 * connection stays open until the client closes it. A client that sends
 * nothing for 100 ms, half-closes its side, or sends "stats" gets the app's
 * JSON document (written by the app's callback), so `weir-stat PATH`,
 * `socat - UNIX:PATH` or a script that only reads keep working; "help"
 * lists the commands. The socket file is mode 0600 and only clients with
 * the server's effective uid, or root, are served (SO_PEERCRED).
 *
 * The server runs on its own thread and never touches a fast-path
 * structure directly: the callbacks read counters the lcores publish. It
 * never blocks on a client: replies are queued per client and written as
 * the client reads them; a client that lets more than 4 MiB pile up, or
 * sends a line longer than 4 KiB, is disconnected.
 */
#ifndef WEIR_APP_TELEMETRY_H
#define WEIR_APP_TELEMETRY_H

#include <stddef.h>
#include <stdio.h>

struct app_tele;
struct app_tele_client; /* one connected client */

/* The longest request line the server reads (bytes, without its newline);
 * a longer one gets an error and the connection is closed. */
#define APP_TELE_REQ_MAX 4094

/* Writes one JSON document (no trailing newline needed). Runs on the
 * telemetry thread. */
typedef void (*app_tele_fn)(FILE *out, void *arg);

/*
 * Answers one request: args is the rest of the line after the command's
 * name (leading blanks skipped; may be ""). Writes exactly one JSON object
 * to out (no newline needed); on failure writes it with app_tele_error().
 * Runs on the telemetry thread, never on an lcore.
 */
typedef void (*app_tele_cmd_fn)(struct app_tele_client *c, const char *args, FILE *out,
				void *arg);

/*
 * Listens on path (a stale socket file left by a dead process is replaced;
 * a live one is an error); path is copied. 0 and *out, or a negative errno
 * with a message in why (-EINVAL for an empty path, which would bind an
 * abstract socket). Not thread-safe; call from the control thread.
 */
int app_tele_start(const char *path, app_tele_fn fn, void *arg, struct app_tele **out, char *why,
		   size_t whylen);
/* Stops the thread, disconnects every client (running their on-close
 * callbacks), closes and removes the socket. NULL is allowed. */
void app_tele_stop(struct app_tele *t);

/*
 * Registers a command: name is 1-32 of [a-z0-9_./-] and not "stats" or
 * "help"; help is a one-line description (kept by reference). At most 32
 * commands. 0, or -EINVAL (bad name), -EEXIST, -ENOSPC. Thread-safe; before
 * or after clients connect.
 */
int app_tele_cmd(struct app_tele *t, const char *name, const char *help, app_tele_cmd_fn fn,
		 void *arg);

/* Writes {"error":"<the formatted message, JSON-escaped>"} to out (strings
 * inside other replies: report_json_str in common/report.h). */
void app_tele_error(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * fn(arg) runs once on the telemetry thread when this client disconnects,
 * or when the server stops: a session bound to a connection (a capture,
 * say) ends with it. At most 4 per client. 0 or -ENOSPC.
 */
int app_tele_client_on_close(struct app_tele_client *c, void (*fn)(void *arg), void *arg);

/*
 * Sends a duplicate of fd (a memfd, say) along with the reply to the
 * request being answered: SCM_RIGHTS on the reply's first byte, so the
 * client receives it with recvmsg() when it reads that reply. The server
 * closes its duplicate once sent or when the client goes. One per request.
 * 0, or -EBUSY (one is already pending) or a negative errno from dup.
 */
int app_tele_client_pass_fd(struct app_tele_client *c, int fd);

/* The client's connected socket (non-blocking; do not close it, and do not
 * write to it: replies go through the handler's out). For getsockopt and
 * the like; app_tele_client_pass_fd is the way to hand over a descriptor. */
int app_tele_client_fd(const struct app_tele_client *c);

#endif
