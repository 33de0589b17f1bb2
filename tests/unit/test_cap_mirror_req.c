// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap's mirror request (apps/cap/mirror_req.c): `-i app:SOCKET?...`
 * and the filter into the socket path and the one request line, and the
 * regressions tests/fuzz/fuzz_tele.c found.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "cap/cap.h"
#include "common/telemetry.h"

static char path[108], req[4800], why[512];

static int request(const char *spec, const char *filter)
{
	return cap_mirror_request(spec, filter, 96, path, sizeof(path), req, sizeof(req), why,
				  sizeof(why));
}

Test(cap_mirror_req, spec_and_filter_make_one_request_line)
{
	cr_assert_eq(request("app:/run/fwd.sock?port=1&dir=tx&ring=8192", "udp port 9"), 0, "%s",
		     why);
	cr_assert_str_eq(path, "/run/fwd.sock");
	cr_assert_str_eq(req, "capture port=1 dir=tx ring=8192 snaplen=96 filter=udp port 9\n");
	cr_assert_eq(request("app:/s", NULL), 0, "%s", why);
	cr_assert_str_eq(req, "capture port=0 snaplen=96 filter=\n");
	cr_assert_eq(request("app:/s?snaplen=1", NULL), -EINVAL);
	cr_assert(strstr(why, "valid keys"), "%s", why);
}

/* The fuzzer's first find: a spec shorter than "app:" was searched from
 * its 5th byte, past its end (weir-cap only passes app: specs, but the
 * function said nothing of it). */
Test(cap_mirror_req, regression_a_spec_shorter_than_app_was_read_past_its_end)
{
	cr_assert_eq(request("e", NULL), -EINVAL);
	cr_assert(strstr(why, "app:SOCKET"), "%s", why);
}

/* The fuzzer's second: a newline in the filter went on the request line
 * as it was, so the app read the rest as a second request (any telemetry
 * command); a blank in a key's value became another key. */
Test(cap_mirror_req, regression_a_newline_in_the_filter_made_a_second_request)
{
	cr_assert_eq(request("app:/s", "udp\nroute del default"), 0, "%s", why);
	cr_assert_str_eq(req, "capture port=0 snaplen=96 filter=udp route del default\n");
	cr_assert_eq(request("app:/s", "udp\x01"), -EINVAL);
	cr_assert(strstr(why, "control byte 0x01"), "%s", why);
	cr_assert_eq(request("app:/s?port=0\nhelp", NULL), -EINVAL);
	cr_assert_eq(request("app:/s?port=0 ring=4096", NULL), -EINVAL);
	cr_assert(strstr(why, "blank or control"), "%s", why);
}

/* Options and filters longer than their buffers were cut (port=12 could
 * become port=1); a request longer than the app reads was sent anyway. */
Test(cap_mirror_req, long_options_and_filters_are_refused_not_cut)
{
	char spec[700] = "app:/s?", filter[APP_TELE_REQ_MAX + 8];

	memset(spec + 7, 'x', sizeof(spec) - 8);
	memcpy(spec + 7, "dir=", 4);
	spec[sizeof(spec) - 1] = '\0';
	cr_assert_eq(request(spec, NULL), -EINVAL);
	cr_assert(strstr(why, "longer than 511"), "%s", why);
	memset(filter, 'a', sizeof(filter) - 1);
	filter[sizeof(filter) - 1] = '\0';
	cr_assert_eq(request("app:/s", filter), -EINVAL);
	filter[APP_TELE_REQ_MAX - 60] = '\0';
	cr_assert_eq(request("app:/s", filter), 0, "%s", why);
	cr_assert_leq(strlen(req), APP_TELE_REQ_MAX + 1);
	filter[APP_TELE_REQ_MAX - 60] = 'a';
	filter[APP_TELE_REQ_MAX - 10] = '\0';
	cr_assert_eq(request("app:/s", filter), -EINVAL);
	cr_assert(strstr(why, "shorten the filter"), "%s", why);
}
