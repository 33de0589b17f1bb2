#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of fuzz_gro (tests/fuzz/corpus/gro/): bursts of
records as fuzz_gro.c describes them -- TCPv4 and TCPv6 trains (the first
frame whole, the rest derived from it), trains broken by a pure ACK, a
PSH, a UDP datagram or a second flow, and one with a frame trusted as
CSUM_VALID. Checksums are left to the target's fix bit. The files are
committed; rerun this after changing the record format.

    tests/fuzz/gen_gro_corpus.py [DIR]
"""
import os
import struct
import sys

FIX, DERIVED, VALID = 1, 2, 4
MAC = bytes.fromhex("020000000002020000000001")


def tcp(seq, flags=0x10, opts=b"\x01\x01\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x02", sport=40000):
    doff = (20 + len(opts)) // 4
    return struct.pack("!HHIIBBHHH", sport, 5201, seq, 7, doff << 4, flags, 500, 0, 0) + opts


def ipv4(l4, payload, ident=1):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4) + len(payload), ident, 0x4000,
                      64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    return MAC + b"\x08\x00" + hdr + l4 + payload


def ipv6(l4, payload):
    hdr = struct.pack("!IHBB16s16s", 0x60000000, len(l4) + len(payload), 6, 64,
                      bytes([0xfd] + [0] * 14 + [1]), bytes([0xfd] + [0] * 14 + [2]))
    return MAC + b"\x86\xdd" + hdr + l4 + payload


def rec(flags, b):
    return bytes([flags]) + struct.pack("<H", len(b)) + b


def train(first, n, plen=200, last=None):
    out = rec(FIX, first)
    for i in range(n):
        out += rec(FIX | DERIVED, bytes((i * 7 + j) & 0xFF for j in range(plen)))
    if last is not None:
        out += last
    return out


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                          "corpus", "gro")
    os.makedirs(d, exist_ok=True)
    p = bytes(range(200))
    udp = MAC + b"\x08\x00" + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 36, 9, 0, 64, 17, 0,
                                          bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + \
        struct.pack("!HHHH", 1, 2, 16, 0) + b"x" * 8
    seeds = {
        "v4_train": train(ipv4(tcp(1000), p), 6),
        "v6_train": train(ipv6(tcp(1000), p), 6),
        "v4_short_last": train(ipv4(tcp(1000), p), 4, 200,
                               rec(FIX | DERIVED, b"z" * 50)),
        "v4_psh": train(ipv4(tcp(5, 0x18), p), 3),
        "v4_ack_between": train(ipv4(tcp(1000), p), 2) + rec(FIX, ipv4(tcp(1600), b"")) +
        rec(FIX, ipv4(tcp(1600), p, 4)) + rec(FIX | DERIVED, p),
        "v4_udp_and_flows": train(ipv4(tcp(1000), p), 2) + rec(0, udp) +
        train(ipv4(tcp(9, sport=40001), p), 2),
        "v4_valid_trusted": rec(FIX, ipv4(tcp(1000), p)) + rec(DERIVED | VALID, p) +
        rec(FIX | DERIVED, p),
    }
    for name, b in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(b)


if __name__ == "__main__":
    main()
