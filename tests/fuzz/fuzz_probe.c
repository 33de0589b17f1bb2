// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: weir-gen's probe parser (apps/common/probe.c), which reads
 * every frame a weir-gen receiver or reflector sees, from whoever sent it;
 * and, with the same bytes as a string, the value parsers behind the apps'
 * options and config files (rates, durations, sizes, ranges).
 *
 * Properties beyond "does not crash or read out of bounds": an accepted
 * frame's payload lies inside it; writing the parsed probe into a fresh
 * frame and parsing that gives the same fields; reflecting a frame keeps
 * its probe fields, sets the reflected flag, and reflecting twice restores
 * the addresses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/opts.h"
#include "common/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_frame(const uint8_t *data, size_t size)
{
	struct probe p, q;
	struct probe_tmpl t;
	struct probe_addr a = {.src_ip = 1, .dst_ip = 2, .src_port = 3, .dst_port = 4};
	uint8_t *copy, rebuilt[PROBE_MIN_FRAME];
	size_t off, off2;

	if (probe_parse(data, size, &p, &off) < 0)
		return;
	if (off + PROBE_PAYLOAD_LEN > size)
		abort();
	probe_tmpl_init(&t, &a);
	probe_write(rebuilt, sizeof(rebuilt), &t, &p);
	if (probe_parse(rebuilt, sizeof(rebuilt), &q, &off2) < 0 || q.flow != p.flow ||
	    q.seq != p.seq || q.sched_ns != p.sched_ns || q.flags != p.flags)
		abort();
	/* An IPv4 header written by probe_write must check out. */
	if (probe_csum(rebuilt + 14, 20) != 0)
		abort();
	copy = malloc(size);
	if (!copy)
		return;
	memcpy(copy, data, size);
	probe_reflect(copy, off);
	if (probe_parse(copy, size, &q, &off2) < 0 || off2 != off || q.flow != p.flow ||
	    q.seq != p.seq || q.sched_ns != p.sched_ns || !(q.flags & PROBE_F_REFLECTED))
		abort();
	probe_reflect(copy, off);
	if (memcmp(copy, data, 12) != 0) /* MACs back where they were */
		abort();
	free(copy);
}

static void check_strings(const uint8_t *data, size_t size)
{
	char s[128], why[256];
	struct app_rate r;
	weir_ns_t ns;
	uint64_t v;
	uint32_t lo, hi;
	uint16_t plo, phi;
	double prob;
	int cpus[8];

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	if (app_parse_rate(s, &r, why, sizeof(why)) == 0 && !r.line && !(r.pps > 0 || r.bps > 0))
		abort();
	app_parse_duration(s, &ns, why, sizeof(why));
	app_parse_bytes(s, 0, UINT64_MAX, &v, why, sizeof(why));
	app_parse_u64(s, 1, 1000, &v, why, sizeof(why));
	if (app_parse_ipv4_range(s, &lo, &hi, why, sizeof(why)) == 0 && hi < lo)
		abort();
	if (app_parse_port_range(s, &plo, &phi, why, sizeof(why)) == 0 && phi < plo)
		abort();
	if (app_parse_prob(s, &prob, why, sizeof(why)) == 0 && !(prob >= 0 && prob <= 1))
		abort();
	app_parse_cpus(s, cpus, 8, why, sizeof(why));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_frame(data, size);
	check_strings(data, size);
	return 0;
}
