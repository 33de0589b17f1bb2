// SPDX-License-Identifier: BSD-3-Clause
/*
 * SIGINT and SIGTERM for every app on the harness: the first asks for the
 * clean stop (weir_stop_request: lcores leave their loops, files are
 * flushed and closed, the summary is printed); a second one, while that
 * stop is still under way, ends the process at once. A clean stop can
 * hang where the kernel waits on someone else (weir-cap's last write to a
 * pipe whose reader stopped reading, a device that does not finish), and a
 * person pressing Ctrl-C again wants the prompt back: one line on stderr
 * says so, the telemetry socket file is removed, and the exit status is
 * 128 + the signal (130, 143), what a shell reports for a process the
 * signal killed. What the clean stop had not done yet stays undone (the
 * end of a capture file, an XDP program detached at close).
 *
 * The handler only uses async-signal-safe calls (an atomic, write(2),
 * unlink(2), _exit(2)); its message and the socket path are written
 * beforehand.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "weir/lcore.h"

#include "common/app.h"

static _Atomic int signals_seen;
static char msg_int[192], msg_term[192];
static char sock_path[108]; /* the telemetry socket to remove, "" none */
static _Atomic bool sock_set;

static void on_stop_signal(int sig)
{
	const char *m = sig == SIGTERM ? msg_term : msg_int;

	if (atomic_fetch_add(&signals_seen, 1) == 0) {
		weir_stop_request();
		return;
	}
	if (write(STDERR_FILENO, m, strlen(m)) < 0) {
		/* stderr gone: the exit status still says it */
	}
	if (atomic_load(&sock_set))
		unlink(sock_path);
	_exit(128 + sig);
}

void app_signals_install(const char *prog)
{
	struct sigaction sa = {.sa_handler = on_stop_signal};

	snprintf(msg_int, sizeof(msg_int), "%s: SIGINT again: exiting now, before the clean stop "
		 "finished (output may be cut short)\n", prog);
	snprintf(msg_term, sizeof(msg_term), "%s: SIGTERM again: exiting now, before the clean "
		 "stop finished (output may be cut short)\n", prog);
	weir_signal_install(); /* the stop flag's eventfd, made before any signal */
	/* No SA_RESTART: a blocked write returns EINTR, as with libweir's own
	 * handler. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void app_signals_socket(const char *path)
{
	atomic_store(&sock_set, false);
	if (path && strlen(path) < sizeof(sock_path)) {
		strcpy(sock_path, path);
		atomic_store(&sock_set, true);
	}
}
