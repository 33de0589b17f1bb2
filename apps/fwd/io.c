// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's io engine, after testpmd's iofwd.c: frames go to the peer port
 * untouched. The same path as l2; it exists so benchmarks read as testpmd's
 * do (`-m io`).
 */
#include "fwd/fwd.h"

const struct fwd_engine fwd_engine_io = {
	.name = "io",
};
