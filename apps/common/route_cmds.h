/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Route commands for apps built on weir's stack (weir-echo, weir-fwd l3),
 * served on the telemetry socket:
 *
 *     route show                            every route, longest first
 *     route add PREFIX via GW [dev NAME]    also "add PREFIX dev NAME",
 *     route add default via GW                "add default via GW"
 *     route del PREFIX
 *     route get ADDR                        the route and neighbour ADDR takes
 *
 * Each answer is one JSON object ({"error": ...} when refused).
 *
 * A stack belongs to one thread (its lcore), and an app may run one stack
 * per lcore with the same routes. So a command is not run on the telemetry
 * thread: it is posted to every stack's mailbox (show: the first stack's
 * only; get asks every stack, whose neighbour caches differ), the owning lcore runs it between bursts
 * (app_route_cmds_poll, woken through app_route_cmds_fd when it sleeps) and
 * the telemetry thread waits for the answers, at most a second.
 */
#ifndef WEIR_APP_ROUTE_CMDS_H
#define WEIR_APP_ROUTE_CMDS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct weir_stack;
struct app_route_cmds;
struct app_tele;

/* Mailboxes for n stacks (1..32): 0 and *out, or -EINVAL / -ENOMEM. */
int app_route_cmds_create(uint16_t n, struct app_route_cmds **out);
/* NULL is allowed. Only once no thread polls or posts any more. */
void app_route_cmds_destroy(struct app_route_cmds *rc);

/* An eventfd that is readable while a command waits for stack idx: the
 * lcore adds it to the fds it sleeps on. */
int app_route_cmds_fd(const struct app_route_cmds *rc, uint16_t idx);

/*
 * On stack idx's own thread: runs the command waiting for it, if any, on st.
 * Returns 1 when it ran one, else 0 (one atomic load: call it every turn).
 */
int app_route_cmds_poll(struct app_route_cmds *rc, uint16_t idx, struct weir_stack *st);

/* From the control thread once the lcores have stopped (or before they
 * start for good): later commands are refused at once instead of waiting. */
void app_route_cmds_close(struct app_route_cmds *rc);

/*
 * Runs one command line ("show", "add ...", "del ...", "get ADDR"; the
 * words after "route") and writes its JSON answer to out. Blocks until
 * every stack involved has run it (or a second passes: then an error).
 * One caller at a time (the telemetry thread).
 */
void app_route_cmds_run(struct app_route_cmds *rc, const char *args, FILE *out);

/* Registers the "route" command on t, answered through rc (which must
 * outlive t's server): 0 or app_tele_cmd's errors. Control thread. */
int app_route_cmds_register(struct app_route_cmds *rc, struct app_tele *t);

/*
 * Applies a route command ("add ...", "del ...") to a stack directly, on
 * the thread that owns it or before its lcore starts (--route, --config):
 * as weir_stack_route_cmd. 0 or a negative errno with a message in why.
 */
int app_route_apply(struct weir_stack *st, const char *cmd, char *why, size_t len);

#endif
