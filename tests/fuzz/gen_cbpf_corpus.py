#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of fuzz_cbpf (tests/fuzz/corpus/cbpf/): each
expression of fuzz_cbpf.c's list (by index, byte 0) on frames that reach
deep into it: IPv4 UDP to port 53 from 10.0.0.1, a TCP SYN to port 80, an
IPv4 fragment, IPv6 TCP and UDP, ARP, ARP and UDP behind one or two VLAN
tags, MPLS, PPPoE, LLDP, and cut short (byte 1: bytes of snaplen below
the frame). And a few raw programs (byte 0 with the top bit: 1 + low six
bits instructions of 8 bytes each) that bpf_validate accepts. The files
are committed; rerun after changing the list of expressions.

    tests/fuzz/gen_cbpf_corpus.py [DIR]     (DIR: tests/fuzz/corpus/cbpf)
"""
import os
import struct
import sys

NEXPR = 37
ETH = bytes.fromhex("020000000001020000000002")


def ip4(proto, l4, frag=0, src="10.0.0.1", dst="10.0.0.2"):
    a = bytes(int(x) for x in src.split(".")) + bytes(int(x) for x in dst.split("."))
    return struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(l4), 1, frag, 64, proto, 0) + a + l4


def ip6(nh, l4):
    return struct.pack("!IHBB", 0x60000000, len(l4), nh, 64) + bytes(15) + b"\x01" + bytes(15) + b"\x01" + l4


UDP53 = struct.pack("!HHHH", 1000, 53, 12, 0) + b"\x12\x34\x56\x78"
SYN80 = struct.pack("!HHIIBBHHH", 1234, 80, 1, 0, 0x50, 0x02, 8192, 0, 0)
ARP = bytes.fromhex("0001080006040001") + bytes(20)
FRAMES = [
    ETH + b"\x08\x00" + ip4(17, UDP53),
    ETH + b"\x08\x00" + ip4(6, SYN80),
    ETH + b"\x08\x00" + ip4(17, UDP53, frag=0x2001),
    ETH + b"\x86\xdd" + ip6(6, SYN80),
    ETH + b"\x86\xdd" + ip6(17, UDP53),
    ETH + b"\x08\x06" + ARP,
    ETH + b"\x81\x00\x00\x64\x08\x06" + ARP,
    ETH + b"\x81\x00\x00\x64\x08\x00" + ip4(17, UDP53),
    ETH + b"\x88\xa8\x00\x01\x81\x00\x00\x64\x08\x00" + ip4(17, UDP53),
    ETH + b"\x88\x47\x00\x01\x01\x40" + ip4(17, UDP53),
    ETH + b"\x88\x64\x11\x00\x00\x01\x00\x20\x00\x21" + ip4(17, UDP53),
    ETH + b"\x88\xcc" + bytes(32),
]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "cbpf")
    os.makedirs(out, exist_ok=True)
    n = 0
    for e in range(NEXPR):
        f = FRAMES[e % len(FRAMES)]
        cut = 0 if e % 3 else 20
        with open(os.path.join(out, "expr%02d" % e), "wb") as fp:
            fp.write(bytes((e, cut)) + f)
        n += 1
    # raw: ldh [12]; jeq #0x800 jt 0 jf 1; ret #-1; ret #0 / ld len; add #3; tax; txa; ret a
    raws = [
        [(0x28, 0, 0, 12), (0x15, 0, 1, 0x800), (0x06, 0, 0, 0xFFFFFFFF), (0x06, 0, 0, 0)],
        [(0x80, 0, 0, 0), (0x04, 0, 0, 3), (0x07, 0, 0, 0), (0x87, 0, 0, 0), (0x16, 0, 0, 0)],
        [(0xB1, 0, 0, 14), (0x48, 0, 0, 16), (0x45, 0, 1, 0x35), (0x06, 0, 0, 1), (0x06, 0, 0, 0)],
    ]
    for i, prog in enumerate(raws):
        b = bytes((0x80 | (len(prog) - 1), 0))
        b += b"".join(struct.pack("<HBBI", *ins) for ins in prog)
        with open(os.path.join(out, "raw%d" % i), "wb") as fp:
            fp.write(b + FRAMES[i])
        n += 1
    print("%d files in %s" % (n, out))


if __name__ == "__main__":
    main()
