// SPDX-License-Identifier: BSD-3-Clause
/*
 * Leveled logging to stderr, one line per call, written with a single
 * write so lines from several lcores do not interleave; and weir_panic()
 * for the debug checks (include/weir/common.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "weir/common.h"
#include "weir/log.h"

static enum weir_log_level log_level = WEIR_LOG_INFO;
static int log_level_from_env = -1;

int weir_log_parse_level(const char *s, enum weir_log_level *out)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(s, names[i])) {
			*out = (enum weir_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void log_init_env(void)
{
	const char *env = getenv("WEIR_LOG");
	enum weir_log_level lvl;

	log_level_from_env = 0;
	if (env && weir_log_parse_level(env, &lvl) == 0) {
		log_level = lvl;
		log_level_from_env = 1;
	}
}

void weir_log_set_level(enum weir_log_level level)
{
	if (log_level_from_env < 0)
		log_init_env();
	log_level = level;
}

enum weir_log_level weir_log_get_level(void)
{
	if (log_level_from_env < 0)
		log_init_env();
	return log_level;
}

static void write_line(const char *tag, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void write_line(const char *tag, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = snprintf(line, sizeof(line), "weir: %s", tag);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* Nothing sensible to do when stderr is gone. */
	}
}

void weir_log(enum weir_log_level level, const char *fmt, ...)
{
	static const char *const tags[] = {"error: ", "warning: ", "", "debug: "};
	va_list ap;

	if (level > weir_log_get_level())
		return;
	va_start(ap, fmt);
	write_line(tags[level], fmt, ap);
	va_end(ap);
}

void weir_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_line("panic: ", fmt, ap);
	va_end(ap);
	abort();
}
