// SPDX-License-Identifier: BSD-3-Clause
/*
 * Dropping capabilities after setup (privs.h): libcap-ng for the sets,
 * prctl for no_new_privs. The bounding set goes first, while CAP_SETPCAP
 * is still effective; a process without CAP_SETPCAP keeps its bounding
 * set (it cannot regain what it dropped from permitted anyway, with
 * no_new_privs set).
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "common/privs.h"

#ifdef WEIR_HAVE_CAPNG
#include <cap-ng.h>

/* Appends the kept capabilities' names ("cap_net_admin,...") to what. */
static void kept_names(uint64_t keep, char *what, size_t len)
{
	size_t off = strlen(what);

	for (unsigned c = 0; c < 64 && off < len; c++) {
		const char *name;

		if (!(keep & (1ull << c)) || capng_have_capability(CAPNG_PERMITTED, c) != 1)
			continue;
		name = capng_capability_to_name(c);
		off += (size_t)snprintf(what + off, len - off, "%s%s", off ? "," : "kept ",
					name ? name : "?");
	}
	if (!off)
		snprintf(what, len, "all dropped");
}

static int drop_caps(uint64_t keep, char *what, size_t len)
{
	what[0] = '\0';
	if (capng_get_caps_process() < 0) {
		snprintf(what, len, "cannot read this process's capabilities");
		return -EPERM;
	}
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) == CAPNG_NONE) {
		snprintf(what, len, "none held");
		return 0;
	}
	kept_names(keep, what, len);
	for (unsigned c = 0; c <= CAP_LAST_CAP; c++) {
		if (keep & (1ull << c))
			continue;
		capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE |
						 CAPNG_BOUNDING_SET | CAPNG_AMBIENT, c);
	}
	/* Without CAP_SETPCAP the bounding set cannot shrink: the rest can. */
	if (capng_apply(CAPNG_SELECT_ALL) == 0)
		return 0;
	if (capng_apply(CAPNG_SELECT_CAPS) == 0 && capng_apply(CAPNG_SELECT_AMBIENT) == 0)
		return 0;
	snprintf(what, len, "capset failed: %s", strerror(errno));
	return -EPERM;
}
#else
static int drop_caps(uint64_t keep, char *what, size_t len)
{
	(void)keep;
	snprintf(what, len, "capabilities kept: built without libcap-ng (libcap-ng-dev)");
	return 0;
}
#endif

int app_privs_drop(uint64_t keep, char *what, size_t len)
{
	int r = drop_caps(keep, what, len);

	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(what, len, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -errno;
	}
	return 0;
}
