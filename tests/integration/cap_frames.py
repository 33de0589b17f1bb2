#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes a classic pcap of N frames (default 400) of eight kinds in turn,
for weir-cap's tests: DNS queries and answers over UDP/IPv4, TCP SYNs, TCP
segments of random length, ARP requests, DNS in an 802.1Q tag (PCP 3,
VID 100), UDP over IPv6 and ICMP echo. Deterministic (seeded).

    cap_frames.py OUT.pcap [N]
"""
import random
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def eth(dst, src, typ):
    return bytes(dst) + bytes(src) + struct.pack("!H", typ)


def ip4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                    bytes(src), bytes(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def udp(sp, dp, data):
    return struct.pack("!HHHH", sp, dp, 8 + len(data), 0) + data


def tcp(sp, dp, flags):
    return struct.pack("!HHIIBBHHH", sp, dp, 1, 0, 0x50, flags, 1000, 0, 0)


def frame(i, rnd):
    a, b, c = [10, 0, 0, 1], [10, 0, 0, 2], [192, 168, 1, 9]
    m1, m2 = [2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]
    k = i % 8
    if k == 0:
        return eth(m1, m2, 0x800) + ip4(a, b, 17, udp(1000 + i % 5000, 53, b"q" * 20))
    if k == 1:
        return eth(m2, m1, 0x800) + ip4(b, a, 17, udp(53, 1000 + i % 5000, b"r" * 40))
    if k == 2:
        return eth(m1, m2, 0x800) + ip4(c, b, 6, tcp(4000 + i % 5000, 80, 0x02))
    if k == 3:
        return (eth(m1, m2, 0x800) + ip4(c, b, 6, tcp(4000 + i % 5000, 80, 0x10)) +
                b"x" * rnd.randint(0, 1200))
    if k == 4:
        return eth([255] * 6, m1, 0x806) + struct.pack(
            "!HHBBH6s4s6s4s", 1, 0x800, 6, 4, 1, bytes(m1), bytes(a), b"\0" * 6, bytes(b))
    if k == 5:
        return (eth(m1, m2, 0x8100) + struct.pack("!HH", (3 << 13) | 100, 0x800) +
                ip4(a, c, 17, udp(5, 53, b"v" * 10)))
    if k == 6:
        pl = udp(7, 8, b"6" * 30)
        return (eth(m1, m2, 0x86DD) + struct.pack("!IHBB", 6 << 28, len(pl), 17, 64) +
                bytes([0xFE] * 16) + bytes([0x20] * 16) + pl)
    return eth(m1, m2, 0x800) + ip4(a, c, 1, b"\x08\0\0\0" + b"p" * 56)


def main():
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 400
    rnd = random.Random(1)
    with open(sys.argv[1], "wb") as o:
        o.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for i in range(n):
            f = frame(i, rnd)
            o.write(struct.pack("<IIII", 1700000000 + i // 100, (i % 100) * 10000, len(f),
                                len(f)) + f)


main()
