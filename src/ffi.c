// SPDX-License-Identifier: BSD-3-Clause
/*
 * The inline per-packet API, compiled once more out of line under its own
 * names so that libweir exports it: for FFI bindings, dlsym() and
 * debuggers, which cannot call a static inline. liburing's ffi.c is the
 * model. With WEIR_INLINE defined as nothing, every function the headers
 * mark WEIR_INLINE is an ordinary external definition here; other files
 * (and applications) see `static inline` and inline it as before. No `_sym`
 * twins: the exported name is the API name.
 *
 * What libweir exports at all is decided by libweir.map.
 */
#define WEIR_INLINE

/* The definitions below are their own prototypes. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

#include "weir/clock.h"
#include "weir/common.h"
#include "weir/lcore.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"
#include "weir/ring.h"
