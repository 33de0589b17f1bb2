// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's macswap engine, after testpmd's macswap.c: each frame's source
 * and destination MAC are swapped in place before it goes to the peer port.
 * Frames too short for an Ethernet header pass as they are.
 */
#include <string.h>

#include "fwd/fwd.h"

static uint16_t macswap_burst(struct fwd_lcore *lc, int in, struct weir_pkt **pkts, uint16_t n,
			      weir_ns_t now)
{
	(void)lc;
	(void)in;
	(void)now;
	for (uint16_t i = 0; i < n; i++) {
		uint8_t *h = weir_pkt_data(pkts[i]), t[6];

		if (pkts[i]->data_len < 12)
			continue;
		memcpy(t, h, 6);
		memcpy(h, h + 6, 6);
		memcpy(h + 6, t, 6);
	}
	return n;
}

const struct fwd_engine fwd_engine_macswap = {
	.name = "macswap",
	.burst = macswap_burst,
};
