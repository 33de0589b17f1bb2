#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of fuzz_pcap (tests/fuzz/corpus/pcap/): small
valid capture files in every form libpcap reads and weir's replay takes:
classic pcap in microseconds and nanoseconds, both byte orders, a snapped
frame, a zero-length record, out-of-order timestamps; pcapng as weir
writes it (SHB, IDB with if_name and if_tsresol=9, EPBs with epb_flags,
ISB), big-endian pcapng, microsecond pcapng (no if_tsresol), two
interfaces, a Simple Packet Block, a frame longer than a pool buffer; and
two foreign files (Linux cooked capture, text). The files are committed;
rerun this after changing the driver's input handling.

    tests/fuzz/gen_pcap_corpus.py [DIR]     (DIR: tests/fuzz/corpus/pcap)
"""
import os
import struct
import sys


def frame(i, n=64):
    eth = bytes.fromhex("020000000001020000000002") + b"\x88\xb5"
    return (eth + bytes((i * 7 + j) & 255 for j in range(n)))[:n]


def classic(frames, e="<", nsec=False, linktype=1, snaplen=65535):
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)
    for ts, data, origlen in frames:
        sec, frac = divmod(ts, 10**9)
        if not nsec:
            frac //= 1000
        out += struct.pack(e + "IIII", sec, frac, len(data), origlen) + data
    return out


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def opt(e, code, val):
    return struct.pack(e + "HH", code, len(val)) + pad4(val)


def block(e, btype, body):
    n = 12 + len(body)
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def shb(e):
    body = struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1)
    return block(e, 0x0A0D0D0A, body + opt(e, 4, b"weir") + opt(e, 0, b""))


def idb(e, name=b"weir0", tsresol=9, linktype=1):
    opts = opt(e, 2, name)
    if tsresol is not None:
        opts += opt(e, 9, bytes([tsresol]))
    return block(e, 1, struct.pack(e + "HHI", linktype, 0, 262144) + opts + opt(e, 0, b""))


def epb(e, ifid, ts, data, origlen=None, flags=2):
    body = struct.pack(e + "IIIII", ifid, ts >> 32, ts & 0xFFFFFFFF, len(data),
                       origlen or len(data)) + pad4(data)
    body += opt(e, 2, struct.pack(e + "I", flags)) + opt(e, 0, b"")
    return block(e, 6, body)


def isb(e, ifid, ts, recv, drop):
    body = struct.pack(e + "III", ifid, ts >> 32, ts & 0xFFFFFFFF)
    body += opt(e, 4, struct.pack(e + "Q", recv)) + opt(e, 5, struct.pack(e + "Q", drop))
    return block(e, 5, body + opt(e, 0, b""))


def spb(e, data):
    return block(e, 3, struct.pack(e + "I", len(data)) + pad4(data))


T0 = 1700000000 * 10**9


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "pcap")
    os.makedirs(out, exist_ok=True)
    three = [(T0 + i * 1000000, frame(i, 60 + i * 10), 60 + i * 10) for i in range(3)]
    files = {
        "classic_usec": classic(three),
        "classic_nsec": classic(three, nsec=True),
        "classic_big_endian": classic(three, e=">"),
        "classic_snapped": classic([(T0, frame(0, 40), 1500)], snaplen=40),
        "classic_zero_len_record": classic([(T0, b"", 0), (T0 + 1, frame(1), 64)]),
        "classic_backwards_time": classic([(T0 + 5000, frame(0), 64), (T0, frame(1), 64)]),
        "classic_jumbo": classic([(T0, frame(0, 3000), 3000)]),
        "classic_sll": classic(three, linktype=113),
        "pcapng_weir": shb("<") + idb("<") + b"".join(epb("<", 0, t, d) for t, d, _ in three)
        + isb("<", 0, T0 + 5000000, 3, 0),
        "pcapng_big_endian": shb(">") + idb(">") + b"".join(epb(">", 0, t, d) for t, d, _ in three),
        "pcapng_usec": shb("<") + idb("<", tsresol=None)
        + b"".join(epb("<", 0, t // 1000, d) for t, d, _ in three),
        "pcapng_two_interfaces": shb("<") + idb("<", b"a") + idb("<", b"b")
        + epb("<", 0, T0, frame(0)) + epb("<", 1, T0 + 1, frame(1)),
        "pcapng_simple_packet": shb("<") + idb("<") + spb("<", frame(0)),
        "pcapng_two_sections": shb("<") + idb("<") + epb("<", 0, T0, frame(0))
        + shb("<") + idb("<") + epb("<", 0, T0 + 1, frame(1)),
        "text": b"this is not a capture file\n",
    }
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
