// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's l3 engine slot: an IPv4 router on weir's stack (ARP, route
 * lookup, TTL, ICMP errors) will fill it, with per-lcore tables in
 * lcore_init and the routing in burst. Until then --mode l3 says why it
 * cannot run.
 */
#include "fwd/fwd.h"

const struct fwd_engine fwd_engine_l3 = {
	.name = "l3",
	.missing = "l3 needs weir's UDP/IP stack, which is not built yet",
};

