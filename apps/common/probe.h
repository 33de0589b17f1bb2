/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * weir-gen's probe frames: Ethernet / IPv4 / UDP with a 22-byte payload
 * that fits a 64-byte frame:
 *
 *   offset  size  field
 *   0       2     magic "WG"
 *   2       1     version (1)
 *   3       1     flags (PROBE_F_REFLECTED: sent back by a reflector)
 *   4       2     flow id (big endian)
 *   6       8     sequence number within the flow (big endian)
 *   14      8     scheduled send time, CLOCK_MONOTONIC ns (big endian)
 *
 * The time is when the packet was *scheduled* to leave, not when it did, so
 * a sender that stalls cannot hide the delay it caused (no coordinated
 * omission). CLOCK_MONOTONIC is shared by all network namespaces of one
 * machine, so one-way latency between two weir-gen processes is meaningful.
 *
 * probe_parse() reads untrusted bytes: it checks every length and field
 * before using it and never reads outside [frame, frame + len).
 */
#ifndef WEIR_APP_PROBE_H
#define WEIR_APP_PROBE_H

#include <stddef.h>
#include <stdint.h>

#define PROBE_PAYLOAD_LEN 22
#define PROBE_HDRS_LEN 42 /* Ethernet 14 + IPv4 20 + UDP 8 */
#define PROBE_MIN_FRAME 64
#define PROBE_MAX_FRAME 9000
#define PROBE_VERSION 1
#define PROBE_F_REFLECTED 0x01

struct probe {
	uint16_t flow;
	uint8_t flags;
	uint64_t seq;
	uint64_t sched_ns;
};

/* Addresses of one flow, host byte order for IPs and ports. */
struct probe_addr {
	uint8_t dst_mac[6], src_mac[6];
	uint32_t src_ip, dst_ip;
	uint16_t src_port, dst_port;
	uint8_t ttl, tos;
};

/* Precomputed headers of one flow; the per-packet work is a copy, two
 * lengths and a checksum fold. */
struct probe_tmpl {
	uint8_t hdr[PROBE_HDRS_LEN];
	uint32_t csum_part; /* IPv4 header sum without total length */
};

void probe_tmpl_init(struct probe_tmpl *t, const struct probe_addr *a);
/* Writes a complete len-byte frame (PROBE_MIN_FRAME..PROBE_MAX_FRAME) into
 * buf: headers from t, the probe, zeros after it. */
void probe_write(uint8_t *buf, uint16_t len, const struct probe_tmpl *t, const struct probe *p);

/*
 * Finds a probe in an untrusted frame: Ethernet (optionally one 802.1Q tag),
 * IPv4 without fragmentation, UDP, magic and version. 0 and *out, or
 * -EINVAL when it is not a well-formed probe. If payload_off is not NULL it
 * receives the payload's offset in the frame.
 */
int probe_parse(const uint8_t *frame, size_t len, struct probe *out, size_t *payload_off);

/* Turns a frame probe_parse() accepted around: swaps MACs, IPs and UDP
 * ports, sets PROBE_F_REFLECTED and clears the UDP checksum (optional in
 * IPv4; the flag change would invalidate it). The IPv4 checksum stays valid
 * because swapping addresses does not change the sum. */
void probe_reflect(uint8_t *frame, size_t payload_off);

/* Internet checksum (RFC 1071) of len bytes. */
uint16_t probe_csum(const void *data, size_t len);

#endif
