// SPDX-License-Identifier: BSD-3-Clause
/*
 * weir-cap's files: which file the output goes to. Without rotation it is
 * -w FILE itself (or stdout for -w -). With -C, -G or -W, and from the
 * first SIGHUP on, each file is named like dumpcap's,
 * PREFIX_NNNNN_YYYYmmddHHMMSS.EXT (from -w PREFIX.EXT: a sequence number
 * from 1 and the file's start time in UTC; for -G the boundary it starts
 * at). -W N keeps only the last N files: opening file k removes file k-N.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cap/cap.h"

static void make_name(struct cap_out *o, weir_ns_t start)
{
	const char *slash = strrchr(o->path, '/');
	const char *dot = strrchr(slash ? slash + 1 : o->path, '.');
	int plen = dot && dot != (slash ? slash + 1 : o->path) ? (int)(dot - o->path)
							       : (int)strlen(o->path);
	time_t t = (time_t)(start / WEIR_NS_PER_SEC);
	struct tm tm;
	char when[32];

	gmtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y%m%d%H%M%S", &tm);
	snprintf(o->name, sizeof(o->name), "%.*s_%05llu_%s%s", plen, o->path,
		 (unsigned long long)o->seq, when, plen < (int)strlen(o->path) ? o->path + plen : "");
}

/* -W: remember this file's name, removing the one it replaces. */
static int ring_slot(struct cap_out *o)
{
	char **slot;

	if (!o->ring_files)
		return 0;
	if (!o->ring_names) {
		o->ring_names = calloc(o->ring_files, sizeof(*o->ring_names));
		if (!o->ring_names)
			return -ENOMEM;
	}
	slot = &o->ring_names[o->seq % o->ring_files];
	if (*slot) {
		unlink(*slot);
		free(*slot);
	}
	*slot = strdup(o->name);
	return *slot ? 0 : -ENOMEM;
}

int cap_files_open(struct cap_out *o, weir_ns_t now)
{
	weir_ns_t start = now;
	struct stat st;
	int err;

	if (o->err)
		return o->err;
	o->seq++;
	o->off = 0;
	o->file_frames = 0;
	if (o->rot_ns) {
		start = now / o->rot_ns * o->rot_ns;
		o->next_rot = start + o->rot_ns;
	}
	if (!strcmp(o->path, "-")) {
		o->fd = STDOUT_FILENO;
		snprintf(o->name, sizeof(o->name), "stdout");
		o->can_truncate = false;
		o->files++;
		return 0;
	}
	if (o->named)
		make_name(o, start);
	else
		snprintf(o->name, sizeof(o->name), "%s", o->path);
	if ((err = ring_slot(o)) < 0)
		goto fail;
	o->fd = open(o->name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		err = -errno;
		goto fail;
	}
	o->can_truncate = fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode);
	o->files++;
	return 0;
fail:
	o->fd = -1;
	o->err = err;
	snprintf(o->errmsg, sizeof(o->errmsg), "%s: cannot create: %s (check that the directory "
		 "exists and is writable, or give another -w)", o->name, strerror(-err));
	return err;
}

void cap_files_close(struct cap_out *o)
{
	if (o->fd > STDOUT_FILENO)
		close(o->fd);
	o->fd = -1;
}

void cap_files_free(struct cap_out *o)
{
	for (uint32_t i = 0; o->ring_names && i < o->ring_files; i++)
		free(o->ring_names[i]);
	free(o->ring_names);
	o->ring_names = NULL;
}
