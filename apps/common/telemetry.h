/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Telemetry over a unix stream socket: each client that connects gets one
 * JSON document (written by the app's callback) and the connection closes,
 * so `weir-stat PATH`, `socat - UNIX:PATH` or a script can read it. The
 * server runs on its own thread and never touches a fast-path structure
 * directly: the callback reads counters the lcores publish.
 */
#ifndef WEIR_APP_TELEMETRY_H
#define WEIR_APP_TELEMETRY_H

#include <stddef.h>
#include <stdio.h>

struct app_tele;

/* Writes one JSON document (no trailing newline needed). Runs on the
 * telemetry thread. */
typedef void (*app_tele_fn)(FILE *out, void *arg);

/*
 * Listens on path (a stale socket file left by a dead process is replaced;
 * a live one is an error); path is copied. 0 and *out, or a negative errno
 * with a message in why (-EINVAL for an empty path, which would bind an
 * abstract socket). Not thread-safe; call from the control thread.
 */
int app_tele_start(const char *path, app_tele_fn fn, void *arg, struct app_tele **out, char *why,
		   size_t whylen);
/* Stops the thread, closes and removes the socket. NULL is allowed. */
void app_tele_stop(struct app_tele *t);

#endif
