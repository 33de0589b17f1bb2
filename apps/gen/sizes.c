// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-gen's --size parser: a fixed size, a uniform range or a weighted
 * mix (IMIX) into a struct size_mix. It reads only the option's text (a
 * command line or a --config value), so it lives apart from the app and
 * tests/fuzz/fuzz_gen_sizes.c drives it directly.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gen/gen.h"

int gen_parse_sizes(const char *val, struct size_mix *m, char *why, size_t len)
{
	char buf[256], *save = NULL;
	uint64_t v;

	memset(m, 0, sizeof(*m));
	if (!strcmp(val, "imix"))
		val = "64:7,576:4,1500:1";
	/* Refused, not cut: a list cut short would be another mix. */
	if (strlen(val) >= sizeof(buf)) {
		snprintf(why, len, "longer than %zu bytes (at most %d sizes)", sizeof(buf) - 1,
			 GEN_MAX_SIZES);
		return -EINVAL;
	}
	if (strchr(val, '-') && !strchr(val, ':')) {
		uint64_t lo, hi;
		char a[32];
		const char *dash = strchr(val, '-');

		if ((size_t)(dash - val) >= sizeof(a)) {
			snprintf(why, len, "'%.*s...' is not a frame size", 8, val);
			return -EINVAL;
		}
		snprintf(a, sizeof(a), "%.*s", (int)(dash - val), val);
		if (app_parse_u64(a, PROBE_MIN_FRAME, PROBE_MAX_FRAME, &lo, why, len) < 0 ||
		    app_parse_u64(dash + 1, PROBE_MIN_FRAME, PROBE_MAX_FRAME, &hi, why, len) < 0)
			return -EINVAL;
		if (hi < lo) {
			snprintf(why, len, "range ends before it starts");
			return -EINVAL;
		}
		m->range = true;
		m->lo = (uint16_t)lo;
		m->hi = (uint16_t)hi;
		m->n = 1;
		m->mean = (double)(lo + hi) / 2;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", val);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		uint64_t w = 1;

		if (m->n == GEN_MAX_SIZES) {
			snprintf(why, len, "at most %d sizes", GEN_MAX_SIZES);
			return -EINVAL;
		}
		if (colon) {
			*colon = '\0';
			if (app_parse_u64(colon + 1, 1, 1000000, &w, why, len) < 0)
				return -EINVAL;
		}
		if (app_parse_u64(tok, PROBE_MIN_FRAME, PROBE_MAX_FRAME, &v, why, len) < 0) {
			/* A failed parse leaves v unset: ask again whether the
			 * size was a number below the minimum. */
			char scratch[128];

			if (!app_parse_u64(tok, 0, PROBE_MIN_FRAME - 1, &v, scratch, sizeof(scratch)))
				snprintf(why + strlen(why), len - strlen(why),
					 "; frames hold 42 header and 22 probe bytes");
			return -EINVAL;
		}
		m->size[m->n] = (uint16_t)v;
		m->weight[m->n] = (uint32_t)w;
		m->total += (uint32_t)w;
		m->mean += (double)(v * w);
		m->n++;
	}
	if (!m->n) {
		snprintf(why, len, "no size given (e.g. 64, 64-1500, imix)");
		return -EINVAL;
	}
	m->mean /= m->total;
	return 0;
}
