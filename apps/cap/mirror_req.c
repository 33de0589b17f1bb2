// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap's mirror request (common/mirror.h): `-i app:SOCKET?port=N&
 * dir=rx|tx|both&ring=BYTES` and the capture filter into the socket's
 * path and the one line weir-cap sends the app. Text only, no socket:
 * tests/fuzz/fuzz_tele.c builds requests here and feeds them to the
 * app's side of the telemetry server.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cap/cap.h"
#include "common/telemetry.h"

/* "app:PATH?port=N&dir=D&ring=B" into the socket path and the request's
 * arguments. */
static int parse_spec(const char *spec, char *path, size_t plen, char *args, size_t alen,
		      char *why, size_t wlen)
{
	const char *q;
	char opts[512], *save = NULL, *tok;
	size_t n;

	if (strncmp(spec, "app:", 4)) {
		snprintf(why, wlen, "'%s' is not a running app's port: app:SOCKET?port=N", spec);
		return -EINVAL;
	}
	q = strchr(spec + 4, '?');
	n = q ? (size_t)(q - spec - 4) : strlen(spec + 4);
	if (!n || n >= plen) {
		snprintf(why, wlen, "give the app's --stats-socket path: app:/run/fwd.sock?port=0");
		return -EINVAL;
	}
	snprintf(path, plen, "%.*s", (int)n, spec + 4);
	if (q && strlen(q + 1) >= sizeof(opts)) {
		snprintf(why, wlen, "options longer than %zu bytes", sizeof(opts) - 1);
		return -EINVAL;
	}
	snprintf(opts, sizeof(opts), "%s", q ? q + 1 : "");
	args[0] = '\0';
	for (tok = strtok_r(opts, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
		if (strncmp(tok, "port=", 5) && strncmp(tok, "dir=", 4) && strncmp(tok, "ring=", 5)) {
			snprintf(why, wlen, "unknown key '%s' (valid keys: port, dir, ring)", tok);
			return -EINVAL;
		}
		/* The request splits at blanks: one in a value would be
		 * another key, a newline another request. */
		for (const char *c = tok; *c; c++) {
			if ((unsigned char)*c <= ' ' || *c == 0x7f) {
				snprintf(why, wlen, "'%s': a blank or control byte in a value", tok);
				return -EINVAL;
			}
		}
		snprintf(args + strlen(args), alen - strlen(args), "%s ", tok);
	}
	if (!strstr(args, "port="))
		snprintf(args + strlen(args), alen - strlen(args), "port=0 ");
	return 0;
}

/* The filter as it goes on the request line: blanks (a filter written
 * over several lines) become spaces; other control bytes are refused. */
static int filter_line(const char *filter, char *out, size_t olen, char *why, size_t wlen)
{
	size_t n = strlen(filter);

	if (n >= olen) {
		snprintf(why, wlen, "filter longer than %zu bytes", olen - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)filter[i];

		if (c && (c < ' ' || c == 0x7f) && !strchr("\t\n\r\v\f", c)) {
			snprintf(why, wlen, "filter: control byte 0x%02x at offset %zu", c, i);
			return -EINVAL;
		}
		out[i] = c && c < ' ' ? ' ' : (char)c;
	}
	return 0;
}

int cap_mirror_request(const char *spec, const char *filter, uint32_t snaplen, char *path,
		       size_t plen, char *req, size_t rlen, char *why, size_t wlen)
{
	char args[1024], flt[APP_TELE_REQ_MAX + 1];
	int err, n;

	if ((err = parse_spec(spec, path, plen, args, sizeof(args), why, wlen)) < 0 ||
	    (err = filter_line(filter ? filter : "", flt, sizeof(flt), why, wlen)) < 0)
		return err;
	n = snprintf(req, rlen, "capture %ssnaplen=%u filter=%s\n", args,
		     snaplen > MIRROR_SNAPLEN_MAX ? MIRROR_SNAPLEN_MAX : snaplen, flt);
	/* The app reads a line of at most APP_TELE_REQ_MAX bytes. */
	if (n < 0 || (size_t)n >= rlen || n > APP_TELE_REQ_MAX + 1) {
		snprintf(why, wlen, "the capture request would be %d bytes, more than the app "
			 "reads (%d): shorten the filter", n - 1, APP_TELE_REQ_MAX);
		return -EINVAL;
	}
	return 0;
}
