// SPDX-License-Identifier: BSD-3-Clause
/*
 * The scheduler's tree, its classful and shaping qdiscs, and DQL, under a
 * synthetic clock: the spec parser (good trees build, bad ones are refused
 * naming the token), fifo limits, prio's strict order, DRR's byte shares,
 * tbf's rate over 10 simulated seconds, mq (also driven from two threads),
 * config files, DQL convergence.
 * CoDel and fq_codel are in test_qdisc_codel.c. Every test ends with no
 * packet buffer in use.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "weir/dql.h"

#include "qdisc_helpers.h"

TestSuite(qdisc, .init = pool_setup, .fini = pool_teardown);

/* --- parser ------------------------------------------------------------ */

Test(qdisc, good_specs_build)
{
	static const char *const specs[] = {
		"fifo",
		"fifo limit 10 drop head",
		"fifo bytes 64k",
		"tbf rate 100mbit burst 32k / fq_codel target 5ms interval 100ms",
		"tbf rate 1gbit burst 64kb peakrate 2gbit mtu 9000 overhead 24 / codel ecn",
		"prio { fifo ; fq_codel ; fq_codel }",
		"prio bands 4 priomap 3 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1 classify dscp / fifo limit 50",
		"tbf rate 100mbit / prio { fifo ; tbf rate 10mbit / fq_codel ; fq_codel noecn }",
		"drr classes 4 quanta 1514,3000,1514,600 classify priority / fifo",
		"drr flows 1024 quantum 1514 perturb 10s",
		"mq queues 4 / fq_codel flows 256",
		"mq { fq_codel ; tbf rate 5mbit ; }",
		"  fq_codel  limit 100 flows 16 quantum 300 memory_limit 1mb drop_batch 8 ce_threshold 1ms ",
	};

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct weir_qdisc *q = mkq(specs[i]);
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		weir_qdisc_dump(q, f, 0);
		weir_qdisc_dump(q, f, 1);
		fclose(f);
		cr_expect(strstr(buf, "qdisc ") != NULL, "%s", buf);
		cr_expect(strstr(buf, "\"kind\":") != NULL, "%s", buf);
		free(buf);
		weir_qdisc_destroy(q);
	}
}

Test(qdisc, tree_shape)
{
	struct weir_qdisc *q = mkq("tbf rate 100mbit / prio bands 3 / fq_codel");
	struct weir_qdisc *pr = weir_qdisc_child(q, 0);

	cr_assert_str_eq(weir_qdisc_kind(q), "tbf");
	cr_assert_eq(weir_qdisc_nb_children(q), 1);
	cr_assert_str_eq(weir_qdisc_kind(pr), "prio");
	cr_assert_eq(weir_qdisc_nb_children(pr), 3);
	for (uint32_t i = 0; i < 3; i++)
		cr_assert_str_eq(weir_qdisc_kind(weir_qdisc_child(pr, i)), "fq_codel");
	cr_assert_null(weir_qdisc_child(pr, 3));
	weir_qdisc_destroy(q);
	q = mkq("prio");
	cr_assert_eq(weir_qdisc_nb_children(q), 3);
	cr_assert_str_eq(weir_qdisc_kind(weir_qdisc_child(q, 2)), "fifo");
	weir_qdisc_destroy(q);
}

struct bad {
	const char *spec;
	const char *want; /* substring of the message */
};

Test(qdisc, bad_specs_refused_precisely)
{
	static const struct bad bad[] = {
		{ "", "empty spec" },
		{ "bogus", "'bogus' at column 1: unknown qdisc kind" },
		{ "tbf rate 0", "'0' at column 10: rate must be > 0" },
		{ "tbf burst 32k", "tbf needs a rate" },
		{ "tbf rate fast", "rate expects a rate, e.g. 100mbit" },
		{ "tbf rate 100mbit burst 100", "below one full-size frame" },
		{ "tbf rate 100mbit peakrate 50mbit", "peakrate must be above rate" },
		{ "tbf rate 100mbit { fifo ; fifo }", "tbf takes one child" },
		{ "fq_codel targt 5ms", "'targt' at column 10: unknown fq_codel parameter (expected one of: limit" },
		{ "fq_codel target", "target expects a time" },
		{ "fq_codel target 5 parsecs", "'parsecs'" },
		{ "fq_codel target 5parsecs", "target expects a time" },
		{ "fq_codel target 200ms interval 100ms", "target must be below interval" },
		{ "fq_codel limit 999999999", "limit out of range" },
		{ "fq_codel flows 0", "flows must be > 0" },
		{ "fq_codel memory_limit 100", "memory_limit out of range" },
		{ "fifo limit 0", "limit must be > 0" },
		{ "fifo limit -5", "limit expects a whole number" },
		{ "fifo drop middle", "drop must be one of: tail, head" },
		{ "fifo / fq_codel", "fifo is classless" },
		{ "fifo fq_codel", "a child qdisc goes after '/'" },
		{ "fq_codel { fifo }", "fq_codel is classless" },
		{ "prio bands 3 { fifo ; fifo }", "prio has bands 3 but 2 children" },
		{ "prio { fifo ; fifo", "expected ';' between children or '}'" },
		{ "prio { fifo fifo }", "a child qdisc goes after '/'" },
		{ "prio priomap 1 2 3", "priomap needs 16 entries" },
		{ "prio priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 16", "priomap entries must be in 0..15" },
		{ "prio bands 2 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 2", "only 2 bands" },
		{ "prio bands 99", "bands out of range" },
		{ "drr classes 3 quanta 100,200", "drr has 3 classes but quanta lists 2" },
		{ "tbf rate 1mbit / mq", "mq must be the root" },
		{ "fifo }", "'}' without a matching '{'" },
		{ "fifo ; fifo", "';' separates children only inside { }" },
		{ "tbf rate 1mbit /", "at end of spec: expected a qdisc kind" },
		{ "prio { }", "'}' at column 8: expected a qdisc kind" },
		{ "tbf rate 1mbit / tbf rate 1mbit / tbf rate 1mbit / tbf rate 1mbit / tbf rate 1mbit / "
		  "tbf rate 1mbit / tbf rate 1mbit / tbf rate 1mbit / fifo",
		  "deeper than 8" },
		{ "drr classes 65536 / drr classes 65536", "more than" },
		/* Refused after the first class's subtree, not after building
		 * 65536 qdiscs (found by fuzz_qdisc_config as a slow unit). */
		{ "drr flows 64 / drr flows 64 / drr flows 64",
		  "more than 65536 qdiscs in one tree (64 classes of 4161 qdiscs each)" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct weir_qdisc *q = NULL;
		char why[512] = "";
		int r = weir_qdisc_create(bad[i].spec, &q, why, sizeof(why));

		cr_expect_eq(r, -EINVAL, "'%s' was accepted (r=%d)", bad[i].spec, r);
		cr_expect_null(q);
		cr_expect(strstr(why, bad[i].want) != NULL, "'%s': got \"%s\", want \"%s\"",
			  bad[i].spec, why, bad[i].want);
		if (q)
			weir_qdisc_destroy(q);
	}
}

/* Random and garbled specs (a plain test standing in for a fuzzer): every
 * one is either built or refused with a message, never crashes or leaks. */
Test(qdisc, garbled_specs_never_crash)
{
	static const char *const words[] = {
		"tbf", "rate", "100mbit", "burst", "32k", "/", "{", "}", ";", "fq_codel", "prio",
		"drr", "fifo", "mq", "codel", "limit", "0", "1", "99999999999999999999", "target",
		"5ms", "interval", "bands", "3", "priomap", "quanta", "1,2,,3", "ecn", "noecn",
		"-1", "1e308mbit", "nan", "inf", "0x10", "\xff\xfe", "classes", "flows", "perturb",
		"peakrate", "mtu", "%s%n", "queues", "drop", "head",
	};
	unsigned seed = 12345;
	int built = 0;

	for (int n = 0; n < 20000; n++) {
		char spec[512] = "";
		int nw = (int)(rand_r(&seed) % 12) + 1;
		struct weir_qdisc *q = NULL;
		char why[256] = "";
		int r;

		for (int w = 0; w < nw; w++) {
			const char *wd = words[rand_r(&seed) % (sizeof(words) / sizeof(words[0]))];

			strncat(spec, wd, sizeof(spec) - strlen(spec) - 2);
			if (rand_r(&seed) % 4)
				strcat(spec, " ");
		}
		if (rand_r(&seed) % 8 == 0 && strlen(spec) > 2)
			spec[rand_r(&seed) % strlen(spec)] = (char)(rand_r(&seed) % 255 + 1);
		r = weir_qdisc_create(spec, &q, why, sizeof(why));
		if (r == 0) {
			struct weir_pkt *p = mk_udp(1, 100, 0);

			built++;
			weir_qdisc_enqueue(q, p, 0);
			weir_qdisc_destroy(q);
		} else {
			cr_assert(r == -EINVAL && why[0], "'%s': r=%d why='%s'", spec, r, why);
			cr_assert_null(q);
		}
	}
	cr_expect(built > 100, "only %d of the random specs were valid", built);
}

/* --- fifo ---------------------------------------------------------------- */

Test(qdisc, fifo_tail_drop_limit_and_order)
{
	struct weir_qdisc *q = mkq("fifo limit 10");
	struct weir_qdisc_stats st;
	int dropped = 0;

	for (int i = 0; i < 15; i++)
		dropped += weir_qdisc_enqueue(q, mk_udp((uint16_t)i, 100, 0), 0) == WEIR_QDISC_DROPPED;
	cr_assert_eq(dropped, 5);
	weir_qdisc_stats_get(q, &st);
	cr_assert_eq(st.backlog_pkts, 10);
	cr_assert_eq(st.backlog_bytes, 1000);
	cr_assert_eq(st.drops, 5);
	cr_assert_eq(st.drops_limit, 5);
	for (int i = 0; i < 10; i++) {
		struct weir_pkt *p = weir_qdisc_dequeue(q, 1, NULL);

		cr_assert_not_null(p);
		cr_assert_eq(p->udata64, (uint64_t)i, "order");
		weir_pkt_free(p);
	}
	cr_assert_null(weir_qdisc_dequeue(q, 1, NULL));
	weir_qdisc_stats_get(q, &st);
	cr_assert_eq(st.packets, 10);
	cr_assert_eq(st.backlog_pkts, 0);
	weir_qdisc_destroy(q);
}

Test(qdisc, fifo_head_drop_keeps_newest_and_byte_limit)
{
	struct weir_qdisc *q = mkq("fifo limit 4 drop head");
	struct weir_pkt *p;

	for (int i = 0; i < 10; i++)
		weir_qdisc_enqueue(q, mk_udp((uint16_t)i, 100, 0), 0);
	p = weir_qdisc_peek(q, 0);
	cr_assert_eq(p->udata64, 6);
	weir_qdisc_reset(q);
	cr_assert_null(weir_qdisc_peek(q, 0));
	weir_qdisc_destroy(q);

	q = mkq("fifo limit 1000 bytes 1000");
	for (int i = 0; i < 20; i++)
		weir_qdisc_enqueue(q, mk_udp((uint16_t)i, 300, 0), 0);
	{
		struct weir_qdisc_stats st;

		weir_qdisc_stats_get(q, &st);
		cr_assert_eq(st.backlog_bytes, 900);
		cr_assert_eq(st.drops, 17);
	}
	weir_qdisc_destroy(q); /* frees what is queued */
}

/* --- prio ---------------------------------------------------------------- */

Test(qdisc, prio_strict_order)
{
	/* priority field 0..15 -> Linux priomap -> bands; band 0 first. */
	struct weir_qdisc *q = mkq("prio");
	static const uint8_t prios[] = { 0, 1, 6, 2, 7, 4, 0, 6, 1, 2 };
	int last_band = -1;

	for (size_t i = 0; i < sizeof(prios); i++) {
		struct weir_pkt *p = mk_udp((uint16_t)i, 100, 0);

		p->priority = prios[i];
		cr_assert_neq(weir_qdisc_enqueue(q, p, 0), WEIR_QDISC_DROPPED);
	}
	for (size_t i = 0; i < sizeof(prios); i++) {
		static const int band_of[16] = { 1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1 };
		struct weir_pkt *p = weir_qdisc_dequeue(q, 0, NULL);
		int band;

		cr_assert_not_null(p);
		band = band_of[p->priority];
		cr_assert_geq(band, last_band, "band %d after band %d", band, last_band);
		last_band = band;
		weir_pkt_free(p);
	}
	cr_assert_null(weir_qdisc_dequeue(q, 0, NULL));
	weir_qdisc_destroy(q);
}

Test(qdisc, prio_dscp_classifier_under_load)
{
	/* EF (46) -> band 0, CS0 -> band 2: EF always leaves first even when
	 * it arrives behind a long bulk queue. */
	struct weir_qdisc *q = mkq("prio bands 3 classify dscp priomap 2 2 1 1 1 1 1 1 1 1 1 0 0 0 0 0");
	int served_ef = 0;

	for (int i = 0; i < 100; i++)
		weir_qdisc_enqueue(q, mk_udp(1, 1000, 0), 0);
	for (int i = 0; i < 5; i++)
		weir_qdisc_enqueue(q, mk_udp(2, 100, 46 << 2), 0);
	for (int i = 0; i < 105; i++) {
		struct weir_pkt *p = weir_qdisc_dequeue(q, 0, NULL);

		if (i < 5)
			cr_assert_eq(p->udata64, 2, "packet %d is not EF", i);
		served_ef += p->udata64 == 2;
		weir_pkt_free(p);
	}
	cr_assert_eq(served_ef, 5);
	weir_qdisc_destroy(q);
}

/* Senders pick their band with dscp: a flood marked EF starves the rest
 * under plain strict priority; with the band capped by a tbf child (the
 * [qdisc diffserv3-capped] example), best effort still gets the link.
 * One simulated second at 1 Gbit/s; EF offered at 1.2 Gbit/s. */
static double best_effort_share(const char *spec)
{
	struct weir_qdisc *q = mkq(spec);
	double be = 0, all = 0;
	weir_ns_t now = 0, link_free = 0;

	for (int step = 0; step < 100000; step++, now += 10 * WEIR_NS_PER_US) {
		weir_ns_t due = 0;
		struct weir_pkt *p;

		weir_qdisc_enqueue(q, mk_udp(2, 1500, 46 << 2), now); /* EF: 1.2 Gbit/s */
		if (step % 4 == 0)
			weir_qdisc_enqueue(q, mk_udp(1, 1500, 0), now); /* best effort */
		while (!weir_time_after(link_free, now) && (p = weir_qdisc_dequeue(q, now, &due))) {
			link_free = (link_free > now ? link_free : now) + p->pkt_len * 8; /* 1 Gbit/s */
			all += p->pkt_len;
			be += p->udata64 == 1 ? p->pkt_len : 0;
			weir_pkt_free(p);
		}
	}
	weir_qdisc_destroy(q);
	return all > 0 ? be / all : 0;
}

Test(qdisc, prio_dscp_band_cap_stops_a_flood_marked_ef)
{
	double open = best_effort_share("prio bands 3 classify dscp priomap 1 1 2 2 1 1 1 1 1 1 1 0 0 0 0 0 "
					"{ fifo limit 64 ; fifo limit 1000 ; fifo limit 1000 }");
	double capped = best_effort_share("prio bands 3 classify dscp priomap 1 1 2 2 1 1 1 1 1 1 1 0 0 0 0 0 "
					  "{ tbf rate 100mbit burst 16k / fifo limit 64 ; fifo limit 1000 ; "
					  "fifo limit 1000 }");

	cr_expect_lt(open, 0.01, "uncapped: best effort got %.1f%% of the link", open * 100);
	cr_expect_gt(capped, 0.5, "capped at 100 Mbit/s: best effort got only %.1f%%", capped * 100);
}

/* --- drr ----------------------------------------------------------------- */

Test(qdisc, drr_shares_by_quanta)
{
	struct weir_qdisc *q = mkq("drr classes 3 quanta 1000,2000,4000 classify priority / fifo limit 10000");
	double bytes[3] = { 0 };

	for (int i = 0; i < 3000; i++)
		for (uint8_t c = 0; c < 3; c++) {
			struct weir_pkt *p = mk_udp(c, 500, 0);

			p->priority = c;
			weir_qdisc_enqueue(q, p, 0);
		}
	for (int i = 0; i < 3500; i++) {
		struct weir_pkt *p = weir_qdisc_dequeue(q, 0, NULL);

		bytes[p->priority] += p->pkt_len;
		weir_pkt_free(p);
	}
	cr_expect(fabs(bytes[1] / bytes[0] - 2) < 0.02, "1:2 share, got %f", bytes[1] / bytes[0]);
	cr_expect(fabs(bytes[2] / bytes[0] - 4) < 0.04, "1:4 share, got %f", bytes[2] / bytes[0]);
	weir_qdisc_destroy(q);
}

Test(qdisc, drr_jain_16_bulk_flows)
{
	/* Equal quanta, very different packet sizes: DRR shares bytes, not
	 * packets, so 16 backlogged flows get equal bandwidth. */
	struct weir_qdisc *q = mkq("drr classes 16 quantum 1514 classify priority / fifo limit 10000");
	double bytes[16] = { 0 };
	double j;

	for (int i = 0; i < 600; i++)
		for (uint8_t c = 0; c < 16; c++) {
			struct weir_pkt *p = mk_udp(c, 64 + c * 90u, 0);

			p->priority = c;
			weir_qdisc_enqueue(q, p, 0);
		}
	/* Serve while every flow is still backlogged. */
	for (int i = 0; i < 2000; i++) {
		struct weir_pkt *p = weir_qdisc_dequeue(q, 0, NULL);

		bytes[p->priority] += p->pkt_len;
		weir_pkt_free(p);
	}
	j = jain(bytes, 16);
	cr_expect_geq(j, 0.99, "Jain's index %f", j);
	weir_qdisc_destroy(q);
}

Test(qdisc, drr_sfq_hash_separates_flows)
{
	/* sfq-style: flows hash to classes; one heavy flow cannot starve a
	 * light one sharing the qdisc. */
	struct weir_qdisc *q = mkq("drr flows 1024 perturb 1s / fifo limit 2000");
	int light_seen = 0;

	for (int i = 0; i < 1000; i++)
		weir_qdisc_enqueue(q, mk_udp(1000, 1500, 0), (weir_ns_t)i);
	for (int i = 0; i < 10; i++)
		weir_qdisc_enqueue(q, mk_udp(2000, 100, 0), 2000);
	for (int i = 0; i < 30; i++) {
		struct weir_pkt *p = weir_qdisc_dequeue(q, 3000, NULL);

		light_seen += p->udata64 == 2000;
		weir_pkt_free(p);
	}
	cr_expect_eq(light_seen, 10, "light flow got %d of its 10 packets in the first 30", light_seen);
	weir_qdisc_destroy(q);
}

/* --- tbf ----------------------------------------------------------------- */

Test(qdisc, tbf_rate_within_1pct_over_10s)
{
	static const char *const specs[] = {
		"tbf rate 100mbit burst 32k / fifo limit 2000",
		"tbf rate 10mbit burst 16k / fq_codel",
		"tbf rate 1gbit burst 64k peakrate 2gbit mtu 1514 / fifo limit 2000",
	};
	static const double rates[] = { 100e6, 10e6, 1e9 };

	for (int s = 0; s < 3; s++) {
		struct weir_qdisc *q = mkq(specs[s]);
		weir_ns_t now = 0, end = 10 * WEIR_NS_PER_SEC, first = 0, last = 0;
		double sent = 0;
		bool started = false;
		struct weir_qdisc_stats st;

		while (now < end) {
			weir_ns_t due = 0;
			struct weir_pkt *p;

			/* Keep the queue full of 1000-byte frames. */
			while (weir_qdisc_stats_get(q, &st), st.backlog_pkts < 200)
				weir_qdisc_enqueue(q, mk_udp((uint16_t)(st.backlog_pkts % 4), 1000, 0), now);
			p = weir_qdisc_dequeue(q, now, &due);
			if (p) {
				/* Measure after the initial burst drained. */
				if (!started && now > WEIR_NS_PER_SEC / 10) {
					started = true;
					first = now;
				} else if (started) {
					sent += p->pkt_len;
					last = now;
				}
				weir_pkt_free(p);
				continue;
			}
			cr_assert(due > now, "shaper gave no due time");
			now = due;
		}
		{
			double rate = sent * 8 / ((double)(last - first) / 1e9);

			cr_expect(fabs(rate / rates[s] - 1) < 0.01, "%s: %.0f bit/s", specs[s], rate);
		}
		weir_qdisc_stats_get(q, &st);
		cr_expect_gt(st.overlimits, 0);
		weir_qdisc_destroy(q);
	}
}

/* Bytes a backlogged tbf sends in 100 ms when its dequeuer stalls 10 ms at
 * 50 ms (4x the 32k burst's 2.6 ms), and the capped_ns its dump reports. */
static double tbf_stalled(const char *spec, double *capped_ms)
{
	struct weir_qdisc *q = mkq(spec);
	weir_ns_t now = 0, end = 100 * WEIR_NS_PER_MS;
	double sent = 0;
	struct weir_qdisc_stats st;
	char *dump = NULL, *at;
	size_t len;
	FILE *m;

	while (now < end) {
		weir_ns_t due = 0;
		struct weir_pkt *p;

		while (weir_qdisc_stats_get(q, &st), st.backlog_pkts < 200)
			weir_qdisc_enqueue(q, mk_udp(1, 1000, 0), now);
		p = weir_qdisc_dequeue(q, now, &due);
		if (p) {
			sent += p->pkt_len;
			weir_pkt_free(p);
			continue;
		}
		now = due;
		if (now >= 50 * WEIR_NS_PER_MS && now < 60 * WEIR_NS_PER_MS)
			now = 60 * WEIR_NS_PER_MS; /* descheduled */
	}
	m = open_memstream(&dump, &len);
	weir_qdisc_dump(q, m, 1);
	fclose(m);
	at = strstr(dump, "\"capped_ns\":");
	cr_assert_not_null(at, "no capped_ns in %s", dump);
	*capped_ms = strtod(at + strlen("\"capped_ns\":"), NULL) / 1e6;
	free(dump);
	weir_qdisc_destroy(q);
	return sent;
}

Test(qdisc, tbf_late_dequeuer_capped_and_catchup)
{
	/* 100 ms at 12.5 MB/s plus the 32 KiB burst. Without catchup the
	 * stall costs 10 ms - 2.6 ms of link, counted. */
	const double full = 0.1 * 12.5e6 + 32768;
	double capped, capped_cu, plain, cu;

	plain = tbf_stalled("tbf rate 100mbit burst 32k / fifo limit 2000", &capped);
	cu = tbf_stalled("tbf rate 100mbit burst 32k catchup 20ms / fifo limit 2000", &capped_cu);
	cr_expect(capped > 7.0 && capped < 7.8, "capped %.2f ms, want ~7.4", capped);
	cr_expect(plain < full - 0.0070 * 12.5e6, "plain tbf sent %.0f B of %.0f", plain, full);
	cr_expect(capped_cu < 0.01, "catchup still capped %.3f ms", capped_cu);
	cr_expect(cu > full - 2000 && cu <= full, "catchup sent %.0f B, want ~%.0f", cu, full);
}

Test(qdisc, tbf_burst_then_pacing_and_oversize_drop)
{
	struct weir_qdisc *q = mkq("tbf rate 8mbit burst 10k mtu 1514 / fifo");
	weir_ns_t due = 0;
	int n = 0;

	/* 1 MB/s: a 10 KiB bucket lets 10 x 1000 B through at once. */
	for (int i = 0; i < 20; i++)
		weir_qdisc_enqueue(q, mk_udp(1, 1000, 0), 0);
	while (1) {
		struct weir_pkt *p = weir_qdisc_dequeue(q, 0, &due);

		if (!p)
			break;
		n++;
		weir_pkt_free(p);
	}
	cr_assert_eq(n, 10);
	cr_assert_gt(due, 0);
	cr_assert_null(weir_qdisc_dequeue(q, due - 1, NULL));
	weir_pkt_free(weir_qdisc_dequeue(q, due, NULL));
	weir_qdisc_destroy(q);

	q = mkq("tbf rate 8mbit burst 1000 mtu 1000");
	cr_assert_eq(weir_qdisc_enqueue(q, mk_udp(1, 1001, 0), 0), WEIR_QDISC_DROPPED);
	cr_assert_eq(weir_qdisc_enqueue(q, mk_udp(1, 1000, 0), 0), WEIR_QDISC_QUEUED);
	weir_qdisc_destroy(q);
}

/* --- mq ------------------------------------------------------------------ */

Test(qdisc, mq_one_root_per_queue)
{
	struct weir_qdisc *q = mkq("mq queues 4 / fifo limit 5");
	struct weir_qdisc_stats st;

	for (int i = 0; i < 40; i++) {
		struct weir_pkt *p = mk_udp((uint16_t)i, 100, 0);

		p->queue = (uint16_t)(i % 4);
		weir_qdisc_enqueue(q, p, 0);
	}
	for (uint32_t i = 0; i < 4; i++) {
		weir_qdisc_stats_get(weir_qdisc_child(q, i), &st);
		cr_assert_eq(st.backlog_pkts, 5);
		cr_assert_eq(st.drops, 5);
	}
	/* Driving a child directly keeps the root's counters right. */
	weir_pkt_free(weir_qdisc_dequeue(weir_qdisc_child(q, 2), 0, NULL));
	weir_qdisc_stats_get(q, &st);
	cr_assert_eq(st.backlog_pkts, 19);
	cr_assert_eq(st.drops, 20);
	weir_qdisc_destroy(q);
}

/* A pure peek through mq leaves the packet, and the counts, in its child. */
Test(qdisc, mq_peek_leaves_counts_in_the_child)
{
	struct weir_qdisc *q = mkq("mq queues 2 / fifo");
	struct weir_qdisc_stats st;
	struct weir_pkt *head;

	for (uint16_t i = 0; i < 3; i++) {
		struct weir_pkt *p = mk_udp(i, 100, 0);

		p->queue = i;
		cr_assert_eq(weir_qdisc_enqueue(q, p, 0), WEIR_QDISC_QUEUED);
	}
	head = weir_qdisc_peek(q, 0);
	cr_assert_not_null(head);
	weir_qdisc_stats_get(q, &st);
	cr_expect_eq(st.backlog_pkts, 3);
	cr_expect_eq(st.packets, 0);
	cr_assert_eq(weir_qdisc_dequeue(q, 0, NULL), head);
	weir_pkt_free(head);
	weir_qdisc_stats_get(q, &st);
	cr_expect_eq(st.backlog_pkts, 2);
	cr_expect_eq(st.packets, 1);
	cr_expect_eq(st.bytes, 100);
	weir_qdisc_destroy(q);
}

/* One lcore's view of its TX queue: a child of the mq, driven directly. */
struct mq_driver {
	struct weir_qdisc *child;
	uint16_t queue;
	uint64_t tried, sent, sent_bytes, no_buffer;
};

static void *mq_drive(void *arg)
{
	struct mq_driver *d = arg;

	/* No cr_assert here: Criterion asserts only on the test's thread. */
	for (uint32_t i = 0; i < 200000; i++) {
		struct weir_pkt *p = weir_pkt_alloc(pool);
		uint16_t len = (uint16_t)(60 + (i % 8) * 100);

		if (!p || !weir_pkt_put(p, len)) {
			d->no_buffer++;
			if (p)
				weir_pkt_free(p);
			continue;
		}
		p->queue = d->queue;
		d->tried++;
		weir_qdisc_enqueue(d->child, p, i);
		/* Two dequeues per three arrivals: the queue fills and drops. */
		if (i % 3 == 0)
			continue;
		p = weir_qdisc_dequeue(d->child, i, NULL);
		if (p) {
			d->sent++;
			d->sent_bytes += p->pkt_len;
			weir_pkt_free(p);
		}
	}
	return NULL;
}

/*
 * Bug: every child of an mq, each driven by its own lcore, also wrote the
 * mq's counters (a data race: updates were lost). Now mq sums its children
 * when read. Two threads drive one child each; once they stop, the mq's
 * stats are exactly its children's summed, and what the threads counted.
 */
Test(qdisc, mq_children_on_two_threads_never_write_the_roots_counters)
{
	struct weir_qdisc *q = mkq("mq { fifo limit 64 ; fq_codel limit 64 drop_batch 4 }");
	struct mq_driver d[2] = { { .child = weir_qdisc_child(q, 0), .queue = 0 },
				  { .child = weir_qdisc_child(q, 1), .queue = 1 } };
	struct weir_qdisc_stats st, c[2];
	pthread_t th[2];
	char *buf = NULL, want[128];
	size_t len = 0;
	FILE *f;

	for (int i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, mq_drive, &d[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	weir_qdisc_stats_get(q, &st);
	for (int i = 0; i < 2; i++) {
		weir_qdisc_stats_get(d[i].child, &c[i]);
		cr_expect_eq(d[i].no_buffer, 0);
		cr_expect_gt(c[i].drops, 0, "child %d never dropped", i);
		cr_expect_eq(c[i].packets, d[i].sent, "child %d", i);
	}
	cr_expect_eq(st.packets, c[0].packets + c[1].packets);
	cr_expect_eq(st.bytes, c[0].bytes + c[1].bytes);
	cr_expect_eq(st.bytes, d[0].sent_bytes + d[1].sent_bytes);
	cr_expect_eq(st.backlog_pkts, c[0].backlog_pkts + c[1].backlog_pkts);
	cr_expect_eq(st.backlog_bytes, c[0].backlog_bytes + c[1].backlog_bytes);
	cr_expect_eq(st.drops, c[0].drops + c[1].drops);
	cr_expect_eq(st.drops_limit, c[0].drops_limit + c[1].drops_limit);
	/* Every packet offered is sent, dropped or still queued. */
	cr_expect_eq(st.packets + st.drops + st.backlog_pkts, d[0].tried + d[1].tried);
	cr_expect_eq(weir_pool_in_use(pool), st.backlog_pkts);
	/* The dump shows the same sums. */
	f = open_memstream(&buf, &len);
	weir_qdisc_dump(q, f, 0);
	fclose(f);
	snprintf(want, sizeof(want), "qdisc mq 1: root queues 2\n Sent %llu bytes %llu pkt (dropped %llu,",
		 (unsigned long long)st.bytes, (unsigned long long)st.packets,
		 (unsigned long long)st.drops);
	cr_expect(strncmp(buf, want, strlen(want)) == 0, "dump starts \"%.100s\", want \"%s\"", buf,
		  want);
	free(buf);
	weir_qdisc_destroy(q);
}

/* --- config file --------------------------------------------------------- */

Test(qdisc, config_file_sections)
{
	char path[] = "/tmp/weir-qdisc-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct weir_qdisc *q = NULL;
	char why[512];
	int r;

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "[port egress0]\nspec = ring:x\n\n[qdisc egress0]\n"
		   "tree = tbf rate 100mbit burst 32k /\n"
		   "  fq_codel target 5ms\n\n"
		   "[qdisc bad]\ntree = tbf rate 0\n\n[qdisc typo]\ntrees = fifo\n");
	fclose(f);
	r = weir_qdisc_create_from_config(path, "egress0", &q, why, sizeof(why));
	if (r == -ENOTSUP) {
		unlink(path);
		cr_skip_test("built without inih: %s", why);
	}
	cr_assert_eq(r, 0, "%s", why);
	cr_assert_str_eq(weir_qdisc_kind(q), "tbf");
	cr_assert_str_eq(weir_qdisc_kind(weir_qdisc_child(q, 0)), "fq_codel");
	weir_qdisc_destroy(q);

	r = weir_qdisc_create_from_config(path, "bad", &q, why, sizeof(why));
	cr_expect_eq(r, -EINVAL);
	cr_expect(strstr(why, "[qdisc bad]") && strstr(why, "rate must be > 0"), "%s", why);
	r = weir_qdisc_create_from_config(path, "typo", &q, why, sizeof(why));
	cr_expect_eq(r, -EINVAL);
	cr_expect(strstr(why, ":12: unknown key 'trees'"), "%s", why);
	r = weir_qdisc_create_from_config(path, "nosuch", &q, why, sizeof(why));
	cr_expect_eq(r, -ENOENT);
	cr_expect(strstr(why, "no section [qdisc nosuch]") && strstr(why, "qdisc egress0"), "%s", why);
	unlink(path);
	r = weir_qdisc_create_from_config(path, "egress0", &q, why, sizeof(why));
	cr_expect_eq(r, -ENOENT);
}

/* --- DQL ----------------------------------------------------------------- */

/*
 * A driver ring drained by a 1 Gbit/s link, completions every 50 us, the
 * stack filling the ring up to the DQL limit before each completion run.
 * The limit must grow from 0 until the link never starves, then settle
 * near what the link drains per interval (6250 B), not at the ring size.
 */
Test(qdisc, dql_converges_to_link_drain_per_interval)
{
	struct weir_dql dql;
	const uint64_t per_interval = 6250; /* 1 Gbit/s * 50 us */
	uint64_t in_ring = 0, sent = 0, starved = 0, late_starved = 0;
	weir_ns_t now = 0;

	weir_dql_init(&dql, 100 * WEIR_NS_PER_MS);
	for (int step = 0; step < 40000; step++) {
		uint32_t done;

		while (weir_dql_avail(&dql) >= 0) {
			weir_dql_queued(&dql, 1500);
			in_ring += 1500;
		}
		now += 50 * WEIR_NS_PER_US;
		done = (uint32_t)WEIR_MIN(in_ring, per_interval);
		if (done < per_interval) {
			starved++;
			if (step > 20000)
				late_starved++;
		}
		in_ring -= done;
		sent += done;
		weir_dql_completed(&dql, done, now);
	}
	cr_expect_gt(starved, 0, "never starved: the limit did not start small");
	cr_expect_lt(late_starved, 200, "link starved %llu times after settling",
		     (unsigned long long)late_starved);
	cr_expect_geq(dql.limit, per_interval, "limit %u below one interval", dql.limit);
	cr_expect_leq(dql.limit, 4 * per_interval, "limit %u is bloated", dql.limit);
	cr_expect_gt(sent, 0);
}

Test(qdisc, dql_shrinks_when_slack)
{
	struct weir_dql dql;
	weir_ns_t now = 0;
	uint64_t in_ring = 0;

	weir_dql_init(&dql, 10 * WEIR_NS_PER_MS);
	dql.limit = 200000; /* far too big for 6250 B per interval */
	dql.adj_limit = dql.limit;
	for (int step = 0; step < 20000; step++) {
		while (weir_dql_avail(&dql) >= 0) {
			weir_dql_queued(&dql, 1500);
			in_ring += 1500;
		}
		now += 50 * WEIR_NS_PER_US;
		{
			uint32_t done = (uint32_t)WEIR_MIN(in_ring, 6250);

			in_ring -= done;
			weir_dql_completed(&dql, done, now);
		}
	}
	cr_expect_lt(dql.limit, 30000, "limit stayed at %u", dql.limit);
}
