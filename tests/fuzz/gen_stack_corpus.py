#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpora of fuzz_stack_rx and fuzz_stack_frag
(tests/fuzz/corpus/stack_rx/, tests/fuzz/corpus/stack_frag/) in the input
formats their headers describe: ARP exchanges, UDP echo (plain, fragmented,
VLAN-tagged, with IP options, with checksum offload), pings (plain and
fragmented), closed ports, unknown protocols, malformed headers, a
reassembly timeout; and fragment sequences in order, reversed, duplicated,
overlapping, from many sources, 64 KiB from 45 fragments, tiny fragments,
segmented, with budgets changed on the way. The files are committed; rerun
this after changing an input format.

    tests/fuzz/gen_stack_corpus.py [DIR]     (DIR: tests/fuzz/corpus)
"""
import os
import struct
import sys

US, PEER, GW = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), bytes([10, 0, 0, 254])
V_US, V_PEER = bytes([192, 168, 1, 1]), bytes([192, 168, 1, 2])
MAC_US, MAC_PEER = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
BCAST = b"\xff" * 6


def fold(s):
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def csum(b, s=0):
    if len(b) & 1:
        b += b"\0"
    for i in range(0, len(b), 2):
        s += b[i] << 8 | b[i + 1]
    return s


def eth(dst, typ, vlan=0, src=MAC_PEER):
    h = dst + src
    if vlan:
        h += struct.pack("!HH", 0x8100, vlan)
    return h + struct.pack("!H", typ)


def arp(op, spa, tpa, sha=MAC_PEER, tha=b"\0" * 6):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def ipv4(src, dst, proto, payload, ident=1, frag=0, opts=b"", bad_csum=False):
    ihl = 20 + len(opts)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl // 4, 0, ihl + len(payload), ident, frag, 64,
                    proto, 0, src, dst) + opts
    ck = ~fold(csum(h)) & 0xFFFF
    if bad_csum:
        ck ^= 0x0101
    return h[:10] + struct.pack("!H", ck) + h[12:] + payload


def udp(src, dst, sport, dport, data):
    length = 8 + len(data)
    pseudo = csum(src + dst, 17 + length)
    u = struct.pack("!HHHH", sport, dport, length, 0) + data
    ck = ~fold(csum(u, pseudo)) & 0xFFFF or 0xFFFF
    return u[:6] + struct.pack("!H", ck) + u[8:]


def icmp_echo(data, ident=0x1234, seq=1):
    m = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    return m[:2] + struct.pack("!H", ~fold(csum(m)) & 0xFFFF) + m[4:]


def pattern(n, seed=0):
    return bytes((seed * 31 + i * 7 + (i >> 8) * 13) & 0xFF for i in range(n))


def fragments(src, dst, proto, datagram, chunk=1480, ident=7, vlan=0):
    out = []
    for off in range(0, len(datagram), chunk):
        piece = datagram[off:off + chunk]
        mf = 0x2000 if off + chunk < len(datagram) else 0
        out.append(eth(MAC_US, 0x0800, vlan) + ipv4(src, dst, proto, piece, ident, off // 8 | mf))
    return out


def rec(frame, ctl=0):
    return struct.pack("!HB", len(frame), ctl) + frame


def timer(ticks):
    return struct.pack("!HB", 0, ticks)


ARP_REQ = eth(BCAST, 0x0806) + arp(1, PEER, US)
ARP_REPLY = eth(MAC_US, 0x0806) + arp(2, PEER, US, tha=MAC_US)


def udp_frame(dport=7, data=b"hello weir", src=PEER, dst=US, vlan=0, opts=b""):
    return eth(MAC_US, 0x0800, vlan) + ipv4(src, dst, 17, udp(src, dst, 4444, dport, data),
                                             opts=opts)


def rx_corpus():
    big = udp(PEER, US, 4444, 7, pattern(4000, 1))
    ping_big = icmp_echo(pattern(3000, 2))
    c = {
        "arp_request": b"\x00" + rec(ARP_REQ),
        "arp_resolve_then_echo": b"\x04" + rec(udp_frame()) + rec(ARP_REPLY),
        "udp_echo": b"\x04" + rec(ARP_REQ) + rec(udp_frame()),
        "udp_echo_offload": b"\x05" + rec(ARP_REQ) + rec(udp_frame(data=pattern(1000))),
        "udp_fragmented_echo": b"\x04" + rec(ARP_REQ) +
        b"".join(rec(f) for f in fragments(PEER, US, 17, big)),
        "udp_fragmented_reversed_tiny_budget": b"\x06" + rec(ARP_REQ) +
        b"".join(rec(f) for f in reversed(fragments(PEER, US, 17, big))),
        "ping": b"\x00" + rec(ARP_REQ) + rec(eth(MAC_US, 0x0800) +
                                            ipv4(PEER, US, 1, icmp_echo(pattern(56)))),
        "ping_fragmented": b"\x00" + rec(ARP_REQ) +
        b"".join(rec(f) for f in fragments(PEER, US, 1, ping_big)),
        "vlan": b"\x04" + rec(eth(BCAST, 0x0806, 10) + arp(1, V_PEER, V_US)) +
        rec(udp_frame(src=V_PEER, dst=V_US, vlan=10)),
        "closed_port": b"\x00" + rec(ARP_REQ) + rec(udp_frame(dport=9)),
        "unknown_protocol": b"\x00" + rec(ARP_REQ) +
        rec(eth(MAC_US, 0x0800) + ipv4(PEER, US, 132, pattern(16))),
        "ip_options": b"\x04" + rec(ARP_REQ) + rec(udp_frame(opts=b"\x01\x01\x01\x00")),
        "bad_headers": b"\x00" +
        rec(eth(MAC_US, 0x0800) + ipv4(PEER, US, 17, udp(PEER, US, 1, 7, b"x"), bad_csum=True)) +
        rec(udp_frame()[:14] + b"\x44" + udp_frame()[15:]) +
        rec(udp_frame()[:30]) +
        rec(udp_frame()[:-1] + b"\x00"),
        "split_segments": b"\x04" + rec(ARP_REQ, 5) + rec(udp_frame(data=pattern(200)), 0x07),
        "checksum_flags": b"\x04" + rec(ARP_REQ) + rec(udp_frame(), 0x40) + rec(udp_frame(), 0x80),
        "arp_spoof": b"\x00" + rec(ARP_REQ) +
        rec(eth(MAC_US, 0x0806, src=b"\x02\0\0\0\0\x66") +
            arp(2, PEER, US, sha=b"\x02\0\0\0\0\x66", tha=MAC_US)) +
        rec(eth(BCAST, 0x0806) + arp(1, US, US, sha=b"\x02\0\0\0\0\x66")),
        "routed_reply": b"\x04" + rec(udp_frame(src=bytes([8, 8, 8, 8]))) +
        rec(eth(MAC_US, 0x0806, src=b"\x02\0\0\0\0\xfe") +
            arp(2, GW, US, sha=b"\x02\0\0\0\0\xfe", tha=MAC_US)),
        "reassembly_timeout": b"\x00" + rec(ARP_REQ) +
        rec(fragments(PEER, US, 17, big)[0]) + timer(255) + timer(255),
        "arp_retries": b"\x04" + rec(udp_frame()) + timer(12) + timer(12) + timer(12) + timer(12),
    }
    return c


def frec(src, ident, off, mf, length, seg=0, ticks=1):
    return struct.pack("!BBHHBB", src, ident, off // 8 | (0x2000 if mf else 0), length, seg, ticks)


def split(total, chunk, src=0, ident=1, seg=0):
    return [frec(src, ident, off, off + chunk < total, min(chunk, total - off), seg)
            for off in range(0, total, chunk)]


def frag_corpus():
    c = {
        "in_order": b"\x35" + b"".join(split(4000, 1480)),
        "reversed": b"\x35" + b"".join(reversed(split(4000, 1480))),
        "duplicate": b"\x35" + b"".join(split(3000, 1000)[:1] * 2 + split(3000, 1000)[1:]),
        "overlap": b"\x35" + frec(0, 2, 0, True, 1000) + frec(0, 2, 992, True, 1008) +
        b"".join(split(3000, 1000, ident=3)),
        "sources_interleaved": b"\x46" + b"".join(
            a + b for a, b in zip(split(3000, 1000, src=1, ident=9),
                                  split(3000, 1000, src=2, ident=9))),
        "largest_from_45": b"\x08" + b"".join(split(65515, 1480, ident=4)),
        "tiny_fragments": b"\x07" + b"".join(split(320, 8, ident=5)),
        "segmented": b"\x35" + b"".join(split(3000, 1000, ident=6, seg=7)),
        "budget_changes": b"\x35" + b"".join(split(3000, 1000, ident=7)[:2]) +
        struct.pack("!BBHHBB", 0, 2, 0, 1, 0, 0xFF) + split(3000, 1000, ident=7)[2],
        "inconsistent_end": b"\x35" + frec(0, 8, 2000, False, 1000) + frec(0, 8, 1000, False, 1000),
        "timeout": b"\x35" + frec(0, 9, 0, True, 1000) + frec(1, 10, 0, True, 0, 0, 250) * 13,
    }
    return c


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    for name, corpus in (("stack_rx", rx_corpus()), ("stack_frag", frag_corpus())):
        d = os.path.join(top, name)
        os.makedirs(d, exist_ok=True)
        for fn, data in corpus.items():
            with open(os.path.join(d, fn), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
