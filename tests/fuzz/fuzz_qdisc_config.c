// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: scheduler config files (qdisc/config.c over inih), fed
 * arbitrary bytes as the file -- a hand-edited or hostile config reaches
 * this parser. The input goes into a memfd read through /proc/self/fd, so
 * the real file path is exercised. Properties: a refusal carries a message;
 * a built tree destroys cleanly; nothing leaks (ASan/LSan in make test).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "weir/qdisc.h"

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fd = memfd_create("weir-fuzz-config", 0);
	if (fd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"egress", "a", ""};
	struct weir_qdisc *q = NULL;
	char why[512];

	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int r;

		why[0] = '\0';
		r = weir_qdisc_create_from_config(path, names[i], &q, why, sizeof(why));
		if (r == 0) {
			if (!q)
				abort();
			weir_qdisc_destroy(q);
			q = NULL;
		} else if (r == -ENOTSUP) {
			return 0; /* built without inih: nothing to fuzz */
		} else if (!why[0]) {
			abort(); /* every refusal says why */
		}
	}
	return 0;
}
