// SPDX-License-Identifier: BSD-3-Clause
/* Exported twin of the inline monotonic clock (include/weir/clock.h). */
#include "weir/clock.h"

weir_ns_t weir_clock_now_sym(void)
{
	return weir_clock_now();
}
