// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-blk raid: the RAID control commands over pmd/raid, one process per
 * command, as mdadm's are (the array's state lives in its members'
 * superblocks, so each command assembles it, acts and closes it):
 *
 *     weir-blk raid create   SPEC [--force]      new superblocks, members zeroed
 *     weir-blk raid assemble SPEC                 assemble and say what was found
 *     weir-blk raid status   SPEC [--json]        the members' states, rebuild progress
 *     weir-blk raid fail     SPEC SLOT            mark a member failed (mdadm --fail)
 *     weir-blk raid rebuild  SPEC [SLOT NEWSPEC] [--rate BYTES/s]
 *                                                 rebuild onto NEWSPEC in SLOT, or
 *                                                 resume an interrupted rebuild
 *
 * A rebuild runs online inside queue pair 0's polls (pmd/raid_io.c); here
 * nothing else is using the array, so this loop polls it until the member
 * is in sync, printing progress once a second; Ctrl-C stops it at a
 * checkpoint, and the next rebuild (or any open) resumes from there.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/lcore.h"

#include "blk/blk.h"
#include "common/opts.h"
#include "common/report.h"

static const char *const state_names[] = {"active", "failed", "rebuilding", "missing"};

static int usage(FILE *o)
{
	fprintf(o,
		"usage: weir-blk raid create   SPEC [--force]\n"
		"       weir-blk raid assemble SPEC\n"
		"       weir-blk raid status   SPEC [--json]\n"
		"       weir-blk raid fail     SPEC SLOT\n"
		"       weir-blk raid rebuild  SPEC [SLOT NEWSPEC] [--rate BYTES/s]\n"
		"SPEC is raid0:, raid1: or raid5: with its members, e.g.\n"
		"  raid5:uring:/dev/loop1,uring:/dev/loop2,uring:/dev/loop3?chunk=64k\n");
	return o == stdout ? APP_EXIT_OK : APP_EXIT_USAGE;
}

static int open_array(const char *spec, const char *extra, struct weir_blk **dev)
{
	char full[1024], why[WEIR_BLK_ERRSIZE];
	int err;

	snprintf(full, sizeof(full), "%s%s%s", spec, extra[0] ? (strchr(spec, '?') ? "&" : "?") : "",
		 extra);
	err = weir_blk_open(full, NULL, dev, why, sizeof(why));
	if (err < 0) {
		fprintf(stderr, "weir-blk raid: %s\n", why);
		return err;
	}
	if (weir_blk_note(*dev)[0])
		printf("note: %s\n", weir_blk_note(*dev));
	return 0;
}

static void print_status(FILE *o, const struct weir_blk_raid_status *st)
{
	fprintf(o, "raid%d, %u members, chunk %u KiB, generation %" PRIu64 ": %s\n", st->level,
		st->nb_members, st->chunk_bytes >> 10, st->generation,
		st->failed ? "FAILED (more members lost than it survives)"
			   : st->degraded ? "degraded" : "clean");
	for (unsigned i = 0; i < st->nb_members; i++) {
		const struct weir_blk_raid_member *m = &st->m[i];

		fprintf(o, "  %u: %-10s %s%s%s\n", i, state_names[m->state % 4],
			m->spec[0] ? m->spec : "(none)", m->why[0] ? "  -- " : "", m->why);
	}
	if (st->rebuild_slot >= 0)
		fprintf(o, "  rebuilding member %d: %.1f%% (%" PRIu64 " of %" PRIu64 " bytes)\n",
			st->rebuild_slot,
			st->rebuild_total ? 100.0 * (double)st->rebuild_done / (double)st->rebuild_total
					  : 0, st->rebuild_done, st->rebuild_total);
}

static void print_json(FILE *o, const struct weir_blk_raid_status *st)
{
	fprintf(o, "{\"level\":%d,\"members\":%u,\"chunk_bytes\":%u,\"generation\":%" PRIu64
		   ",\"degraded\":%s,\"failed\":%s,\"rebuild_slot\":%d,\"rebuild_done\":%" PRIu64
		   ",\"rebuild_total\":%" PRIu64 ",\"member\":[",
		st->level, st->nb_members, st->chunk_bytes, st->generation,
		st->degraded ? "true" : "false", st->failed ? "true" : "false", st->rebuild_slot,
		st->rebuild_done, st->rebuild_total);
	for (unsigned i = 0; i < st->nb_members; i++) {
		fprintf(o, "%s{\"slot\":%u,\"state\":\"%s\",\"errors\":%" PRIu64 ",\"spec\":",
			i ? "," : "", i, state_names[st->m[i].state % 4], st->m[i].errors);
		report_json_str(o, st->m[i].spec);
		fputs(",\"why\":", o);
		report_json_str(o, st->m[i].why);
		fputc('}', o);
	}
	fputs("]}\n", o);
}

static int status_of(struct weir_blk *dev, struct weir_blk_raid_status *st)
{
	if (weir_blk_raid_status(dev, st) < 0) {
		fprintf(stderr, "weir-blk raid: %s is not a RAID array (raid0:, raid1:, raid5:)\n",
			weir_blk_label(dev));
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Polls queue pair 0 until the rebuild is done, or a stop. */
static int run_rebuild(struct weir_blk *dev)
{
	struct weir_blk_raid_status st;
	struct weir_blk_req *done[8];
	weir_ns_t t0 = weir_clock_now(), last = t0;

	app_signals_install("weir-blk raid");
	while (!status_of(dev, &st) && st.rebuild_slot >= 0 && !st.failed) {
		weir_ns_t now = weir_clock_now();

		if (weir_should_stop()) {
			printf("stopped at %.1f%%: the next rebuild resumes from there\n",
			       100.0 * (double)st.rebuild_done / (double)st.rebuild_total);
			return APP_EXIT_OK;
		}
		weir_blk_poll_burst(dev, 0, done, 8);
		if (now - last >= WEIR_NS_PER_SEC) {
			printf("rebuilding member %d: %.1f%%\n", st.rebuild_slot,
			       100.0 * (double)st.rebuild_done / (double)st.rebuild_total);
			fflush(stdout);
			last = now;
		}
	}
	if (st.failed) {
		fprintf(stderr, "weir-blk raid: the array failed during the rebuild\n");
		return APP_EXIT_FAIL;
	}
	printf("rebuilt in %.2f s\n", (double)(weir_clock_now() - t0) / 1e9);
	print_status(stdout, &st);
	return APP_EXIT_OK;
}

static int do_rebuild(struct weir_blk *dev, int argc, char **argv, const char *rate)
{
	struct weir_blk_raid_status st;
	char why[WEIR_BLK_ERRSIZE];
	uint64_t slot, bps = 0;

	if (rate && app_parse_bytes(rate, 0, UINT64_MAX, &bps, why, sizeof(why)) < 0) {
		fprintf(stderr, "weir-blk raid rebuild: --rate: %s\n", why);
		return APP_EXIT_USAGE;
	}
	if (rate)
		weir_blk_raid_set_rate(dev, bps);
	if (argc >= 2) {
		if (app_parse_u64(argv[0], 0, WEIR_BLK_RAID_MAX - 1, &slot, why, sizeof(why)) < 0) {
			fprintf(stderr, "weir-blk raid rebuild: SLOT: %s\n", why);
			return APP_EXIT_USAGE;
		}
		if (weir_blk_raid_replace(dev, (unsigned)slot, argv[1], why, sizeof(why)) < 0) {
			fprintf(stderr, "weir-blk raid rebuild: %s\n", why);
			return APP_EXIT_FAIL;
		}
	} else if (status_of(dev, &st) < 0 || st.rebuild_slot < 0) {
		fprintf(stderr, "weir-blk raid rebuild: no rebuild to resume: give SLOT NEWSPEC "
				"(a failed or missing slot, and the device to put there)\n");
		return APP_EXIT_USAGE;
	}
	return run_rebuild(dev);
}

static int do_fail(struct weir_blk *dev, const char *arg)
{
	struct weir_blk_raid_status st;
	char why[WEIR_BLK_ERRSIZE];
	uint64_t slot;

	if (app_parse_u64(arg, 0, WEIR_BLK_RAID_MAX - 1, &slot, why, sizeof(why)) < 0) {
		fprintf(stderr, "weir-blk raid fail: SLOT: %s\n", why);
		return APP_EXIT_USAGE;
	}
	if (weir_blk_raid_fail(dev, (unsigned)slot, why, sizeof(why)) < 0) {
		fprintf(stderr, "weir-blk raid fail: %s\n", why);
		return APP_EXIT_FAIL;
	}
	if (status_of(dev, &st) == 0)
		print_status(stdout, &st);
	return APP_EXIT_OK;
}

/* Flags anywhere after the command; the rest stay in order in pos. */
static int split_args(int argc, char **argv, char **pos, bool *force, bool *json,
		      const char **rate)
{
	int n = 0;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			*force = true;
		else if (!strcmp(argv[i], "--json"))
			*json = true;
		else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
			*rate = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1])
			return -1;
		else
			pos[n++] = argv[i];
	}
	return n;
}

int blk_raid_main(int argc, char **argv)
{
	char *pos[8] = {0};
	const char *rate = NULL, *cmd = argc > 1 ? argv[1] : "";
	bool force = false, json = false;
	struct weir_blk_raid_status st;
	struct weir_blk *dev = NULL;
	int n, rc = APP_EXIT_OK;

	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(stdout);
	if (argc > 8 || (n = split_args(argc, argv, pos, &force, &json, &rate)) < 1)
		return usage(stderr);
	if (!strcmp(cmd, "create") && n == 1) {
		if (open_array(pos[0], force ? "create=1&force=1" : "create=1", &dev) < 0)
			return APP_EXIT_FAIL;
		printf("created: ");
	} else if ((!strcmp(cmd, "assemble") || !strcmp(cmd, "status")) && n == 1) {
		if (open_array(pos[0], "", &dev) < 0)
			return APP_EXIT_FAIL;
		if (!strcmp(cmd, "assemble"))
			printf("assembled: ");
	} else if ((!strcmp(cmd, "fail") && n == 2) ||
		   (!strcmp(cmd, "rebuild") && (n == 1 || n == 3))) {
		if (open_array(pos[0], "", &dev) < 0)
			return APP_EXIT_FAIL;
		rc = cmd[0] == 'f' ? do_fail(dev, pos[1]) : do_rebuild(dev, n - 1, pos + 1, rate);
		weir_blk_close(dev);
		return rc;
	} else {
		return usage(stderr);
	}
	if (status_of(dev, &st) < 0)
		rc = APP_EXIT_USAGE;
	else if (json)
		print_json(stdout, &st);
	else
		print_status(stdout, &st);
	weir_blk_close(dev);
	return rc;
}
