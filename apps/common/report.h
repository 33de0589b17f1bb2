/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Output helpers shared by the apps' summaries and telemetry: JSON string
 * escaping, so a port spec or a qdisc string with quotes stays valid JSON,
 * and a port's counters under the field names every app's JSON uses.
 */
#ifndef WEIR_APP_REPORT_H
#define WEIR_APP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Writes s as a JSON string literal (quoted, escaped). NULL writes null. */
void report_json_str(FILE *o, const char *s);

struct weir_port_stats;

/* Writes a port's counters as JSON members, ",\"rx_packets\":N,...
 * \"tx_dropped\":N" (leading comma, no braces), for a port object. */
void report_port_stats_json(FILE *o, const struct weir_port_stats *st);

struct weir_port;

/* Writes the driver's own counters (weir_port_xstats_get: checksums
 * completed, copies, the device's) as a JSON object {"name":N,...}, the
 * first 128. Drivers keep them as relaxed atomics: any thread may call. */
void report_xstats_json(FILE *o, struct weir_port *port);

/* Prints a summary rendered earlier (doc, len bytes). A JSON document gets
 * "leaked": N (buffers not back in the pool after the ports closed) as its
 * last member; text gets a line only when N > 0. */
void report_finish(FILE *o, const char *doc, size_t len, bool json, uint32_t leaked);

#endif
