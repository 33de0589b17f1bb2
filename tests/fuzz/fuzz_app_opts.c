// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the apps' option and --config parsing (apps/common/opts.c,
 * through inih) and every value parser the apps share: integers with
 * suffixes, byte sizes, durations, rates, CPU lists, MACs, IPv4 and port
 * ranges, probabilities, booleans, strings.
 *
 * Input: a config file's text, a NUL byte, then command-line arguments one
 * per line (a "--config" argument names the file). Properties beyond "no
 * crash, no leak": parsing returns 0, 1 (help) or -EINVAL; every value
 * that was accepted lies in its documented range; every string option
 * kept is a copy that still reads what was given once parsing is over
 * (the class of bug where a value pointed into inih's line buffer).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/opts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			abort();                                                                   \
	} while (0)

#define MAX_ARGS 64

struct ctx {
	char *str, *str_seen; /* the kept copy, and what set was given */
	uint64_t u64;
	weir_ns_t dur;
	struct app_rate rate;
	int cpus[8];
	uint8_t mac[6];
	uint32_t ip_lo, ip_hi;
	uint16_t port_lo, port_hi;
	double prob;
	bool flag;
};

static const struct app_opt opts[] = {
	{"str", 's', "S", "a string"},
	{"num", 'n', "N", "1..1000000"},
	{"bytes", 'b', "SIZE", "bytes"},
	{"time", 't', "TIME", "a duration"},
	{"rate", 'r', "RATE", "a rate"},
	{"cores", 'c', "LIST", "cpus"},
	{"mac", 0, "MAC", "a MAC"},
	{"ip", 0, "IP[-IP]", "addresses"},
	{"port", 0, "P[-P]", "ports"},
	{"prob", 0, "P", "probability"},
	{"flag", 'f', NULL, "a switch"},
	{"bool", 0, "BOOL", "a boolean"},
	{NULL, 0, NULL, NULL},
};

static int set(void *arg, const char *name, const char *val, char *why, size_t len)
{
	struct ctx *c = arg;
	int r;

	if (!strcmp(name, "str")) {
		free(c->str_seen);
		c->str_seen = strdup(val);
		CHECK(c->str_seen);
		return app_set_str(&c->str, val, why, len);
	}
	if (!strcmp(name, "num"))
		return app_parse_u64(val, 1, 1000000, &c->u64, why, len);
	if (!strcmp(name, "bytes"))
		return app_parse_bytes(val, 64, 1ull << 40, &c->u64, why, len);
	if (!strcmp(name, "time"))
		return app_parse_duration(val, &c->dur, why, len);
	if (!strcmp(name, "rate"))
		return app_parse_rate(val, &c->rate, why, len);
	if (!strcmp(name, "cores")) {
		r = app_parse_cpus(val, c->cpus, 8, why, len);
		CHECK(r < 0 || r <= 8);
		return r < 0 ? r : 0;
	}
	if (!strcmp(name, "mac"))
		return app_parse_mac(val, c->mac, why, len);
	if (!strcmp(name, "ip")) {
		r = app_parse_ipv4_range(val, &c->ip_lo, &c->ip_hi, why, len);
		CHECK(r < 0 || c->ip_lo <= c->ip_hi);
		return r;
	}
	if (!strcmp(name, "port")) {
		r = app_parse_port_range(val, &c->port_lo, &c->port_hi, why, len);
		CHECK(r < 0 || c->port_lo <= c->port_hi);
		return r;
	}
	if (!strcmp(name, "prob")) {
		r = app_parse_prob(val, &c->prob, why, len);
		CHECK(r < 0 || (c->prob >= 0 && c->prob <= 1));
		return r;
	}
	if (!strcmp(name, "flag")) {
		c->flag = true;
		return 0;
	}
	if (!strcmp(name, "bool"))
		return app_parse_bool(val, &c->flag, why, len);
	return 0;
}

/* The config text into a memfd, named by a path inih can open. */
static int config_file(const uint8_t *d, size_t n, char *path, size_t len)
{
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC);

	CHECK(fd >= 0);
	CHECK(write(fd, d, n) == (ssize_t)n);
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t cfg_len = nul ? (size_t)(nul - data) : 0;
	char path[64], *args, *save = NULL, *argv[MAX_ARGS + 2];
	struct ctx c = {0};
	const struct app_cli cli = {.prog = "fuzz", .section = "fuzz", .synopsis = "fuzz",
				    .opts = opts, .set = set, .ctx = &c};
	int argc = 0, fd, r;

	fd = config_file(data, cfg_len, path, sizeof(path));
	args = strndup(nul ? (const char *)nul + 1 : (const char *)data,
		       nul ? size - cfg_len - 1 : size);
	CHECK(args);
	argv[argc++] = (char *)"fuzz";
	for (char *tok = strtok_r(args, "\n", &save); tok && argc < MAX_ARGS;
	     tok = strtok_r(NULL, "\n", &save))
		argv[argc++] = strcmp(tok, "@") ? tok : path; /* "@": the config's path */
	argv[argc] = NULL;
	r = app_cli_parse(&cli, argc, argv);
	CHECK(r == 0 || r == 1 || r == -EINVAL || r == -ENOENT);
	/* What was kept reads as given, after inih's buffers are gone. */
	if (r == 0 && c.str)
		CHECK(c.str_seen && !strcmp(c.str, c.str_seen));
	free(c.str);
	free(c.str_seen);
	free(args);
	close(fd);
	return 0;
}
