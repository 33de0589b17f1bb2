#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Writes the seed corpus of fuzz_raid_sb (tests/fuzz/corpus/raid_sb/):
valid superblocks of RAID0, RAID1 (mid-rebuild) and RAID5 (degraded),
the same with the 'F' byte that makes the target fix the checksum, a
damaged one, a foreign version and an empty block. The layout is the one
pmd/raid_sb.c documents; the files are committed, rerun this after
changing it.

    tests/fuzz/gen_raid_sb_corpus.py [DIR]
"""
import os
import struct
import sys


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc


def sb(level, members, chunk, lbs, member_blocks, gen, role, flags=0,
       rebuild_slot=-1, rebuild_rows=0, states=None, fix=False):
    states = (states or [0] * members) + [0] * (16 - members)
    b = bytearray(4096)
    b[0:8] = b"WEIRRAID"
    struct.pack_into("<II", b, 8, 1, 256)
    b[16:32] = bytes(range(1, 17))
    struct.pack_into("<IIII", b, 32, level, members, chunk, lbs)
    struct.pack_into("<QQQQ", b, 48, 1 << 20, member_blocks, gen, 1700000000 * 10**9)
    struct.pack_into("<IIiI", b, 80, role, flags, rebuild_slot, 0)
    struct.pack_into("<Q", b, 96, rebuild_rows)
    b[104:120] = bytes(states)
    struct.pack_into("<I", b, 252, crc32c(bytes(b[:252])))
    if fix:
        b[256] = ord("F")
    return bytes(b)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "raid_sb")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "raid5_clean": sb(5, 3, 65536, 512, 128 * 32, 7, 1, flags=1),
        "raid5_degraded_fix": sb(5, 4, 65536, 4096, 16 * 10, 9, 0, states=[0, 1, 0, 0], fix=True),
        "raid1_rebuilding": sb(1, 2, 4096, 512, 8 * 64, 3, 1, rebuild_slot=1, rebuild_rows=5,
                               states=[0, 2]),
        "raid1_rebuilding_fix": sb(1, 2, 4096, 512, 8 * 64, 3, 1, rebuild_slot=1,
                                   rebuild_rows=5, states=[0, 2], fix=True),
        "raid0_fix": sb(0, 16, 1 << 20, 4096, 256 * 4, 1, 15, fix=True),
        "raid5_bad_crc": sb(5, 3, 65536, 512, 128 * 32, 7, 1)[:100] + b"\xff" +
                         sb(5, 3, 65536, 512, 128 * 32, 7, 1)[101:],
        "version2_fix": b"WEIRRAID" + struct.pack("<I", 2) + bytes(243) + b"F",
        "empty": bytes(4096),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
