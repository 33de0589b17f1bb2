/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Software offloads: Internet checksums (RFC 1071), completing partial
 * checksums (Linux's CHECKSUM_PARTIAL, virtio's NEEDS_CSUM), locating
 * headers, segmenting GSO super-frames into wire frames (software GSO), and
 * coalescing a burst's TCP segments into super-frames (software GRO).
 * The offload metadata itself lives in struct weir_pkt (pkt.h), in
 * virtio_net_hdr's terms.
 *
 * Checksum sums. A sum is a 32-bit ones'-complement accumulator (end-around
 * carry), like Linux's __wsum: only its value folded to 16 bits means
 * anything, and sums of disjoint pieces combine by ones'-complement
 * addition. Bytes are summed as the host loads them (native-endian words),
 * which gives the right checksum on either byte order (RFC 1071 §2(B)) as
 * long as the folded value is also stored as the host stores it:
 *
 *     uint16_t ck = (uint16_t)~weir_csum_fold(sum);
 *     memcpy(field, &ck, 2);               // not htons(ck)
 *
 * and a checksum field is compared with a folded sum after memcpy() out of
 * the packet, without ntohs(). Summing adds 8 bytes per step with an
 * add-with-carry, in two independent carry chains (no per-byte loop).
 *
 * Packet bytes are untrusted: every function here bounds what it reads by
 * pkt_len, across segments of any shape, and never writes outside the
 * bytes it documents. Thread safety: none of these functions keeps state;
 * the packet being worked on must belong to the caller.
 */
#ifndef WEIR_OFFLOAD_H
#define WEIR_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"
#include "pool.h"

/* --- checksums -------------------------------------------------------- */

/* Adds the ones'-complement sum of len bytes at buf to sum and returns the
 * new sum. buf may have any alignment and len any value; an odd last byte
 * is padded with zero, as RFC 1071 says, so a buffer that is continued
 * elsewhere must be combined with weir_csum_block_add(). */
uint32_t weir_csum_add(uint32_t sum, const void *buf, size_t len);

/* Ones'-complement sum of two sums. */
static inline uint32_t weir_csum_combine(uint32_t a, uint32_t b)
{
	uint32_t s = a + b;

	return s + (s < a); /* end-around carry */
}

/* Adds `block`, the sum of a piece that starts `off` bytes into the span
 * `sum` covers, to `sum`: a piece at an odd offset has its bytes in the
 * other half of each 16-bit word, so its sum is byte-swapped first
 * (Linux's csum_block_add). This is what makes sums over chains with
 * odd-length segments right. */
static inline uint32_t weir_csum_block_add(uint32_t sum, uint32_t block, size_t off)
{
	if (off & 1)
		block = block >> 8 | block << 24; /* x * 2^24 == x * 2^8 (mod 0xffff) */
	return weir_csum_combine(sum, block);
}

/* Folds a sum to 16 bits, NOT complemented: the value a partial checksum
 * field holds for a pseudo-header sum. The checksum to store is its
 * complement, ~weir_csum_fold(sum). Never returns 0 for a sum that is not
 * 0: ones'-complement zero comes out as 0xffff. */
static inline uint16_t weir_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Sums of the TCP/UDP pseudo-headers: saddr and daddr point at the
 * addresses as they are in the IP header (4 or 16 bytes, any alignment),
 * proto is the L4 protocol number and l4_len the L4 header + payload
 * length, both in host order. For IPv6 the destination is the final one
 * (a routing header would change it; weir's parsers refuse those). */
uint32_t weir_csum_pseudo_ipv4(const void *saddr, const void *daddr, uint8_t proto,
			       uint32_t l4_len);
uint32_t weir_csum_pseudo_ipv6(const void *saddr, const void *daddr, uint8_t proto,
			       uint32_t l4_len);

/* Adds the sum of the len bytes at offset off of packet p (across its
 * segments, whatever their lengths and alignments) to sum. Bytes beyond
 * pkt_len are not read: the caller checks off + len <= pkt_len. */
uint32_t weir_pkt_csum(const struct weir_pkt *p, uint32_t off, uint32_t len, uint32_t sum);

/* --- partial checksums ------------------------------------------------ */

/*
 * Completes the partial checksum of p: sums the bytes from csum_start to
 * the end of the packet (pkt_len, across segments; the field itself holds
 * the pseudo-header sum, so it is summed in place) and stores the
 * complemented fold at csum_start + csum_offset. A result of 0 is stored
 * as 0xffff when csum_offset is 6, the UDP checksum's place (RFC 768: 0
 * means "no checksum"; UDP-Lite and DCCP also keep theirs at 6, where
 * 0xffff is the equivalent encoding); TCP keeps 0, as Linux does. Then
 * CSUM_PARTIAL is cleared and CSUM_VALID set.
 * Returns 0; -EINVAL when CSUM_PARTIAL is not set or the field is not
 * inside the packet; -EPERM when the two bytes to write are shared: in a
 * clone (WEIR_PKT_F_INDIRECT) or in a segment with more than one reference
 * (a clone of it is out). On error the packet is unchanged. On a GSO
 * super-frame this is wasted work: weir_gso_segment() computes every
 * segment's checksum from scratch anyway.
 */
int weir_pkt_csum_complete(struct weir_pkt *p);

/*
 * For frames that arrive without offload metadata (AF_XDP): finds out from
 * the bytes whether the TCP or UDP checksum is partial, and completes it.
 * Parses Ethernet, up to two VLAN tags (802.1Q, 802.1ad), IPv4 (options;
 * not fragments) or IPv6 (hop-by-hop and destination options are skipped;
 * routing and fragment headers are not supported), then TCP or UDP, and
 * compares the checksum field with the folded pseudo-header sum. Equal:
 * the checksum is partial and is completed over the L4 bytes the IP
 * length says (Ethernet padding is not summed). This reads only headers
 * unless it completes: the payload is summed only then.
 * A frame with CSUM_VALID set is left alone; one with CSUM_PARTIAL set is
 * completed with weir_pkt_csum_complete(); GSO super-frames are left to
 * weir_gso_segment().
 * Returns 1 when it completed a checksum (CSUM_VALID is then set), 0 when
 * nothing needed doing: not IPv4/IPv6 with TCP/UDP, UDP over IPv4 without
 * checksum (0), field != pseudo-header sum, or a malformed or truncated
 * frame (left untouched: never an error). -EPERM when a checksum needs
 * completing but its bytes are shared (see weir_pkt_csum_complete()).
 * A valid checksum that happens to equal the pseudo-header sum is
 * rewritten with the same value, except that a TCP field of 0xffff (which
 * no RFC 1071 sender writes) becomes the equivalent, equally valid 0x0000
 * (the proof is in offload.c).
 */
int weir_pkt_csum_fix_partial(struct weir_pkt *p);

/* --- headers ---------------------------------------------------------- */

/*
 * Fills l2_len (Ethernet + VLAN tags), l3_len (IPv4 with options, IPv6
 * with hop-by-hop/destination options) and l4_proto from the headers and,
 * for a GSO packet, hdr_len (L2 + L3 + L4 header bytes: what each segment
 * repeats). A protocol other than TCP/UDP above IP is fine (l4_proto says
 * which). Returns 0; -EINVAL when the headers are truncated or malformed,
 * or do not match gso_type (TCPV4 without IPv4 + TCP, ...);
 * -EPROTONOSUPPORT for what is not IPv4/IPv6, IPv4 fragments, IPv6
 * routing/fragment/ESP/AH headers, and UFO (WEIR_PKT_GSO_UDP). On error
 * the packet's metadata is unchanged.
 */
int weir_pkt_offload_parse(struct weir_pkt *p);

/* --- software GSO ----------------------------------------------------- */

enum weir_gso_flags {
	/* Leave each segment's L4 checksum partial (pseudo-header sum in the
	 * field, CSUM_PARTIAL with csum_start/csum_offset set) for a port
	 * that completes it; without it, checksums are computed in full and
	 * CSUM_VALID is set. */
	WEIR_GSO_CSUM_PARTIAL = 1 << 0,
};

/* Largest L2+L3+L4 header weir segments behind (IPv6 extension headers
 * beyond 128 bytes are refused). */
#define WEIR_GSO_HDR_MAX 256

/*
 * Segments super-frame p into wire frames of at most gso_size L4 payload
 * bytes each, as Linux's software GSO does, into out[0..n-1]. Not a GSO
 * packet (gso_type NONE): out[0] = p, returns 1.
 * Each segment is a complete single-segment frame in a buffer from pool:
 * a copy of p's headers (VLAN tags, IP options, TCP options kept) and its
 * slice of the payload, with: IPv4 total length, id (id, id+1, ... as
 * Linux), header checksum; IPv6 payload length; TCP sequence number
 * advanced by gso_size per segment, FIN and PSH on the last segment only,
 * CWR on the first only (tcp_gso_segment); UDP_L4: each segment its own
 * datagram with its own length and checksum (__udp_gso_segment). L4
 * checksums are computed from scratch (p's may be partial) unless flags
 * has WEIR_GSO_CSUM_PARTIAL. port, queue, hash, timestamp, priority and
 * the RX_TSTAMP/ECN_CAPABLE flags are copied from p; l2_len, l3_len and
 * l4_proto are set; gso_type is NONE. The headers decide: p->hdr_len is
 * not read (virtio's hdr_len is only a hint).
 * Returns the number of segments, p consumed (freed). On error p is
 * untouched, still the caller's, and nothing is allocated: -E2BIG when
 * more than max segments are needed; -ENOBUFS when pool has too few
 * buffers; -EMSGSIZE when a segment does not fit one pool buffer;
 * -EINVAL for malformed or truncated headers, headers that do not match
 * gso_type, gso_size 0 or no payload; -EPROTONOSUPPORT for UFO
 * (WEIR_PKT_GSO_UDP).
 */
int weir_gso_segment(struct weir_pkt *p, struct weir_pool *pool, struct weir_pkt **out,
		     uint16_t max, unsigned flags);

/* Segments weir_gso_segment() would make of p: 1 when p is not a GSO
 * packet, 0 when it would fail with -EINVAL or -EPROTONOSUPPORT; at most
 * UINT16_MAX. Reads only headers. */
uint16_t weir_gso_nb_segs(const struct weir_pkt *p);

/* Bytes those segments occupy on the wire, Ethernet header to payload end
 * (pkt_len when p is not a GSO packet or cannot be segmented); at most
 * UINT32_MAX. For schedulers that count wire bytes without segmenting. */
uint32_t weir_gso_wire_len(const struct weir_pkt *p);

/* --- software GRO ----------------------------------------------------- */

/* What weir_gro_burst() did, added to by each call. */
struct weir_gro_stats {
	uint64_t frames;        /* super-frames made */
	uint64_t segs;          /* segments that went into them */
	uint64_t csum_verified; /* segments whose TCP checksum weir verified */
	uint64_t csum_bad;      /* of those, wrong: left unmerged */
};

/* Flows one burst coalesces at once (Linux's GRO keeps 8 per NAPI list). */
#define WEIR_GRO_FLOWS 8
/* Largest IP length of a super-frame: IPv4 total length, IPv6 payload
 * length (16 bits: no jumbograms). */
#define WEIR_GRO_MAX_LEN 65535

/*
 * Software GRO over one burst: coalesces the consecutive in-order segments
 * of each TCP flow (IPv4/IPv6, Linux's tcp_gro_receive() rules, see gro.c)
 * among pkts[0..n-1] into TCPV4/TCPV6 super-frames: the first segment,
 * its IP length, flags and checksum rewritten, with the others' payloads
 * chained behind it; CSUM_PARTIAL (csum_start/csum_offset at the TCP
 * checksum), gso_size the first segment's payload, hdr_len, l2_len,
 * l3_len and l4_proto set. weir_gso_segment() gives back the segments that
 * went in, byte for byte. A segment whose checksum is neither CSUM_VALID
 * nor CSUM_PARTIAL is verified first (the payload is summed) and merged
 * only when good. Everything else passes unchanged. The packets left
 * (super-frames and the rest) are moved to the front of pkts, the order of
 * each flow kept; returns how many. Nothing is kept across calls. st is
 * added to (not reset). The packets must be the caller's, whole frames
 * from the Ethernet header; thread safety: none needed (no state).
 */
uint16_t weir_gro_burst(struct weir_pkt **pkts, uint16_t n, struct weir_gro_stats *st);

#endif
