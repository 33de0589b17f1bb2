// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's default engine, l2: a bump in the wire. Frames go to the peer
 * port as they came, both ways; all the work is the egress path (loss,
 * delay, scheduler), which is the same for every engine.
 */
#include "fwd/fwd.h"

const struct fwd_engine fwd_engine_l2 = {
	.name = "l2",
};
