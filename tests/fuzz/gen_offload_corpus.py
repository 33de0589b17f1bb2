#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of fuzz_offload (tests/fuzz/corpus/offload/):
TCP and UDP super-frames over IPv4 and IPv6 (VLAN tags, IP options, IPv6
destination options, TCP timestamps), partial and valid frames, a frame
without a UDP checksum, and ARP, each behind the 12-byte preamble that
fuzz_offload.c describes. The files are committed; rerun this after
changing the preamble.

    tests/fuzz/gen_offload_corpus.py [DIR]
"""
import os
import struct
import sys

CSUM_PARTIAL, CSUM_VALID = 1, 2
GSO = {"none": 0, "tcpv4": 1, "udp": 2, "tcpv6": 3, "udp_l4": 4}
ECN, OUT_PARTIAL, TINY_POOL = 0x20, 0x40, 0x80


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


def frame(ipv=4, proto=6, vlans=0, ip_opts=0, tcp_opts=0, payload=64,
          flags=0x18, ck="partial", seed=0):
    l4h = 20 + tcp_opts if proto == 6 else 8
    l4_len = l4h + payload
    eth = bytes.fromhex("020000000002020000000001")
    for v in range(vlans):
        eth += struct.pack("!HH", 0x88A8 if v == 0 and vlans == 2 else 0x8100, 100 + v)
    eth += struct.pack("!H", 0x0800 if ipv == 4 else 0x86DD)
    if ipv == 4:
        ihl = 20 + ip_opts
        ip = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl // 4, 0, ihl + l4_len, 0x1234,
                         0x4000, 64, proto, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        ip += b"\x01" * ip_opts
        ip = ip[:10] + struct.pack("!H", ~fold(csum(ip)) & 0xFFFF) + ip[12:]
        pseudo = csum(ip[12:20], proto + l4_len)
    else:
        src = bytes([0xFD] + [0] * 14 + [1])
        dst = bytes([0xFD] + [0] * 14 + [2])
        ip = struct.pack("!IHBB16s16s", 0x60000000, ip_opts + l4_len,
                         60 if ip_opts else proto, 64, src, dst)
        if ip_opts:
            ip += bytes([proto, ip_opts // 8 - 1, 1, ip_opts - 4]) + b"\0" * (ip_opts - 4)
        pseudo = csum(src + dst, proto + (l4_len >> 16) + (l4_len & 0xFFFF))
    if proto == 6:
        opts = b"\x01\x01\x08\x0a\x00\x01\x02\x03\x04\x05\x06\x07" if tcp_opts else b""
        l4 = struct.pack("!HHIIBBHHH", 40000, 5201, 1000, 2000, (l4h // 4) << 4, flags,
                         502, 0, 0) + opts
    else:
        l4 = struct.pack("!HHHH", 40000, 5201, l4_len, 0)
    l4 += bytes((seed + i * 7 + (i >> 8) * 13) & 0xFF for i in range(payload))
    field = 16 if proto == 6 else 6
    if ck == "partial":
        value = fold(pseudo)
    elif ck == "valid":
        value = ~fold(csum(l4, pseudo)) & 0xFFFF or (0xFFFF if proto == 17 else 0)
    else:
        value = 0
    l4 = l4[:field] + struct.pack("!H", value) + l4[field + 2:]
    return eth + ip + l4, len(eth) + len(ip), field


def seed(name, f, cuts=(0, 0), ctl=0, gso_size=0, max_segs=64, field=True):
    data, l4, off = f
    pre = struct.pack("!HHBHHHB", cuts[0], cuts[1], ctl, l4 if field else 0,
                      off if field else 0, gso_size, max_segs)
    with open(os.path.join(OUT, name), "wb") as fh:
        fh.write(pre + data)


OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus", "offload")
os.makedirs(OUT, exist_ok=True)

seed("tcp4_gso", frame(vlans=1, tcp_opts=12, payload=6000, flags=0x99), cuts=(7, 160),
     ctl=CSUM_PARTIAL | GSO["tcpv4"] << 2 | ECN, gso_size=1448)
seed("tcp4_gso_partial_out", frame(ip_opts=8, tcp_opts=12, payload=3000), cuts=(40, 41),
     ctl=CSUM_PARTIAL | GSO["tcpv4"] << 2 | OUT_PARTIAL, gso_size=1000)
seed("tcp4_gso_e2big", frame(payload=4000), ctl=GSO["tcpv4"] << 2, gso_size=500, max_segs=3)
seed("tcp6_gso", frame(ipv=6, ip_opts=8, tcp_opts=12, payload=5000, flags=0x19),
     cuts=(20, 70), ctl=CSUM_PARTIAL | GSO["tcpv6"] << 2, gso_size=1000)
seed("udp4_gso", frame(proto=17, payload=3000), cuts=(3000, 0),
     ctl=CSUM_PARTIAL | GSO["udp_l4"] << 2, gso_size=1200)
seed("udp6_gso_qinq_tiny", frame(ipv=6, proto=17, vlans=2, payload=4000, ck="valid"),
     cuts=(50, 2000), ctl=GSO["udp_l4"] << 2 | TINY_POOL, gso_size=1400)
seed("ufo", frame(proto=17, payload=3000), ctl=GSO["udp"] << 2, gso_size=1200)
seed("tcp4_partial", frame(vlans=1, ip_opts=4, tcp_opts=12, payload=101), cuts=(55, 56),
     ctl=CSUM_PARTIAL)
seed("tcp4_partial_nometa", frame(payload=77), cuts=(30, 0), field=False)
seed("udp6_partial", frame(ipv=6, proto=17, ip_opts=16, payload=33), cuts=(61, 0),
     ctl=CSUM_PARTIAL)
seed("udp6_partial_nometa", frame(ipv=6, proto=17, payload=20), field=False)
seed("tcp6_valid", frame(ipv=6, vlans=2, payload=64, ck="valid"), cuts=(14, 100))
seed("udp4_nocsum", frame(proto=17, payload=18, ck="zero"), field=False)
seed("arp", (bytes.fromhex("ffffffffffff0200000000010806") + bytes(28), 14, 0), field=False)
