// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: weir-fwd's per-port options (apps/fwd/port_opts.c):
 * --egress [PORT@]QDISC, --addr PORT@ADDR/LEN, --mtu [PORT@]BYTES, as a
 * command line or a --config file gives them. The input is lines; a
 * line's first byte picks the option ('e' egress, 'a' addr, 'm' mtu,
 * anything else a name that is none of them), the rest is its value. All
 * lines of an input go to one struct fwd, as the options of one run do.
 *
 * Properties beyond "no crash, no leak": a known option returns 0 or
 * -EINVAL (an unknown one 1); a refusal says why and changes nothing; an
 * accepted value is what the whole text says: the port is the number
 * before the first '@' read in full (not a truncated part of it), the
 * egress string is the text after it, the address and prefix length are
 * what inet_pton and the integer parser make of theirs, and only the
 * named port changes (every port for an egress or mtu without PORT@).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/fwd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

static struct fwd f; /* large (every queue's egress state): one, reset per input */

struct shadow {
	const char *egress;
	uint32_t addr, mtu;
	uint8_t plen;
};

static void snap(struct shadow *s, const char **all)
{
	for (int i = 0; i < FWD_MAX_PORTS; i++)
		s[i] = (struct shadow){f.ports[i].egress, f.ports[i].addr, f.ports[i].mtu,
				       f.ports[i].plen};
	*all = f.egress_all;
}

/* The port before the first '@', read in full: 0..FWD_MAX_PORTS-1, or -1
 * when there is no '@'; -2 when the number is not one. */
static int ref_port(const char *val, const char **rest)
{
	const char *at = strchr(val, '@');
	char *idx, why[128];
	uint64_t v;
	int r;

	*rest = at ? at + 1 : val;
	if (!at)
		return -1;
	idx = strndup(val, (size_t)(at - val));
	CHECK(idx);
	r = app_parse_u64(idx, 0, FWD_MAX_PORTS - 1, &v, why, sizeof(why));
	free(idx);
	return r < 0 ? -2 : (int)v;
}

static void check_addr(const char *rest, int pi, const struct shadow *was)
{
	const char *slash = strchr(rest, '/');
	char *ip, why[128];
	struct in_addr a;
	uint64_t plen;

	CHECK(pi >= 0 && slash);
	ip = strndup(rest, (size_t)(slash - rest));
	CHECK(ip);
	CHECK(inet_pton(AF_INET, ip, &a) == 1 && a.s_addr);
	free(ip);
	CHECK(app_parse_u64(slash + 1, 1, 32, &plen, why, sizeof(why)) == 0);
	CHECK(f.ports[pi].addr == ntohl(a.s_addr) && f.ports[pi].plen == plen);
	for (int i = 0; i < FWD_MAX_PORTS; i++)
		if (i != pi)
			CHECK(f.ports[i].addr == was[i].addr && f.ports[i].plen == was[i].plen);
}

static void check_ok(char opt, const char *val, const struct shadow *was, const char *was_all)
{
	const char *rest;
	int pi = ref_port(val, &rest);
	char why[128];
	uint64_t v;

	CHECK(pi != -2);
	if (opt == 'a')
		return check_addr(rest, pi, was);
	if (opt == 'm')
		CHECK(app_parse_bytes(rest, 68, 65535, &v, why, sizeof(why)) == 0);
	for (int i = 0; i < FWD_MAX_PORTS; i++) {
		bool named = pi < 0 || i == pi;

		if (opt == 'm')
			CHECK(f.ports[i].mtu == (named ? v : was[i].mtu));
		else if (pi >= 0 && i == pi)
			CHECK(f.ports[i].egress && !strcmp(f.ports[i].egress, rest));
		else
			CHECK(f.ports[i].egress == was[i].egress);
	}
	if (opt == 'e' && pi < 0)
		CHECK(f.egress_all && !strcmp(f.egress_all, val));
	else
		CHECK(f.egress_all == was_all);
}

static void run(char opt, const char *val)
{
	const char *name = opt == 'e' ? "egress" : opt == 'a' ? "addr" : opt == 'm' ? "mtu" : "x";
	struct shadow was[FWD_MAX_PORTS];
	const char *was_all;
	char why[256] = "";
	int r;

	snap(was, &was_all);
	r = fwd_port_opt_set(&f, name, val, why, sizeof(why));
	if (name[0] == 'x') {
		CHECK(r == 1);
		return;
	}
	CHECK(r == 0 || r == -EINVAL);
	if (r == 0)
		return check_ok(opt, val, was, was_all);
	CHECK(why[0]);
	for (int i = 0; i < FWD_MAX_PORTS; i++)
		CHECK(f.ports[i].egress == was[i].egress && f.ports[i].addr == was[i].addr &&
		      f.ports[i].plen == was[i].plen && f.ports[i].mtu == was[i].mtu);
	CHECK(f.egress_all == was_all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = strndup((const char *)data, size), *save = NULL;

	CHECK(text);
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		run(line[0], line + 1);
	for (int i = 0; i < FWD_MAX_PORTS; i++) {
		free(f.ports[i].egress);
		f.ports[i].egress = NULL;
		f.ports[i].addr = f.ports[i].mtu = f.ports[i].plen = 0;
	}
	free(f.egress_all);
	f.egress_all = NULL;
	free(text);
	return 0;
}
