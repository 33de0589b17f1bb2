// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: weir-gen's --size parser (apps/gen/sizes.c), as a command
 * line or a --config value gives it: the input is the option's text (up
 * to its first NUL byte).
 *
 * Properties beyond "no crash, no leak": the parser returns 0 or -EINVAL,
 * and says why when it refuses; an accepted mix is sane (1..GEN_MAX_SIZES
 * sizes, each within PROBE_MIN_FRAME..PROBE_MAX_FRAME, weights at least 1
 * adding up to total, the mean between the smallest and the largest size)
 * and is what the whole text says, not a part of it: an independent
 * reading of the text (split at ',', ':' and '-' here) gives the same
 * sizes, weights and range ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static uint64_t num(const char *s, size_t n, uint64_t min, uint64_t max)
{
	char *t = strndup(s, n), why[128];
	uint64_t v = 0;

	CHECK(t);
	CHECK(app_parse_u64(t, min, max, &v, why, sizeof(why)) == 0);
	free(t);
	return v;
}

/* The text read again, entry by entry, against what the parser kept. */
static void check_same(const char *val, const struct size_mix *m)
{
	const char *dash = strchr(val, '-'), *p = val;
	int i = 0;

	if (!strcmp(val, "imix"))
		val = p = "64:7,576:4,1500:1";
	if (m->range) {
		CHECK(dash && m->n == 1);
		CHECK(m->lo == num(val, (size_t)(dash - val), PROBE_MIN_FRAME, PROBE_MAX_FRAME));
		CHECK(m->hi == num(dash + 1, strlen(dash + 1), PROBE_MIN_FRAME, PROBE_MAX_FRAME));
		return;
	}
	while (*p) {
		size_t n = strcspn(p, ","), sn = strcspn(p, ":,");

		if (n) {
			CHECK(i < m->n);
			CHECK(m->size[i] == num(p, sn, PROBE_MIN_FRAME, PROBE_MAX_FRAME));
			CHECK(m->weight[i] == (sn < n ? num(p + sn + 1, n - sn - 1, 1, 1000000) : 1));
			i++;
		}
		p += n + (p[n] == ',');
	}
	CHECK(i == m->n);
}

static void check_sane(const struct size_mix *m)
{
	uint64_t total = 0;
	uint16_t lo = UINT16_MAX, hi = 0;

	CHECK(m->n >= 1 && m->n <= GEN_MAX_SIZES);
	if (m->range) {
		CHECK(m->n == 1 && m->lo >= PROBE_MIN_FRAME && m->lo <= m->hi &&
		      m->hi <= PROBE_MAX_FRAME);
		CHECK(m->mean == (m->lo + m->hi) / 2.0);
		return;
	}
	for (int i = 0; i < m->n; i++) {
		CHECK(m->size[i] >= PROBE_MIN_FRAME && m->size[i] <= PROBE_MAX_FRAME);
		CHECK(m->weight[i] >= 1);
		total += m->weight[i];
		lo = m->size[i] < lo ? m->size[i] : lo;
		hi = m->size[i] > hi ? m->size[i] : hi;
	}
	CHECK(total == m->total);
	CHECK(m->mean >= lo - 1e-6 && m->mean <= hi + 1e-6);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *val = strndup((const char *)data, size), why[256] = "";
	struct size_mix m;
	int r;

	CHECK(val);
	r = gen_parse_sizes(val, &m, why, sizeof(why));
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(why[0]);
	} else {
		check_sane(&m);
		check_same(val, &m);
	}
	free(val);
	return 0;
}
