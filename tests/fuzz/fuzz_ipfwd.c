// SPDX-License-Identifier: BSD-3-Clause
/*
 * Fuzz target: the router's decisions on a received IPv4 header and the
 * fragmentation of what it forwards (stack/ipfwd.c, include/weir/ipfwd.h),
 * as weir-fwd's l3 engine runs them on every frame from the wire.
 *
 * Input: byte 0 picks the next link's MTU (68 + byte * 8), byte 1 the
 * segment size the datagram is cut into (0: as few as fit), the rest is
 * the IP datagram (any bytes). The router owns 10.1.0.1/24 and 10.2.0.1/24.
 *
 * Properties: classify reads nothing past what it was given, and every
 * verdict but BAD_HDR fills a header consistent with the bytes (IHL and
 * total length inside them, checksum valid); for FORWARD, the TTL
 * decrement leaves a valid checksum and TTL - 1; fragmenting a valid
 * datagram gives fragments of at most the MTU with valid headers whose
 * payloads put together are the original's, or fails leaving it as it
 * was; no packet buffer is left out of the pool.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "weir/ipfwd.h"
#include "weir/offload.h"
#include "weir/pkt.h"
#include "weir/pool.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                        \
	do {                                                                            \
		if (!(c)) {                                                             \
			fprintf(stderr, "fuzz_ipfwd: %s:%d: %s\n", __FILE__, __LINE__, #c); \
			abort();                                                        \
		}                                                                       \
	} while (0)

#define MAX_FRAGS 512

static struct weir_pool *pool;
static struct weir_ipfwd_addrs addrs;
static uint8_t hdr[64], flat[70000], back[70000];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int err;

	(void)argc, (void)argv;
	err = weir_pool_create(&(struct weir_pool_conf){.name = "fuzz", .n = 4096, .huge = 2}, &pool);
	if (err || !pool)
		abort();
	weir_ipfwd_addrs_add(&addrs, 0x0a010001, 24);
	weir_ipfwd_addrs_add(&addrs, 0x0a020001, 24);
	return 0;
}

static bool csum_ok(const uint8_t *ip, unsigned ihl)
{
	return weir_csum_fold(weir_csum_add(0, ip, ihl)) == 0xffff;
}

/* The datagram's bytes as a chain of seg-byte segments (0: full buffers). */
static struct weir_pkt *make_pkt(const uint8_t *d, size_t len, size_t seg)
{
	struct weir_pkt *head = NULL;
	size_t off = 0;

	while (off < len) {
		struct weir_pkt *p = weir_pkt_alloc(pool);
		size_t n = WEIR_MIN(len - off, (size_t)weir_pkt_tailroom(p));

		CHECK(p);
		if (seg && n > seg)
			n = seg;
		memcpy(weir_pkt_put(p, (uint16_t)n), d + off, n);
		off += n;
		if (!head)
			head = p;
		else if (weir_pkt_chain(head, p)) {
			weir_pkt_free(p);
			weir_pkt_free(head);
			return NULL;
		}
	}
	return head;
}

static void fragment(const uint8_t *d, const struct weir_ipfwd_hdr *h, uint32_t mtu, size_t seg)
{
	struct weir_pkt *out[MAX_FRAGS];
	struct weir_pkt *p = make_pkt(d, h->tot_len, seg);
	uint32_t got = 0, payload = h->tot_len - h->ihl;
	int n;

	if (!p)
		return;
	n = weir_ipfwd_fragment(p, mtu, pool, out, MAX_FRAGS);
	if (n < 0) {
		CHECK(p->pkt_len == h->tot_len); /* untouched */
		weir_pkt_free(p);
		return;
	}
	for (int i = 0; i < n; i++) {
		uint32_t len = out[i]->pkt_len;

		CHECK(len <= mtu && len > h->ihl);
		CHECK(!weir_pkt_copy_out(out[i], 0, len, flat));
		CHECK(csum_ok(flat, h->ihl));
		CHECK((uint32_t)(flat[2] << 8 | flat[3]) == len);
		CHECK(got + len - h->ihl <= payload);
		memcpy(back + got, flat + h->ihl, len - h->ihl);
		got += len - h->ihl;
		weir_pkt_free(out[i]);
	}
	CHECK(got == payload);
	CHECK(!memcmp(back, d + h->ihl, payload));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weir_ipfwd_hdr h;
	enum weir_ipfwd_verdict v;
	const uint8_t *ip;
	uint32_t mtu;
	size_t len, seg;

	if (size < 2)
		return 0;
	mtu = 68 + (uint32_t)data[0] * 8;
	seg = data[1];
	ip = data + 2;
	len = size - 2;
	v = weir_ipfwd_classify(&addrs, ip, (uint32_t)WEIR_MIN(len, 60u), (uint32_t)len, &h);
	CHECK(weir_ipfwd_verdict_name(v)[0] != 'u');
	if (v == WEIR_IPFWD_BAD_HDR)
		return 0;
	CHECK(h.ihl >= 20 && h.ihl <= h.tot_len && h.tot_len <= len && csum_ok(ip, h.ihl));
	if (v == WEIR_IPFWD_FORWARD) {
		memcpy(hdr, ip, h.ihl);
		weir_ipfwd_ttl_dec(hdr);
		CHECK(hdr[8] == h.ttl - 1 && csum_ok(hdr, h.ihl));
	}
	if (h.tot_len > h.ihl)
		fragment(ip, &h, mtu, seg);
	CHECK(weir_pool_in_use(pool) == 0);
	return 0;
}
