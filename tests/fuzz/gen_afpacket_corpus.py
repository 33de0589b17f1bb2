#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Seeds for fuzz_afpacket_rx: TPACKET_V3 ring blocks as the kernel lays
them out (two 2 KiB blocks after a mode byte): plain frames, frames with a
virtio_net_hdr (partial checksum, GSO), a VLAN tag the kernel moved out,
an empty retired block, and headers that point out of their block."""
import os
import struct
import sys

BLOCK = 2048
HDR = 48            # struct tpacket3_hdr
MAC = 96 - 14       # where the kernel puts the MAC header (TPACKET3_HDRLEN aligned)
VLAN_VALID, VLAN_TPID_VALID, CSUMNOTREADY = 1 << 4, 1 << 6, 1 << 3


def frame(payload, nxt, mac=MAC, vlan=None, snap=None, vnet=b""):
    snap = len(payload) if snap is None else snap
    status = 1  # TP_STATUS_USER
    tci, tpid = 0, 0
    if vlan is not None:
        status |= VLAN_VALID | VLAN_TPID_VALID
        tci, tpid = vlan, 0x8100
    h = struct.pack("<IIIIIIHHIIHH8x", nxt, 0, 0, snap, len(payload), status, mac, mac + 14,
                    0x1234, tci, tpid, 0)
    assert len(h) == HDR
    body = h + b"\0" * (mac - HDR - len(vnet)) + vnet + payload
    return body


def block(frames, first=HDR):
    out = b""
    offs = []
    pos = first
    for i, f in enumerate(frames):
        offs.append(pos)
        pos += (len(f) + 15) & ~15
    buf = bytearray(BLOCK)
    struct.pack_into("<IIIIIIQ", buf, 0, 1, 0, 1, len(frames), first, pos, 1)
    for f, o in zip(frames, offs):
        buf[o:o + len(f)] = f
    return bytes(buf[:BLOCK])


def udp_frame(n=64):
    eth = bytes.fromhex("020000000002020000000001") + b"\x08\x00"
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, n - 14, 1, 0, 64, 17, 0, bytes([10, 0, 0, 1]),
                     bytes([10, 0, 0, 2]))
    udp = struct.pack("!HHHH", 9000, 9, n - 34, 0)
    return eth + ip + udp + bytes(range(n - 42))


def two(frames):
    """frames with their next offsets filled in"""
    out = []
    for i, p in enumerate(frames):
        size = (MAC + len(p) + 15) & ~15
        out.append((p, size if i + 1 < len(frames) else 0))
    return out


def main(d):
    os.makedirs(d, exist_ok=True)
    u = udp_frame()
    vnet = struct.pack("<BBHHHH", 1, 0, 0, 0, 34, 6)  # NEEDS_CSUM at 34+6
    seeds = {
        "plain": b"\x00" + block([frame(p, n) for p, n in two([u, udp_frame(200)])]) * 2,
        "copy_keep": b"\x0e" + block([frame(p, n) for p, n in two([u, u, u])]) + block([]),
        "vnet": b"\x01" + block([frame(u, 0, vnet=vnet)]) + block([frame(u, 0, vnet=vnet)]),
        "vlan": b"\x00" + block([frame(u, 0, vlan=100)]) + block([]),
        "truncated": b"\x00" + block([frame(u, 0, snap=40)]) + block([]),
        "next_out_of_block": b"\x00" + block([frame(u, 4000), frame(u, 0)]) + block([]),
        "mac_out_of_block": b"\x00" + block([frame(u, 0, mac=2040)]) + block([]),
        "first_out_of_block": b"\x00" + block([frame(u, 0)], first=HDR)[:8] +
                              struct.pack("<III", 1, 1, 5000) + b"\0" * (BLOCK - 20) + block([]),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus",
                                                               "afpacket_rx"))
