// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: arbitrary bytes as a capture file, through the pcap:
 * driver's whole read path (pmd/pcap.c: libpcap's pcap and pcapng
 * readers, the frame-to-chain copy, loops, damage handling). The bytes go
 * into a memfd that the port opens by its /proc/self/fd path, replayed
 * twice over (loop=2) at full speed.
 *
 * Properties beyond "does not crash, read out of bounds or leak": a
 * refused file comes with a message; every packet is a well-formed chain
 * (segment lengths add up to pkt_len, nb_segs counts them); the second
 * pass hands out what the first did; and what was received, written back
 * with weir's pcapng writer (src/pcapng.c) and replayed, is the same
 * frames again. Every packet buffer is back in the pool after each input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "weir/lcore.h"
#include "weir/log.h"
#include "weir/pcapng.h"
#include "weir/pkt.h"
#include "weir/port.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_KEEP 64 /* frames compared across passes and the round trip */

static struct weir_pool *pool;

struct frames {
	uint8_t *data[MAX_KEEP];
	uint32_t len[MAX_KEEP];
	int n;     /* all frames seen */
	int kept;  /* the first MAX_KEEP, copied */
};

static void frames_free(struct frames *f)
{
	for (int i = 0; i < f->kept; i++)
		free(f->data[i]);
}

static int memfd_with(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz_pcap", MFD_CLOEXEC);

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	return fd;
}

static uint64_t xstat(struct weir_port *port, const char *name)
{
	struct weir_xstat xs[32];
	int n = weir_port_xstats_get(port, xs, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (!strcmp(xs[i].name, name))
			return xs[i].value;
	abort();
}

static void check_chain(const struct weir_pkt *p)
{
	uint64_t sum = 0;
	int segs = 0;

	for (const struct weir_pkt *s = p; s; s = s->next, segs++)
		sum += s->data_len;
	if (sum != p->pkt_len || segs != p->nb_segs || p->pkt_len == 0)
		abort();
}

/* Replays fd until the port says it is done; every frame into f. Returns
 * -1 when the port refuses the file, 1 when it found damage, else 0. */
static int replay(int fd, const char *args, struct frames *f)
{
	int damaged;
	char spec[128], why[256];
	struct weir_port *port;
	struct weir_pkt *pkts[32];

	snprintf(spec, sizeof(spec), "pcap:/proc/self/fd/%d?speed=max%s", fd, args);
	why[0] = '\0';
	if (weir_port_open(spec, &(struct weir_port_conf){.pool = pool}, &port, why,
			   sizeof(why)) < 0) {
		if (!why[0])
			abort(); /* refused without saying why */
		return -1;
	}
	for (int spins = 0; spins < 1000000; spins++) {
		uint16_t got = weir_port_rx_burst(port, 0, pkts, 32);

		for (uint16_t i = 0; i < got; i++, f->n++) {
			check_chain(pkts[i]);
			if (f->kept < MAX_KEEP) {
				f->len[f->kept] = pkts[i]->pkt_len;
				f->data[f->kept] = malloc(pkts[i]->pkt_len);
				if (!f->data[f->kept] ||
				    weir_pkt_copy_out(pkts[i], 0, pkts[i]->pkt_len, f->data[f->kept]))
					abort();
				f->kept++;
			}
		}
		weir_pkt_free_bulk(pkts, got);
		if (!got && xstat(port, "replay_done"))
			break;
	}
	if (!xstat(port, "replay_done"))
		abort(); /* a finite file that never ends */
	damaged = (int)xstat(port, "replay_damaged");
	weir_port_close(port);
	return damaged;
}

static void same_frames(const struct frames *a, const struct frames *b, int n)
{
	for (int i = 0; i < n && i < a->kept && i < b->kept; i++)
		if (a->len[i] != b->len[i] || memcmp(a->data[i], b->data[i], a->len[i]))
			abort();
}

/* Writes f's kept frames as pcapng into a memfd; returns the fd. */
static int write_back(const struct frames *f)
{
	int fd = memfd_create("fuzz_pcap_out", MFD_CLOEXEC), dup_fd;
	struct weir_pcapng *w;
	char why[256];

	if (fd < 0 || (dup_fd = dup(fd)) < 0)
		abort();
	if (weir_pcapng_fdopen(dup_fd, "memfd", NULL, &w, why, sizeof(why)) ||
	    weir_pcapng_add_if(w, &(struct weir_pcapng_if){.name = "fuzz"}) != 0)
		abort();
	for (int i = 0; i < f->kept; i++)
		if (weir_pcapng_write_data(w, 0, (weir_ns_t)i, f->data[i], f->len[i], f->len[i],
					   WEIR_PCAPNG_DIR_IN))
			abort();
	if (weir_pcapng_close(w))
		abort();
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frames once = {0}, twice = {0}, back = {0};
	int fd, out, rc;

	if (!pool) {
		weir_lcore_set_id(WEIR_LCORE_ANY);
		weir_log_set_level(WEIR_LOG_ERR); /* damage warnings are the point */
		if (weir_pool_create(&(struct weir_pool_conf){.n = 1024, .huge = 2}, &pool))
			abort();
	}
	fd = memfd_with(data, size);
	rc = replay(fd, "", &once);
	if (rc >= 0) {
		/* Damage ends the replay: no second pass over a damaged file. */
		if (replay(fd, "&loop=2", &twice) != rc || twice.n != (rc ? 1 : 2) * once.n)
			abort();
		same_frames(&once, &twice, once.n);
		out = write_back(&once);
		if (replay(out, "", &back) != 0 || back.n != once.kept)
			abort();
		same_frames(&once, &back, once.kept);
		close(out);
	}
	close(fd);
	frames_free(&once);
	frames_free(&twice);
	frames_free(&back);
	weir_pool_cache_flush(pool, WEIR_LCORE_ANY);
	if (weir_pool_in_use(pool))
		abort();
	return 0;
}
