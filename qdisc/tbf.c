// SPDX-License-Identifier: BSD-3-Clause
/*
 * tbf: a token-bucket shaper with one child. Tokens are kept, as in
 * Linux's sch_tbf.c, as nanoseconds of transmission time at `rate`: the
 * bucket fills with elapsed time up to `burst` worth, and a packet leaves
 * when the bucket holds its transmission time. An optional second bucket
 * at `peakrate` (depth `mtu`) caps how fast a burst drains. When the head
 * packet must wait, dequeue returns NULL and says when it will be due,
 * so a caller (or a simulation) sleeps exactly that long; this is how weir
 * emulates a slow bottleneck link in software.
 *
 * Bytes to time without a division: ns = len * mult >> 32, with mult =
 * 1e9 * 2^32 / rate precomputed (rate >= 1 byte/s keeps it in 64 bits).
 */
#include <errno.h>

#include "qdisc_internal.h"

struct tbf_conf {
	uint64_t rate, burst, peakrate, mtu, catchup;
	uint32_t overhead;
};

struct tbf {
	uint64_t rate, peakrate; /* bytes/s */
	uint64_t mult, pmult;
	uint64_t burst, mtu;     /* bytes */
	int64_t buffer, mtu_ns;  /* bucket depths, ns */
	int64_t catchup;         /* extra depth while packets wait, ns */
	int64_t tokens, ptokens; /* ns */
	weir_ns_t t_c;
	bool started;
	bool backlogged; /* packets waited from t_c on */
	uint32_t overhead;
	/* Bucket time thrown away at the cap while packets waited: the
	 * shaper's slots the dequeuer missed (it ran late by more than the
	 * burst), link time lost to the caller, not to the traffic. */
	uint64_t capped_ns;
};

static const struct qd_param tbf_params[] = {
	{ "rate", QD_P_RATE, offsetof(struct tbf_conf, rate), 1, 125000000000ULL, NULL, NULL,
	  "required, e.g. 100mbit" },
	{ "burst", QD_P_SIZE, offsetof(struct tbf_conf, burst), 64, 1ULL << 30, NULL, NULL,
	  "bucket depth, default max(2 x 1514, 1ms at rate)" },
	{ "buffer", QD_P_SIZE, offsetof(struct tbf_conf, burst), 64, 1ULL << 30, NULL, NULL,
	  "same as burst" },
	{ "peakrate", QD_P_RATE, offsetof(struct tbf_conf, peakrate), 1, 125000000000ULL, NULL,
	  NULL, "optional, must be above rate" },
	{ "mtu", QD_P_SIZE, offsetof(struct tbf_conf, mtu), 64, 1 << 20, NULL, NULL,
	  "peak bucket depth, default 1514" },
	{ "catchup", QD_P_TIME, offsetof(struct tbf_conf, catchup), 0, 10 * WEIR_NS_PER_SEC, NULL,
	  NULL, "bucket time also kept while packets wait (a late dequeuer's missed slots), "
	  "default 0" },
	{ "overhead", QD_P_U32, offsetof(struct tbf_conf, overhead), 0, 256, NULL, NULL,
	  "bytes added per packet (e.g. 24: preamble, SFD, gap, FCS), default 0" },
	{ NULL, 0, 0, 0, 0, NULL, NULL, NULL },
};

static const struct tbf_conf tbf_default = { 0, 0, 0, 0, 0, 0 };

static uint64_t rate_mult(uint64_t bytes_per_s)
{
	return (uint64_t)(((unsigned __int128)WEIR_NS_PER_SEC << 32) / bytes_per_s);
}

static inline int64_t len_to_ns(uint64_t mult, uint64_t len)
{
	return (int64_t)(((unsigned __int128)len * mult) >> 32);
}

static int tbf_nb_children(void *c, int given, char *why, size_t len)
{
	(void)c;
	if (given > 1)
		return QD_WHY(why, len, "tbf takes one child, got %d in { } (use tbf ... / CHILD)",
			      given);
	return 1;
}

static int tbf_init(struct weir_qdisc *q, const void *c, char *why, size_t len)
{
	const struct tbf_conf *conf = c;
	struct tbf *t = qd_priv(q);

	if (!conf->rate)
		return QD_WHY(why, len, "tbf needs a rate (e.g. tbf rate 100mbit burst 32k)");
	t->rate = conf->rate;
	t->mtu = conf->mtu ? conf->mtu : 1514;
	t->burst = conf->burst ? conf->burst : WEIR_MAX(2 * 1514, t->rate / 1000);
	if (t->burst < 1514 && !conf->mtu)
		return QD_WHY(why, len,
			      "tbf burst %llu is below one full-size frame (1514): such frames could never leave; raise burst or set mtu",
			      (unsigned long long)t->burst);
	if (t->burst < t->mtu)
		return QD_WHY(why, len, "tbf burst %llu is below mtu %llu",
			      (unsigned long long)t->burst, (unsigned long long)t->mtu);
	if (conf->peakrate && conf->peakrate <= conf->rate)
		return QD_WHY(why, len, "tbf peakrate must be above rate (or left out)");
	t->peakrate = conf->peakrate;
	t->overhead = conf->overhead;
	t->mult = rate_mult(t->rate);
	t->buffer = len_to_ns(t->mult, t->burst);
	t->catchup = (int64_t)conf->catchup;
	if (t->peakrate) {
		t->pmult = rate_mult(t->peakrate);
		t->mtu_ns = len_to_ns(t->pmult, t->mtu);
	}
	t->tokens = t->buffer;
	t->ptokens = t->mtu_ns;
	return 0;
}

static enum weir_qdisc_verdict tbf_enqueue(struct weir_qdisc *q, struct weir_pkt *p, weir_ns_t now)
{
	struct tbf *t = qd_priv(q);
	uint64_t len = qd_len(p) + t->overhead;

	/* A packet the bucket can never hold would block the queue forever. */
	if (weir_unlikely(len > t->burst || (t->peakrate && len > t->mtu))) {
		qd_drop(q, p, QD_DROP_OTHER);
		return WEIR_QDISC_DROPPED;
	}
	return qd_enqueue(q->children[0], p, now);
}

static struct weir_pkt *tbf_dequeue(struct weir_qdisc *q, weir_ns_t now, weir_ns_t *due)
{
	struct tbf *t = qd_priv(q);
	struct weir_qdisc *child = q->children[0];
	weir_ns_t cdue = 0;
	struct weir_pkt *p;
	int64_t toks, ptoks = 0, cap;
	uint64_t len;

	if (!child->st.backlog_pkts) {
		t->backlogged = false;
		return NULL;
	}
	p = qd_peek_due(child, now, &cdue);
	if (!p) {
		*due = cdue;
		return NULL;
	}
	if (weir_unlikely(!t->started)) {
		t->started = true;
		t->t_c = now;
	}
	len = qd_len(p) + t->overhead;
	/* While packets waited, the link was busy in the model: keep the
	 * time a late dequeuer missed, up to catchup beyond the burst. */
	cap = t->buffer + (t->backlogged ? t->catchup : 0);
	toks = (int64_t)WEIR_MIN(now - t->t_c, (weir_ns_t)cap);
	if (t->peakrate) {
		ptoks = toks + t->ptokens;
		if (ptoks > t->mtu_ns)
			ptoks = t->mtu_ns;
		ptoks -= len_to_ns(t->pmult, len);
	}
	if (t->backlogged && (int64_t)(now - t->t_c) + t->tokens > cap)
		t->capped_ns += (uint64_t)((int64_t)(now - t->t_c) + t->tokens - cap);
	toks += t->tokens;
	if (toks > cap)
		toks = cap;
	toks -= len_to_ns(t->mult, len);
	if ((toks | ptoks) >= 0) {
		p = qd_dequeue(child, now, &cdue);
		t->t_c = now;
		t->tokens = toks;
		t->ptokens = ptoks;
		t->backlogged = child->st.backlog_pkts != 0;
		return p;
	}
	t->backlogged = true;
	q->st.overlimits++;
	*due = now + (weir_ns_t)WEIR_MAX(-toks, -ptoks);
	return NULL;
}

static void tbf_reset(struct weir_qdisc *q)
{
	struct tbf *t = qd_priv(q);

	t->tokens = t->buffer;
	t->ptokens = t->mtu_ns;
	t->started = false;
	t->backlogged = false;
}

static void tbf_dump(const struct weir_qdisc *q, struct qd_dump *d)
{
	const struct tbf *t = qd_priv(q);

	qd_dump_rate(d, "rate", t->rate);
	qd_dump_size(d, "burst", t->burst);
	if (t->catchup)
		qd_dump_time(d, "catchup", (weir_ns_t)t->catchup);
	if (t->peakrate) {
		qd_dump_rate(d, "peakrate", t->peakrate);
		qd_dump_size(d, "mtu", t->mtu);
	}
	if (t->overhead)
		qd_dump_u64(d, "overhead", t->overhead);
}

static void tbf_dump_stats(const struct weir_qdisc *q, struct qd_dump *d)
{
	const struct tbf *t = qd_priv(q);

	qd_dump_time(d, "tokens", t->tokens > 0 ? (weir_ns_t)t->tokens : 0);
	qd_dump_time(d, "capped", t->capped_ns);
}

static const struct weir_qdisc_ops tbf_ops = {
	.kind = "tbf",
	.usage = "tbf rate RATE [burst SIZE] [catchup TIME] [peakrate RATE [mtu SIZE]] [overhead BYTES] / CHILD",
	.priv_size = sizeof(struct tbf),
	.conf_size = sizeof(struct tbf_conf),
	.conf_default = &tbf_default,
	.params = tbf_params,
	.nb_children = tbf_nb_children,
	.default_child = "fifo limit 1000",
	.init = tbf_init,
	.enqueue = tbf_enqueue,
	.dequeue = tbf_dequeue,
	.reset = tbf_reset,
	.dump = tbf_dump,
	.dump_stats = tbf_dump_stats,
};

WEIR_QDISC_REGISTER(tbf_ops)
