// SPDX-License-Identifier: BSD-3-Clause
/*
 * Building and parsing weir-gen probe frames (see probe.h). All multi-byte
 * fields are written and read byte by byte: frames can start at any
 * alignment and the code must not depend on host endianness.
 */
#include <errno.h>
#include <string.h>

#include "probe.h"

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t sum16(const uint8_t *d, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += get16(d + i);
	if (len & 1)
		s += (uint32_t)d[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

uint16_t probe_csum(const void *data, size_t len)
{
	return fold(sum16(data, len));
}

void probe_tmpl_init(struct probe_tmpl *t, const struct probe_addr *a)
{
	uint8_t *e = t->hdr, *ip = e + 14, *udp = ip + 20;

	memset(t, 0, sizeof(*t));
	memcpy(e, a->dst_mac, 6);
	memcpy(e + 6, a->src_mac, 6);
	put16(e + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = a->tos;
	/* ip[2..3] total length and ip[10..11] checksum: per packet. */
	put16(ip + 6, 0x4000); /* DF: probes must not be fragmented */
	ip[8] = a->ttl ? a->ttl : 64;
	ip[9] = 17;
	put32(ip + 12, a->src_ip);
	put32(ip + 16, a->dst_ip);
	put16(udp, a->src_port);
	put16(udp + 2, a->dst_port);
	t->csum_part = sum16(ip, 20);
}

void probe_write(uint8_t *buf, uint16_t len, const struct probe_tmpl *t, const struct probe *p)
{
	uint8_t *ip = buf + 14, *udp = ip + 20, *pl = udp + 8;
	uint16_t ip_len = (uint16_t)(len - 14);

	memcpy(buf, t->hdr, PROBE_HDRS_LEN);
	put16(ip + 2, ip_len);
	put16(ip + 10, fold(t->csum_part + ip_len));
	put16(udp + 4, (uint16_t)(ip_len - 20));
	pl[0] = 'W';
	pl[1] = 'G';
	pl[2] = PROBE_VERSION;
	pl[3] = p->flags;
	put16(pl + 4, p->flow);
	put64(pl + 6, p->seq);
	put64(pl + 14, p->sched_ns);
	if (len > PROBE_HDRS_LEN + PROBE_PAYLOAD_LEN)
		memset(pl + PROBE_PAYLOAD_LEN, 0, len - PROBE_HDRS_LEN - PROBE_PAYLOAD_LEN);
}

int probe_parse(const uint8_t *f, size_t len, struct probe *out, size_t *payload_off)
{
	size_t l3 = 14, ihl, ip_len, udp_len;
	const uint8_t *ip, *udp, *pl;
	uint16_t type;

	if (len < 14)
		return -EINVAL;
	type = get16(f + 12);
	if (type == 0x8100) {
		if (len < 18)
			return -EINVAL;
		type = get16(f + 16);
		l3 = 18;
	}
	if (type != 0x0800 || len < l3 + 20)
		return -EINVAL;
	ip = f + l3;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	if ((ip[0] >> 4) != 4 || ihl < 20 || l3 + ihl > len)
		return -EINVAL;
	ip_len = get16(ip + 2);
	/* Trailing padding after the IP datagram is allowed (short frames are
	 * padded to 60 bytes); a datagram longer than the frame is not. */
	if (ip_len < ihl + 8 || l3 + ip_len > len)
		return -EINVAL;
	if ((get16(ip + 6) & 0x3fff) != 0 || ip[9] != 17)
		return -EINVAL; /* a fragment, or not UDP */
	udp = ip + ihl;
	udp_len = get16(udp + 4);
	if (udp_len < 8 + PROBE_PAYLOAD_LEN || udp_len > ip_len - ihl)
		return -EINVAL;
	pl = udp + 8;
	if (pl[0] != 'W' || pl[1] != 'G' || pl[2] != PROBE_VERSION)
		return -EINVAL;
	out->flags = pl[3];
	out->flow = get16(pl + 4);
	out->seq = get64(pl + 6);
	out->sched_ns = get64(pl + 14);
	if (payload_off)
		*payload_off = (size_t)(pl - f);
	return 0;
}

void probe_reflect(uint8_t *f, size_t payload_off)
{
	uint8_t *pl = f + payload_off, *udp = pl - 8, t[6];
	uint8_t *ip;

	memcpy(t, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, t, 6);
	/* The IP header starts right after Ethernet (and a tag, if any). */
	ip = f + (get16(f + 12) == 0x8100 ? 18 : 14);
	memcpy(t, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, t, 4);
	memcpy(t, udp, 2);
	memcpy(udp, udp + 2, 2);
	memcpy(udp + 2, t, 2);
	put16(udp + 6, 0);
	pl[3] |= PROBE_F_REFLECTED;
}
