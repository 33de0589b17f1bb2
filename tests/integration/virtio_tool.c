// SPDX-License-Identifier: BSD-3-Clause
/*
 * virtio_tool: drives weir's virtio: port against a vhost-user backend
 * that sends every frame back (dpdk-testpmd's net_vhost in io or macswap
 * mode) and checks what returns byte for byte.
 *
 *   virtio_tool SPEC io|macswap COUNT SIZE[,SIZE...] [chain]
 *   virtio_tool SPEC hostile COUNT SIZE[,SIZE...]
 *   virtio_tool SPEC reconnect SECONDS SIZE
 *   virtio_tool SPEC irq COUNT SIZE
 *   virtio_tool SPEC csum COUNT SIZE
 *   virtio_tool SPEC gso COUNT SIZE
 *
 * Sends COUNT frames per size, each with its sequence number and a
 * pattern derived from it; every frame that comes back must be one that
 * was sent (MACs swapped in macswap mode), unchanged, and each may come
 * back once. "chain" sends each frame as a chain of segments of at most
 * 300 bytes (scatter-gather TX). Prints the counts and the port's xstats;
 * Frames take turns over the port's queues (queues=N in SPEC); each must
 * come back on the queue it left on (testpmd's io streams pair them).
 * exits 0 when every frame came back exact, 1 otherwise, 77 when the
 * backend is not there. At the end no buffer of the pool may be out.
 * "hostile" is for a backend that breaks the rules (vhost_evil): frames
 * go out and are received for up to 3 s; exit 0 when the port ended up
 * dead and no buffer is out after close. "reconnect" is for a backend
 * that restarts meanwhile: one frame at a time for up to SECONDS (until
 * 2000 frames came back after a reconnect), each waited
 * for up to 20 ms (frames lost with the backend are not waited for);
 * exit 0 when nothing came back damaged or twice, frames came back after
 * a reconnect (xstat reconnects >= 1), the port is alive and no buffer
 * is out after close. "irq" checks interrupt mode: COUNT times, with the
 * RX queue idle, one frame goes out and the caller sleeps in poll() on
 * the queue's wait_fd; the backend's interrupt must wake it within 1 s
 * and the frame be there (wake-up latencies printed). "csum" sends UDP/IPv4
 * frames with a partial checksum (WEIR_PKT_OL_CSUM_PARTIAL: the field holds
 * the pseudo-header sum, the device is to finish it); what comes back must,
 * once any checksum still partial is completed here, equal the frame with
 * its checksum computed in software (counts of partial / complete
 * returns printed; testpmd io mode hands partial back as partial).
 * "gso" does the same with TCP/IPv4 frames, which above 1514 bytes go out
 * as GSO super-frames (VIRTIO_NET_F_HOST_TSO4: gso_type TCPV4, gso_size
 * 1448 in the virtio-net header, the frame chained in 1500-byte buffers):
 * each must come back once, whole (one frame of SIZE bytes: the backend
 * took it as one) and byte for byte; the port must offer gso_tcp.
 */
#include "weir/offload.h"
#include <poll.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/clock.h"
#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/port.h"

#define MAX_SIZES 32
#define WINDOW 8
#define HDR 20 /* MACs, EtherType, 4-byte size, 2-byte seq */

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xaa}, mac_b[6] = {0x02, 0, 0, 0, 0, 0xbb};

static uint8_t pattern(uint32_t size, uint32_t seq, uint32_t i)
{
	return (uint8_t)(size * 7 + seq * 13 + i * 31 + (i >> 8));
}

static void frame_bytes(uint8_t *f, uint32_t size, uint32_t seq)
{
	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	f[12] = 0x88;
	f[13] = 0xb5; /* local experimental EtherType */
	memcpy(f + 14, &size, 4);
	f[18] = (uint8_t)seq;
	f[19] = (uint8_t)(seq >> 8);
	for (uint32_t i = HDR; i < size; i++)
		f[i] = pattern(size, seq, i);
}

/* The frame as one segment or a chain of <= 300-byte segments. */
static struct weir_pkt *build(struct weir_pool *pool, uint32_t size, uint32_t seq, bool chain)
{
	static uint8_t f[65536];
	struct weir_pkt *head = NULL;
	uint32_t off = 0;

	frame_bytes(f, size, seq);
	while (off < size) {
		uint32_t n = chain ? 300 : size;
		struct weir_pkt *s = weir_pkt_alloc(pool);

		if (n > size - off)
			n = size - off;
		if (!s || !weir_pkt_put(s, (uint16_t)n)) {
			if (s)
				weir_pkt_free(s);
			if (head)
				weir_pkt_free(head);
			return NULL;
		}
		memcpy(weir_pkt_data(s), f + off, n);
		if (!head)
			head = s;
		else if (weir_pkt_chain(head, s) < 0)
			return weir_pkt_free(head), weir_pkt_free(s), NULL;
		off += n;
	}
	return head;
}

struct run {
	uint32_t sizes[MAX_SIZES];
	int nsizes;
	uint32_t count;
	bool macswap, chain;
	uint8_t *seen; /* [size index][seq] */
	uint64_t sent, back, bad, dup, chained_rx;
};

/* Checks one returned frame; 0 when it is one that was sent, intact. */
static int check(struct run *r, struct weir_pkt *p)
{
	static uint8_t got[65536], want[65536];
	uint32_t size, seq;
	int si = -1;

	if (p->pkt_len < HDR || weir_pkt_copy_out(p, 0, p->pkt_len, got) < 0)
		return -1;
	memcpy(&size, got + 14, 4);
	seq = got[18] | (uint32_t)got[19] << 8;
	for (int i = 0; i < r->nsizes; i++)
		if (r->sizes[i] == size)
			si = i;
	if (si < 0 || size != p->pkt_len || seq >= r->count)
		return -1;
	frame_bytes(want, size, seq);
	if (r->macswap) {
		memcpy(want, mac_a, 6);
		memcpy(want + 6, mac_b, 6);
	}
	if (memcmp(got, want, size))
		return -1;
	if (r->seen[(size_t)si * r->count + seq]++) {
		r->dup++;
		return -1;
	}
	if (p->nb_segs > 1)
		r->chained_rx++;
	return 0;
}

/* Receives on every queue (frames sent on queue q come back on q). */
static void drain(struct run *r, struct weir_port *port)
{
	for (uint16_t q = 0; q < weir_port_nb_rxq(port); q++) {
		struct weir_pkt *pkts[32];
		uint16_t n = weir_port_rx_burst(port, q, pkts, 32);

		for (uint16_t i = 0; i < n; i++) {
			if (check(r, pkts[i]) == 0)
				r->back++;
			else
				r->bad++;
			if (pkts[i]->queue != q)
				r->bad++;
			weir_pkt_free(pkts[i]);
		}
		weir_port_tx_done(port, q);
	}
}

static void send_all(struct run *r, struct weir_port *port, struct weir_pool *pool)
{
	for (int si = 0; si < r->nsizes; si++) {
		for (uint32_t seq = 0; seq < r->count; seq++) {
			struct weir_pkt *p = build(pool, r->sizes[si], seq, r->chain);
			weir_ns_t until = weir_clock_now() + WEIR_NS_PER_SEC;

			while (!p && weir_clock_now() < until) {
				drain(r, port); /* buffers come back as frames return */
				p = build(pool, r->sizes[si], seq, r->chain);
			}
			if (!p)
				return;
			/* A window of frames in flight: the backend drops what
			 * finds the RX ring empty, which is not what is tested. */
			while (r->sent - r->back - r->bad >= WINDOW && weir_clock_now() < until)
				drain(r, port);
			/* Frames take turns over the queues. */
			while (weir_port_tx_burst(port, (uint16_t)(seq % weir_port_nb_txq(port)), &p,
						  1) == 0) {
				drain(r, port);
				if (weir_port_is_dead(port) || weir_clock_now() > until) {
					weir_pkt_free(p);
					return;
				}
			}
			r->sent++;
			if (seq % 16 == 0)
				drain(r, port);
		}
	}
}

static int parse(struct run *r, int argc, char **argv)
{
	char *s = argv[4], *tok;

	if (argc < 5)
		return -1;
	r->macswap = !strcmp(argv[2], "macswap");
	r->count = (uint32_t)strtoul(argv[3], NULL, 10);
	r->chain = argc > 5 && !strcmp(argv[5], "chain");
	for (tok = strtok(s, ","); tok && r->nsizes < MAX_SIZES; tok = strtok(NULL, ","))
		r->sizes[r->nsizes++] = (uint32_t)strtoul(tok, NULL, 10);
	return r->count && r->count <= 65536 && r->nsizes ? 0 : -1;
}

static void print_xstats(struct weir_port *port)
{
	struct weir_xstat xs[32];
	int n = weir_port_xstats_get(port, xs, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (xs[i].value)
			printf("  xstat %s = %llu\n", xs[i].name, (unsigned long long)xs[i].value);
}

static int hostile(struct run *r, struct weir_port *port, struct weir_pool *pool)
{
	weir_ns_t until = weir_clock_now() + 3 * WEIR_NS_PER_SEC;
	uint32_t seq = 0;
	bool dead;
	int rc;

	while (!weir_port_is_dead(port) && weir_clock_now() < until) {
		struct weir_pkt *p = build(pool, r->sizes[0], seq++ % r->count, false);

		if (p && weir_port_tx_burst(port, 0, &p, 1) == 1)
			r->sent++;
		else if (p)
			weir_pkt_free(p);
		drain(r, port);
	}
	dead = weir_port_is_dead(port);
	printf("hostile: sent %llu, received %llu, dead %d\n", (unsigned long long)r->sent,
	       (unsigned long long)(r->back + r->bad), dead);
	weir_port_close(port);
	printf("pool in use after close: %u\n", weir_pool_in_use(pool));
	rc = dead && weir_pool_in_use(pool) == 0 ? 0 : 1;
	free(r->seen);
	weir_pool_destroy(pool);
	return rc;
}

static uint64_t xstat(struct weir_port *port, const char *name)
{
	struct weir_xstat xs[32];
	int n = weir_port_xstats_get(port, xs, 32);

	for (int i = 0; i < n && i < 32; i++)
		if (!strcmp(xs[i].name, name))
			return xs[i].value;
	return 0;
}

static int reconnects(struct run *r, struct weir_port *port, struct weir_pool *pool, uint32_t secs)
{
	weir_ns_t end = weir_clock_now() + secs * WEIR_NS_PER_SEC;
	uint64_t after = 0, rc_seen = 0;
	int rc;

	r->count = 65536;
	free(r->seen);
	r->seen = calloc(r->count, 1);
	while (weir_clock_now() < end && !weir_port_is_dead(port) && after < 2000) {
		struct weir_pkt *p;
		uint64_t before = r->back;
		weir_ns_t until = weir_clock_now() + 20 * WEIR_NS_PER_MS;

		/* Sequence numbers wrap: the duplicate check starts over. */
		if (r->sent % r->count == 0)
			memset(r->seen, 0, r->count);
		p = build(pool, r->sizes[0], (uint32_t)(r->sent % r->count), false);
		if (!p)
			break;
		if (weir_port_tx_burst(port, 0, &p, 1) == 1)
			r->sent++;
		else
			weir_pkt_free(p); /* the backend is away: the queue refused it */
		while (r->back == before && weir_clock_now() < until)
			drain(r, port);
		if (rc_seen)
			after += r->back - before;
		rc_seen = xstat(port, "reconnects");
	}
	printf("reconnect: sent %llu, back exact %llu, bad %llu, back after a reconnect %llu, "
	       "reconnects %llu, rx_reposted %llu, tx_lost_in_flight %llu, dead %d\n",
	       (unsigned long long)r->sent, (unsigned long long)r->back,
	       (unsigned long long)r->bad, (unsigned long long)after, (unsigned long long)rc_seen,
	       (unsigned long long)xstat(port, "rx_reposted"),
	       (unsigned long long)xstat(port, "tx_lost_in_flight"), weir_port_is_dead(port));
	rc = !r->bad && after > 0 && rc_seen >= 1 && !weir_port_is_dead(port) ? 0 : 1;
	weir_port_close(port);
	printf("pool in use after close: %u\n", weir_pool_in_use(pool));
	if (weir_pool_in_use(pool))
		rc = 1;
	free(r->seen);
	weir_pool_destroy(pool);
	return rc;
}

static int irq(struct run *r, struct weir_port *port, struct weir_pool *pool)
{
	int fd = weir_port_wait_fd(port, 0), woke = 0;
	weir_ns_t worst = 0, sum = 0;
	int rc;

	for (uint32_t seq = 0; fd >= 0 && seq < r->count; seq++) {
		struct weir_pkt *p = build(pool, r->sizes[0], seq, false);
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		uint64_t before = r->back;
		weir_ns_t t0, dt;

		drain(r, port); /* empty: the queue asks for an interrupt */
		drain(r, port);
		t0 = weir_clock_now();
		if (!p || weir_port_tx_burst(port, 0, &p, 1) != 1)
			break;
		r->sent++;
		if (poll(&pf, 1, 1000) != 1)
			break;
		dt = weir_clock_now() - t0;
		drain(r, port);
		if (r->back == before)
			break; /* woken, but nothing there */
		woke++;
		sum += dt;
		worst = dt > worst ? dt : worst;
	}
	printf("irq: %d of %u woken by the backend's interrupt, wake-up after send mean %.1f us, "
	       "max %.1f us\n", woke, r->count, woke ? sum / 1e3 / woke : 0.0, worst / 1e3);
	rc = woke == (int)r->count && !r->bad ? 0 : 1;
	weir_port_close(port);
	printf("pool in use after close: %u\n", weir_pool_in_use(pool));
	if (weir_pool_in_use(pool))
		rc = 1;
	free(r->seen);
	weir_pool_destroy(pool);
	return rc;
}

/* f (size bytes) as a packet: one buffer, or segments of 1500 bytes. */
static struct weir_pkt *from_bytes(struct weir_pool *pool, const uint8_t *f, uint32_t size)
{
	struct weir_pkt *head = NULL;

	for (uint32_t off = 0; off < size;) {
		uint32_t n = size - off > 1500 ? 1500 : size - off;
		struct weir_pkt *s = weir_pkt_alloc(pool);

		if (!s || !weir_pkt_put(s, (uint16_t)n)) {
			if (s)
				weir_pkt_free(s);
			return head ? weir_pkt_free(head), NULL : NULL;
		}
		memcpy(weir_pkt_data(s), f + off, n);
		if (!head)
			head = s;
		else if (weir_pkt_chain(head, s) < 0)
			return weir_pkt_free(head), weir_pkt_free(s), NULL;
		off += n;
	}
	return head;
}

/* A UDP/IPv4 frame (tcp: TCP/IPv4) of size bytes for seq, its checksum
 * partial (the field holds the pseudo-header sum). */
static struct weir_pkt *l4_partial(struct weir_pool *pool, uint32_t size, uint32_t seq, bool tcp)
{
	static const uint8_t saddr[4] = {10, 0, 0, 1}, daddr[4] = {10, 0, 0, 2};
	static uint8_t f[65536];
	uint16_t l4 = (uint16_t)(size - 34), ck, hl = tcp ? 54 : 42, co = tcp ? 16 : 6;
	struct weir_pkt *p;

	memset(f, 0, hl);
	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	f[12] = 0x08;                               /* IPv4 */
	f[14] = 0x45;
	f[16] = (uint8_t)((size - 14) >> 8);
	f[17] = (uint8_t)(size - 14);
	f[20] = 0x40;                               /* DF */
	f[22] = 64;
	f[23] = tcp ? 6 : 17;
	memcpy(f + 26, saddr, 4);
	memcpy(f + 30, daddr, 4);
	ck = (uint16_t)~weir_csum_fold(weir_csum_add(0, f + 14, 20));
	memcpy(f + 24, &ck, 2);
	f[34] = 0x23, f[35] = 0x28, f[36] = 0, f[37] = 9; /* ports 9000 -> 9 */
	if (tcp) {
		f[38] = (uint8_t)(seq >> 8), f[39] = (uint8_t)seq; /* sequence number */
		f[46] = 0x50;                               /* 20-byte header */
		f[47] = 0x18;                               /* ACK, PSH */
		f[48] = 0xff, f[49] = 0xff;                 /* window */
	} else {
		f[38] = (uint8_t)(l4 >> 8);
		f[39] = (uint8_t)l4;
	}
	for (uint32_t i = hl; i < size; i++)
		f[i] = pattern(size, seq, i);
	f[hl] = (uint8_t)seq;
	f[hl + 1] = (uint8_t)(seq >> 8);
	ck = weir_csum_fold(weir_csum_pseudo_ipv4(saddr, daddr, f[23], l4));
	memcpy(f + 34 + co, &ck, 2);
	if (!(p = from_bytes(pool, f, size)))
		return NULL;
	p->ol_flags |= WEIR_PKT_OL_CSUM_PARTIAL;
	p->csum_start = 34;
	p->csum_offset = co;
	return p;
}

/* A TCP frame longer than the wire takes becomes a super-frame of 1448-byte
 * segments (the device is to cut it, or to pass it on whole). */
static int super_frame(struct weir_pkt *p)
{
	if (p->pkt_len <= 1514)
		return 0;
	p->gso_type = WEIR_PKT_GSO_TCPV4;
	p->gso_size = 1448;
	p->hdr_len = 54;
	return 0;
}

static int csum(struct run *r, struct weir_port *port, struct weir_pool *pool, bool gso)
{
	static uint8_t got[65536], want[65536];
	uint64_t partial = 0, complete = 0, wrong = 0;
	uint32_t max = gso ? 60000 : 1500, size = r->sizes[0] < 64 ? 64 : r->sizes[0];
	uint16_t co = gso ? 16 : 6;
	int rc;

	if (size > max)
		size = max;
	for (uint32_t seq = 0; seq < r->count; seq++) {
		struct weir_pkt *p = l4_partial(pool, size, seq, gso), *q, *exp = NULL;
		weir_ns_t until = weir_clock_now() + WEIR_NS_PER_SEC;
		uint16_t n = 0;

		/* What must come back: the frame, its checksum done in software
		 * (a super-frame's too: whole, as it went out). */
		if (!p || weir_pkt_copy(p, pool, &exp) < 0 || weir_pkt_csum_complete(exp) < 0 ||
		    (gso && super_frame(p) < 0) ||
		    weir_port_tx_burst(port, 0, &p, 1) != 1)
			break;
		r->sent++;
		while (!n && weir_clock_now() < until) {
			n = weir_port_rx_burst(port, 0, &q, 1);
			weir_port_tx_done(port, 0);
		}
		if (!n) {
			weir_pkt_free(exp);
			break;
		}
		if (q->ol_flags & WEIR_PKT_OL_CSUM_PARTIAL) {
			partial++;
			if (q->csum_start != 34 || q->csum_offset != co || weir_pkt_csum_complete(q))
				wrong++;
		} else {
			complete++;
		}
		if (q->pkt_len != size || weir_pkt_copy_out(q, 0, size, got) ||
		    weir_pkt_copy_out(exp, 0, size, want) || memcmp(got, want, size))
			wrong++;
		else
			r->back++;
		weir_pkt_free(q);
		weir_pkt_free(exp);
	}
	printf("%s: sent %llu partial%s, back %llu whole and exact once completed (%llu still "
	       "partial, %llu complete), %llu wrong; tx_offloads csum %s, gso_tcp %s\n",
	       gso ? "gso" : "csum", (unsigned long long)r->sent, gso ? " TCP super-frames" : "",
	       (unsigned long long)r->back, (unsigned long long)partial,
	       (unsigned long long)complete, (unsigned long long)wrong,
	       weir_port_tx_offloads(port) & WEIR_PORT_OFFLOAD_CSUM ? "on" : "off",
	       weir_port_tx_offloads(port) & WEIR_PORT_OFFLOAD_GSO_TCP ? "on" : "off");
	/* A super-frame the port cannot send whole would be dropped. */
	if (gso && !(weir_port_tx_offloads(port) & WEIR_PORT_OFFLOAD_GSO_TCP))
		wrong++;
	rc = r->back == r->count && !wrong ? 0 : 1;
	weir_port_close(port);
	printf("pool in use after close: %u\n", weir_pool_in_use(pool));
	if (weir_pool_in_use(pool))
		rc = 1;
	free(r->seen);
	weir_pool_destroy(pool);
	return rc;
}

int main(int argc, char **argv)
{
	struct run r = {0};
	struct weir_pool *pool;
	struct weir_port *port;
	char why[WEIR_PORT_ERRSIZE];
	int err;

	if (parse(&r, argc, argv) < 0) {
		fprintf(stderr, "usage: virtio_tool SPEC io|macswap COUNT SIZE[,SIZE...] [chain]\n");
		return 2;
	}
	if ((err = weir_pool_create(&(struct weir_pool_conf){.n = 4096, .shared = true,
							      .buf_size = 2048}, &pool))) {
		fprintf(stderr, "virtio_tool: pool: %s\n", strerror(-err));
		return 1;
	}
	err = weir_port_open(argv[1], &(struct weir_port_conf){.pool = pool}, &port, why,
			     sizeof(why));
	if (err) {
		fprintf(stderr, "virtio_tool: %s\n", why);
		weir_pool_destroy(pool);
		return err == -ENOENT || err == -ECONNREFUSED ? 77 : 1;
	}
	r.seen = calloc((size_t)r.nsizes * r.count, 1);
	if (!strcmp(argv[2], "hostile"))
		return hostile(&r, port, pool);
	if (!strcmp(argv[2], "csum") || !strcmp(argv[2], "gso"))
		return csum(&r, port, pool, !strcmp(argv[2], "gso"));
	if (!strcmp(argv[2], "irq"))
		return irq(&r, port, pool);
	if (!strcmp(argv[2], "reconnect"))
		return reconnects(&r, port, pool, r.count);
	send_all(&r, port, pool);
	for (weir_ns_t until = weir_clock_now() + WEIR_NS_PER_SEC / 2;
	     weir_clock_now() < until && r.back + r.bad < r.sent;)
		drain(&r, port);
	printf("sent %llu, back exact %llu, bad %llu (dup %llu), chained rx %llu, dead %d\n",
	       (unsigned long long)r.sent, (unsigned long long)r.back, (unsigned long long)r.bad,
	       (unsigned long long)r.dup, (unsigned long long)r.chained_rx,
	       weir_port_is_dead(port));
	print_xstats(port);
	weir_port_close(port);
	printf("pool in use after close: %u\n", weir_pool_in_use(pool));
	err = r.back == r.sent && !r.bad && r.sent == (uint64_t)r.nsizes * r.count &&
			      weir_pool_in_use(pool) == 0 ? 0 : 1;
	free(r.seen);
	weir_pool_destroy(pool);
	return err;
}
