/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Leveled logging to stderr. The level comes from weir_log_set_level() or
 * the WEIR_LOG environment variable (error, warn, info, debug). Messages for
 * people name the thing, the problem and the fix.
 */
#ifndef WEIR_LOG_H
#define WEIR_LOG_H

enum weir_log_level {
	WEIR_LOG_ERR = 0,
	WEIR_LOG_WARN,
	WEIR_LOG_INFO,
	WEIR_LOG_DEBUG,
};

void weir_log_set_level(enum weir_log_level level);
enum weir_log_level weir_log_get_level(void);
/* Parses "error", "warn", "info" or "debug"; returns -EINVAL otherwise. */
int weir_log_parse_level(const char *s, enum weir_log_level *out);
void weir_log(enum weir_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define WEIR_ERR(...) weir_log(WEIR_LOG_ERR, __VA_ARGS__)
#define WEIR_WARN(...) weir_log(WEIR_LOG_WARN, __VA_ARGS__)
#define WEIR_INFO(...) weir_log(WEIR_LOG_INFO, __VA_ARGS__)
#define WEIR_DEBUG(...) weir_log(WEIR_LOG_DEBUG, __VA_ARGS__)

#endif
