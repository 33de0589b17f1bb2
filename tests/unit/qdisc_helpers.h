/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Shared by the qdisc test suites: one pool per test, packets with real
 * Ethernet/IPv4/UDP headers (so flow hashing, DSCP and ECN see what they
 * would on the wire), a checksum checker, and Jain's fairness index.
 */
#ifndef TEST_QDISC_HELPERS_H
#define TEST_QDISC_HELPERS_H

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "weir/pkt.h"
#include "weir/pool.h"
#include "weir/qdisc.h"

static struct weir_pool *pool;

static inline void pool_setup(void)
{
	struct weir_pool_conf pc = { .name = "qdisc-test", .n = 32768, .cache_size = UINT32_MAX };
	int err = 0;

	err = weir_pool_create(&pc, &pool);
	cr_assert_eq(err, 0, "pool: %d", err);
}

static inline void pool_teardown(void)
{
	cr_expect_eq(weir_pool_in_use(pool), 0, "packet buffers leaked: %u", weir_pool_in_use(pool));
	weir_pool_destroy(pool);
}

static inline uint16_t ip_csum(const uint8_t *h, unsigned len)
{
	uint32_t s = 0;

	for (unsigned i = 0; i < len; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* A UDP/IPv4 frame of `len` bytes (>= 42) from port sport, with TOS tos. */
static inline struct weir_pkt *mk_udp(uint16_t sport, uint32_t len, uint8_t tos)
{
	struct weir_pkt *p = weir_pkt_alloc(pool);
	uint8_t *d;
	uint16_t cs;

	cr_assert_not_null(p, "pool empty");
	cr_assert(len >= 42);
	d = weir_pkt_put(p, (uint16_t)len);
	cr_assert_not_null(d);
	memset(d, 0, len);
	memcpy(d, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00", 14);
	d[14] = 0x45;
	d[15] = tos;
	d[16] = (uint8_t)((len - 14) >> 8);
	d[17] = (uint8_t)(len - 14);
	d[22] = 64;
	d[23] = 17;
	memcpy(d + 26, "\x0a\0\0\x01\x0a\0\0\x02", 8);
	cs = ip_csum(d + 14, 20);
	d[24] = (uint8_t)(cs >> 8);
	d[25] = (uint8_t)cs;
	d[34] = (uint8_t)(sport >> 8);
	d[35] = (uint8_t)sport;
	d[36] = 0x23;
	d[37] = 0x28;
	d[38] = (uint8_t)((len - 34) >> 8);
	d[39] = (uint8_t)(len - 34);
	p->udata64 = sport; /* the tests' flow id */
	return p;
}

static inline double jain(const double *x, int n)
{
	double s = 0, s2 = 0;

	for (int i = 0; i < n; i++) {
		s += x[i];
		s2 += x[i] * x[i];
	}
	return s2 > 0 ? s * s / (n * s2) : 0;
}

static inline struct weir_qdisc *mkq(const char *spec)
{
	struct weir_qdisc *q = NULL;
	char why[256];
	int r = weir_qdisc_create(spec, &q, why, sizeof(why));

	cr_assert_eq(r, 0, "'%s': %s", spec, why);
	return q;
}

#endif
