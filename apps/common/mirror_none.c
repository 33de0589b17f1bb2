// SPDX-License-Identifier: BSD-3-Clause
/*
 * Built without libpcap: no filters can be compiled, so the apps offer no
 * "capture" command (weir-cap, which needs libpcap too, is not built).
 */
#include <errno.h>

#include "common/app.h"

int app_mirror_register(struct app_tele *t, struct app_base *b)
{
	(void)t;
	(void)b;
	return -ENOTSUP;
}
