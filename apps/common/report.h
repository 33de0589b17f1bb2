/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Output helpers shared by the apps' summaries and telemetry: JSON string
 * escaping, so a port spec or a qdisc string with quotes stays valid JSON.
 */
#ifndef WEIR_APP_REPORT_H
#define WEIR_APP_REPORT_H

#include <stdio.h>

/* Writes s as a JSON string literal (quoted, escaped). NULL writes null. */
void report_json_str(FILE *o, const char *s);

#endif
