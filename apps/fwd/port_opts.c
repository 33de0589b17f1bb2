// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's per-port options, "[PORT@]VALUE": --egress [PORT@]QDISC,
 * --addr PORT@ADDR/LEN and --mtu [PORT@]BYTES (also config-file keys).
 * They read only the option's text and fill struct fwd's port table, so
 * they live apart from the app's setup and tests/fuzz/fuzz_fwd_port_opts.c
 * drives them directly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/opts.h"
#include "fwd/fwd.h"

/* "PORT@" in front of a value: the port index into *pi (-1 for none), the
 * rest in *rest. The whole number is read: one too long for the buffer is
 * refused, not cut (0000000000000005@ once named port 0). */
static int port_prefix(const char *val, bool required, int *pi, const char **rest, char *why,
		       size_t len)
{
	const char *at = strchr(val, '@');
	char idx[16];
	uint64_t v;

	*pi = -1;
	*rest = val;
	if (!at) {
		if (required)
			return snprintf(why, len, "'%s' names no port: give PORT@VALUE, e.g. "
				       "0@10.1.0.1/24", val), -EINVAL;
		return 0;
	}
	if ((size_t)(at - val) >= sizeof(idx))
		return snprintf(why, len, "'%.*s...' is not a port number (ports are 0..%d)", 8, val,
				FWD_MAX_PORTS - 1), -EINVAL;
	snprintf(idx, sizeof(idx), "%.*s", (int)(at - val), val);
	if (app_parse_u64(idx, 0, FWD_MAX_PORTS - 1, &v, why, len) < 0)
		return -EINVAL;
	*pi = (int)v;
	*rest = at + 1;
	return 0;
}

/* --addr PORT@ADDR/LEN */
static int set_addr(struct fwd *f, const char *val, char *why, size_t len)
{
	const char *rest, *slash;
	char ip[INET_ADDRSTRLEN];
	struct in_addr a;
	uint64_t plen;
	int pi;

	if (port_prefix(val, true, &pi, &rest, why, len))
		return -EINVAL;
	slash = strchr(rest, '/');
	if (!slash || (size_t)(slash - rest) >= sizeof(ip))
		return snprintf(why, len, "'%s' is not ADDRESS/PREFIXLEN (e.g. 0@10.1.0.1/24)", val),
		       -EINVAL;
	snprintf(ip, sizeof(ip), "%.*s", (int)(slash - rest), rest);
	if (inet_pton(AF_INET, ip, &a) != 1 || !a.s_addr)
		return snprintf(why, len, "'%s' is not an IPv4 address (e.g. 10.1.0.1)", ip), -EINVAL;
	if (app_parse_u64(slash + 1, 1, 32, &plen, why, len) < 0)
		return -EINVAL;
	f->ports[pi].addr = ntohl(a.s_addr);
	f->ports[pi].plen = (uint8_t)plen;
	return 0;
}

/* --mtu [PORT@]BYTES */
static int set_mtu(struct fwd *f, const char *val, char *why, size_t len)
{
	const char *rest;
	uint64_t v;
	int pi;

	if (port_prefix(val, false, &pi, &rest, why, len) ||
	    app_parse_bytes(rest, 68, 65535, &v, why, len) < 0)
		return -EINVAL;
	for (int i = 0; i < FWD_MAX_PORTS; i++)
		if (pi < 0 || i == pi)
			f->ports[i].mtu = (uint32_t)v;
	return 0;
}

/* --egress [PORT@]QDISC: one port's scheduler, or every port's. */
static int set_egress(struct fwd *f, const char *val, char *why, size_t len)
{
	const char *rest;
	int pi;

	if (port_prefix(val, false, &pi, &rest, why, len))
		return -EINVAL;
	return app_set_str(pi < 0 ? &f->egress_all : &f->ports[pi].egress, rest, why, len);
}

int fwd_port_opt_set(struct fwd *f, const char *name, const char *val, char *why, size_t len)
{
	if (!strcmp(name, "egress"))
		return set_egress(f, val, why, len);
	if (!strcmp(name, "addr"))
		return set_addr(f, val, why, len);
	if (!strcmp(name, "mtu"))
		return set_mtu(f, val, why, len);
	return 1;
}
