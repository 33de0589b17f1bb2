/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Least privilege for the apps: once the ports and files are open, a weir
 * app keeps only the capabilities its ports still need to close (see
 * weir_port_caps_kept) and sets no_new_privs, so a bug in packet parsing
 * does not run with full root. With libcap-ng (libcap-ng-dev) the sets are
 * changed; without it only no_new_privs is set and the report says so.
 */
#ifndef WEIR_APP_PRIVS_H
#define WEIR_APP_PRIVS_H

#include <stddef.h>
#include <stdint.h>

/*
 * Drops every capability but those in keep (bit CAP_x) from the calling
 * thread's effective, permitted, inheritable and ambient sets, and from
 * the bounding set where CAP_SETPCAP allows; then sets no_new_privs.
 * Threads started before keep what they had: call it before starting any.
 * Writes what was done into what (e.g. "kept cap_net_admin", "none held").
 * 0, or a negative errno with the reason in what.
 */
int app_privs_drop(uint64_t keep, char *what, size_t len);

#endif
