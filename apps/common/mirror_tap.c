// SPDX-License-Identifier: BSD-3-Clause
/*
 * The app side of a mirror (common/mirror.h): the "capture" telemetry
 * command every app on the harness answers, the session it starts (a memfd
 * area, a compiled filter, a tap on the port) and the tap's callbacks,
 * which run on the lcores. They never wait: a frame is filtered where it
 * lies (a chain with a short head is first copied into the ring slot and
 * filtered there), copied into its queue's ring up to snaplen, and
 * published once per burst; no room means a counted drop. Transmitted
 * frames are copied before the driver takes them (it may free them at
 * once) and published after, only those it took: a frame the caller keeps
 * and sends again is mirrored once.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "weir/port.h"

#include "common/app.h"
#include "common/cbpf.h"
#include "common/mirror.h"
#include "common/report.h"

/* One queue's producer state (its lcore's only). */
struct mq {
	struct mirror_ring *r;
	uint8_t *data;
	uint64_t head;                /* private; published to r->head */
	uint64_t end[APP_MAX_BURST];  /* tx_pre: head after frame i */
	uint32_t cum[APP_MAX_BURST];  /* tx_pre: matches in frames 0..i */
	uint16_t nfit;                /* tx_pre: frames before the ring was full */
	bool any;                     /* tx_pre: a frame may have matched */
};

struct mirror_session {
	struct weir_port *port;
	struct weir_port_tap tap;
	struct cbpf *filter;          /* NULL: every frame */
	uint32_t snaplen, ring_bytes, rings;
	int fd;
	void *area;
	uint64_t area_bytes;
	struct mq q[MIRROR_MAX_RINGS];
};

static void ctr_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Room for a record of caplen bytes at the private head: the slot, or
 * NULL when the ring is full. Writes the skip record a wrap needs. */
static uint8_t *reserve(struct mirror_session *s, struct mq *m, uint32_t caplen)
{
	uint64_t need = MIRROR_ALIGN(sizeof(struct mirror_rec) + caplen);
	uint64_t off = m->head & (s->ring_bytes - 1), left = s->ring_bytes - off;
	/* Acquire: the consumer is done with the bytes below tail (pairs
	 * with its release store of tail). */
	uint64_t tail = atomic_load_explicit(&m->r->tail, memory_order_acquire);
	uint64_t wrap = need > left ? left : 0;

	if (m->head + wrap + need - tail > s->ring_bytes)
		return NULL;
	if (wrap) {
		if (left >= sizeof(struct mirror_rec))
			memcpy(m->data + off, &(uint32_t){MIRROR_REC_SKIP}, 4);
		m->head += wrap;
		off = 0;
	}
	return m->data + off;
}

/* The frames of pkts[0..n-1] that may match, into idx (see cbpf_select):
 * a burst that matches nothing costs one pass of the filter over it and
 * nothing else, no call or store a frame. */
static uint16_t candidates(const struct mirror_session *s, struct weir_pkt *const *pkts,
			   uint16_t n, uint16_t *idx)
{
	if (s->filter)
		return cbpf_select(s->filter, pkts, n, s->snaplen, idx);
	for (uint16_t i = 0; i < n; i++)
		idx[i] = i;
	return n;
}

/* Copies p, which candidates() let through, into the ring if it matches:
 * 1 copied, 0 no match, -1 no room. */
static int put(struct mirror_session *s, struct mq *m, const struct weir_pkt *p, uint32_t dir)
{
	uint32_t caplen = p->pkt_len < s->snaplen ? p->pkt_len : s->snaplen;
	bool flat = p->data_len >= caplen;
	struct mirror_rec rec = {caplen, p->pkt_len, 0, dir, 0};
	uint8_t *slot = reserve(s, m, caplen);

	if (!slot)
		return -1;
	weir_pkt_copy_out(p, 0, caplen, slot + sizeof(rec));
	if (s->filter && !flat && !cbpf_run(s->filter, slot + sizeof(rec), p->pkt_len, caplen))
		return 0; /* the slot is reused by the next frame */
	rec.ts = weir_clock_realtime();
	memcpy(slot, &rec, sizeof(rec));
	m->head += MIRROR_ALIGN(sizeof(rec) + caplen);
	return 1;
}

/* tap_rx for n <= APP_MAX_BURST frames. */
static void rx_part(struct mirror_session *s, struct mq *m, struct weir_pkt *const *pkts,
		    uint16_t n)
{
	uint64_t seen = 0, drops = 0, h0;
	uint16_t idx[APP_MAX_BURST], k;

	k = candidates(s, pkts, n, idx);
	if (!k)
		return;
	h0 = m->head;
	for (uint16_t j = 0; j < k; j++) {
		int r = put(s, m, pkts[idx[j]], MIRROR_DIR_RX);

		seen += r != 0;
		drops += r < 0;
	}
	/* Release: the records are written before head says so (pairs with
	 * the consumer's acquire load of head). Only when it moved: the
	 * consumer polls that line from its own CPU, and a store to it costs
	 * the forwarding lcore a cache miss per burst even when nothing
	 * matched. */
	if (m->head != h0)
		atomic_store_explicit(&m->r->head, m->head, memory_order_release);
	if (seen)
		ctr_add(&m->r->seen, seen);
	if (drops)
		ctr_add(&m->r->drops, drops);
}

static void tap_rx(void *arg, uint16_t q, struct weir_pkt *const *pkts, uint16_t n)
{
	struct mirror_session *s = arg;

	if (q >= s->rings)
		return;
	for (uint16_t o = 0; o < n; o += APP_MAX_BURST)
		rx_part(s, &s->q[q], pkts + o, n - o < APP_MAX_BURST ? n - o : APP_MAX_BURST);
}

static void tap_tx_pre(void *arg, uint16_t q, struct weir_pkt *const *pkts, uint16_t n)
{
	struct mirror_session *s = arg;
	struct mq *m;
	uint32_t matched = 0;
	uint16_t idx[APP_MAX_BURST], k, j = 0;
	bool full = false;

	if (q >= s->rings)
		return;
	m = &s->q[q];
	if (n > APP_MAX_BURST)
		n = APP_MAX_BURST;
	k = candidates(s, pkts, n, idx);
	/* Nothing may match: tx_post has nothing to publish or count. */
	m->any = k != 0;
	if (!k)
		return;
	m->nfit = 0;
	for (uint16_t i = 0; i < n; i++) {
		/* Once the ring is full a frame that may match is a drop. */
		bool cand = j < k && idx[j] == i;
		int r = !cand ? 0 : full ? -1 : put(s, m, pkts[i], MIRROR_DIR_TX);

		j += cand;
		full |= r < 0;
		matched += r != 0;
		m->nfit += !full;
		m->end[i] = m->head;
		m->cum[i] = matched;
	}
}

static void tap_tx_post(void *arg, uint16_t q, uint16_t taken)
{
	struct mirror_session *s = arg;
	struct mq *m;
	uint64_t pub;
	uint16_t k;

	if (q >= s->rings || !s->q[q].any)
		return;
	m = &s->q[q];
	if (taken > APP_MAX_BURST)
		taken = APP_MAX_BURST;
	k = taken < m->nfit ? taken : m->nfit;
	/* Records of frames the driver did not take are forgotten. The
	 * published head is this lcore's own last store (relaxed reload). */
	pub = atomic_load_explicit(&m->r->head, memory_order_relaxed);
	m->head = k ? m->end[k - 1] : pub;
	/* Release, pairs with the consumer's acquire of head; skipped when
	 * it did not move (see tap_rx). */
	if (m->head != pub)
		atomic_store_explicit(&m->r->head, m->head, memory_order_release);
	if (taken)
		ctr_add(&m->r->seen, m->cum[taken - 1]);
	if (taken > k)
		ctr_add(&m->r->drops, m->cum[taken - 1] - (k ? m->cum[k - 1] : 0));
}

/* --- the session ------------------------------------------------------------ */

static void session_free(struct mirror_session *s)
{
	if (s->port && weir_port_tap_get(s->port) == &s->tap)
		weir_port_tap_stop(s->port);
	if (s->area)
		munmap(s->area, s->area_bytes);
	if (s->fd >= 0)
		close(s->fd);
	cbpf_free(s->filter);
	free(s);
}

/* The connection closed: the capture ends with it. */
static void session_end(void *arg)
{
	session_free(arg);
}

struct capture_args {
	long port;
	uint32_t dirs, snaplen, ring_bytes;
	const char *filter;
};

/* "port=N dir=rx|tx|both snaplen=N ring=BYTES filter=EXPR...": 0 or -EINVAL
 * with why. */
static int parse_args(const char *args, struct capture_args *a, char *why, size_t len)
{
	char buf[4096], *save = NULL, *tok;
	const char *f = strstr(args, "filter=");

	*a = (struct capture_args){.port = -1, .dirs = MIRROR_DIR_RX | MIRROR_DIR_TX,
				   .snaplen = 262144, .ring_bytes = MIRROR_RING_DEFAULT};
	snprintf(buf, sizeof(buf), "%.*s", f ? (int)(f - args) : (int)strlen(args), args);
	a->filter = f ? f + 7 : "";
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long long v = eq ? strtoull(eq + 1, &end, 10) : 0;

		bool dir = eq && eq - tok == 3 && !strncmp(tok, "dir", 3);

		if (dir && !strcmp(eq, "=rx"))
			a->dirs = MIRROR_DIR_RX;
		else if (dir && !strcmp(eq, "=tx"))
			a->dirs = MIRROR_DIR_TX;
		else if (dir && !strcmp(eq, "=both"))
			a->dirs = MIRROR_DIR_RX | MIRROR_DIR_TX;
		else if (eq && eq - tok == 4 && !strncmp(tok, "port", 4) && !*end && eq[1])
			a->port = (long)v;
		else if (eq && eq - tok == 7 && !strncmp(tok, "snaplen", 7) && !*end && v)
			a->snaplen = v > MIRROR_SNAPLEN_MAX ? MIRROR_SNAPLEN_MAX : (uint32_t)v;
		else if (eq && eq - tok == 4 && !strncmp(tok, "ring", 4) && !*end && v >= 4096 &&
			 v <= (1u << 30) && !(v & (v - 1)))
			a->ring_bytes = (uint32_t)v;
		else {
			snprintf(why, len, "'%s': expected port=N dir=rx|tx|both snaplen=N "
				 "ring=BYTES (a power of two, 4096..2^30) filter=EXPR", tok);
			return -EINVAL;
		}
	}
	if (a->port < 0) {
		snprintf(why, len, "give the port: port=N (0 for the app's first)");
		return -EINVAL;
	}
	return 0;
}

static int session_area(struct mirror_session *s, const char *spec)
{
	struct mirror_hdr *h;

	s->area_bytes = mirror_area_bytes(s->rings, s->ring_bytes);
	s->fd = memfd_create("weir-mirror", MFD_CLOEXEC);
	if (s->fd < 0 || ftruncate(s->fd, (off_t)s->area_bytes) < 0)
		return -errno;
	s->area = mmap(NULL, s->area_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
	if (s->area == MAP_FAILED) {
		s->area = NULL;
		return -errno;
	}
	h = s->area;
	*h = (struct mirror_hdr){.magic = MIRROR_MAGIC, .version = MIRROR_VERSION,
				 .nrings = s->rings, .ring_bytes = s->ring_bytes,
				 .snaplen = s->snaplen, .area_bytes = s->area_bytes};
	snprintf(h->port, sizeof(h->port), "%s", spec);
	for (uint32_t i = 0; i < s->rings; i++) {
		s->q[i].r = mirror_ring_at(s->area, i, s->ring_bytes);
		s->q[i].data = mirror_ring_data(s->q[i].r);
	}
	return 0;
}

static int session_filter(struct mirror_session *s, const char *expr, char *why, size_t len)
{
	struct bpf_program prog;
	pcap_t *p;
	int err;

	if (!expr[strspn(expr, " \t")])
		return 0;
	p = pcap_open_dead(DLT_EN10MB, (int)s->snaplen);
	if (!p)
		return -ENOMEM;
	if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(why, len, "filter '%s': %s", expr, pcap_geterr(p));
		pcap_close(p);
		return -EINVAL;
	}
	pcap_close(p);
	err = cbpf_load(&s->filter, prog.bf_insns, prog.bf_len);
	pcap_freecode(&prog);
	return err;
}

static void capture_cmd(struct app_tele_client *c, const char *args, FILE *out, void *arg)
{
	struct app_base *b = arg;
	struct mirror_session *s;
	struct capture_args a;
	char why[512] = "";
	int err;

	if (parse_args(args, &a, why, sizeof(why)) < 0)
		return app_tele_error(out, "capture: %s", why);
	if (!b->nports)
		return app_tele_error(out, "capture: this app has no ports it can mirror");
	if (a.port >= b->nports)
		return app_tele_error(out, "capture: no port %ld (this app has %d: 0..%d)", a.port,
				      b->nports, b->nports - 1);
	if (weir_port_tap_get(b->ports[a.port]))
		return app_tele_error(out, "capture: port %ld is being captured already (one "
				      "capture per port)", a.port);
	s = calloc(1, sizeof(*s));
	if (!s)
		return app_tele_error(out, "capture: out of memory");
	s->fd = -1;
	s->snaplen = a.snaplen;
	s->ring_bytes = a.ring_bytes;
	s->rings = weir_port_nb_rxq(b->ports[a.port]);
	if (weir_port_nb_txq(b->ports[a.port]) > s->rings)
		s->rings = weir_port_nb_txq(b->ports[a.port]);
	if (s->rings > MIRROR_MAX_RINGS)
		s->rings = MIRROR_MAX_RINGS;
	if ((err = session_filter(s, a.filter, why, sizeof(why))) < 0 ||
	    (err = session_area(s, weir_port_spec(b->ports[a.port]))) < 0) {
		session_free(s);
		return app_tele_error(out, "capture: %s", why[0] ? why : strerror(-err));
	}
	((struct mirror_hdr *)s->area)->dirs = a.dirs;
	s->tap = (struct weir_port_tap){.rx = a.dirs & MIRROR_DIR_RX ? tap_rx : NULL,
					.tx_pre = a.dirs & MIRROR_DIR_TX ? tap_tx_pre : NULL,
					.tx_post = a.dirs & MIRROR_DIR_TX ? tap_tx_post : NULL,
					.arg = s};
	if ((err = app_tele_client_pass_fd(c, s->fd)) < 0 ||
	    (err = app_tele_client_on_close(c, session_end, s)) < 0) {
		session_free(s);
		return app_tele_error(out, "capture: %s", strerror(-err));
	}
	s->port = b->ports[a.port];
	weir_port_tap_start(s->port, &s->tap);
	fprintf(out, "{\"capture\":true,\"port\":%ld,\"spec\":", a.port);
	report_json_str(out, weir_port_spec(s->port));
	fprintf(out, ",\"rings\":%u,\"ring_bytes\":%u,\"snaplen\":%u}", s->rings, s->ring_bytes,
		s->snaplen);
}

int app_mirror_register(struct app_tele *t, struct app_base *b)
{
	return app_tele_cmd(t, "capture", "port=N dir=rx|tx|both snaplen=N ring=BYTES filter=EXPR: "
			    "mirror a port into shared memory (weir-cap -i app:SOCKET?port=N)",
			    capture_cmd, b);
}
