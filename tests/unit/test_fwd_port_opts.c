// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-fwd's per-port options (apps/fwd/port_opts.c): --egress, --addr and
 * --mtu with and without PORT@, and the regression
 * tests/fuzz/fuzz_fwd_port_opts.c found.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fwd/fwd.h"

static struct fwd f;
static char why[256];

static void reset(void)
{
	for (int i = 0; i < FWD_MAX_PORTS; i++) {
		free(f.ports[i].egress);
		f.ports[i].egress = NULL;
		f.ports[i].addr = f.ports[i].mtu = f.ports[i].plen = 0;
	}
	free(f.egress_all);
	f.egress_all = NULL;
}

TestSuite(fwd_port_opts, .fini = reset);

Test(fwd_port_opts, egress_names_one_port_or_all)
{
	cr_assert_eq(fwd_port_opt_set(&f, "egress", "1@fifo", why, sizeof(why)), 0, "%s", why);
	cr_assert_str_eq(f.ports[1].egress, "fifo");
	cr_assert_null(f.ports[0].egress);
	cr_assert_eq(fwd_port_opt_set(&f, "egress", "fq_codel", why, sizeof(why)), 0, "%s", why);
	cr_assert_str_eq(f.egress_all, "fq_codel");
	cr_assert_eq(fwd_port_opt_set(&f, "egress", "16@fifo", why, sizeof(why)), -EINVAL);
	cr_assert_eq(fwd_port_opt_set(&f, "delay", "1ms", why, sizeof(why)), 1);
}

Test(fwd_port_opts, addr_needs_a_port_and_a_prefix)
{
	cr_assert_eq(fwd_port_opt_set(&f, "addr", "2@10.2.0.1/24", why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(f.ports[2].addr, 0x0a020001);
	cr_assert_eq(f.ports[2].plen, 24);
	cr_assert_eq(fwd_port_opt_set(&f, "addr", "10.2.0.1/24", why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "names no port"), "%s", why);
	cr_assert_eq(fwd_port_opt_set(&f, "addr", "0@10.2.0.1/33", why, sizeof(why)), -EINVAL);
	cr_assert_eq(fwd_port_opt_set(&f, "addr", "0@0.0.0.0/8", why, sizeof(why)), -EINVAL);
}

Test(fwd_port_opts, mtu_without_a_port_is_every_port)
{
	cr_assert_eq(fwd_port_opt_set(&f, "mtu", "1400", why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(f.ports[15].mtu, 1400);
	cr_assert_eq(fwd_port_opt_set(&f, "mtu", "3@9000", why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(f.ports[3].mtu, 9000);
	cr_assert_eq(f.ports[2].mtu, 1400);
	cr_assert_eq(fwd_port_opt_set(&f, "mtu", "3@67", why, sizeof(why)), -EINVAL);
	cr_assert_eq(f.ports[3].mtu, 9000);
}

/* The fuzzer's input: --mtu 0000...0005@520 with 90 zeros. The port
 * number was copied into 16 bytes and cut there, so it named port 0
 * (fifteen zeros) instead of refusing. --egress had its own copy of the
 * same code. */
Test(fwd_port_opts, regression_a_long_port_number_was_cut_to_another_port)
{
	const char *opts[] = {"mtu", "egress", "addr"};
	const char *vals[] = {"0000000000000005@1400", "0000000000000005@fifo",
			      "0000000000000005@10.5.0.1/24"};

	for (int i = 0; i < 3; i++) {
		cr_assert_eq(fwd_port_opt_set(&f, opts[i], vals[i], why, sizeof(why)), -EINVAL,
			     "%s %s", opts[i], vals[i]);
		cr_assert(strstr(why, "not a port number"), "%s", why);
		cr_assert_eq(f.ports[0].mtu, 0);
		cr_assert_null(f.ports[0].egress);
		cr_assert_eq(f.ports[0].addr, 0);
	}
	cr_assert_eq(fwd_port_opt_set(&f, "mtu", "000000000000005@1400", why, sizeof(why)), 0,
		     "%s", why); /* fifteen digits fit */
	cr_assert_eq(f.ports[5].mtu, 1400);
}
