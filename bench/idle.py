#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""bench/idle.sh's probes: ICMP echoes 1 s apart and the kernel's own
timestamps of them on both hosts' interfaces, so the one-way time through
the box in the middle is measured to the microsecond, without the noise of
waking the measuring processes (every timestamp is taken by the kernel as
the frame passes, SO_TIMESTAMPNS on packet sockets).

    idle.py ping COUNT INTERVAL DST IDENT    echo requests; prints RTTs (us)
    idle.py sniff IFNAME IDENT               prints "type seq dir ns" per frame
    idle.py join A_LOG B_LOG BASE_US         one-way statistics, see join()
    idle.py cpu PID                          prints "ticks ns" (utime+stime,
                                             the threads' run time)
    idle.py hist JSON_FILE NAME              "p50 p90 max count" (us) of a
                                             weir-gen summary's histogram
"""
import glob
import json
import os
import socket
import struct
import sys
import time

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)  # Linux's value
PACKET_OUTGOING = 4


def csum(b):
    b += b"\0" * (len(b) & 1)
    v = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    v = (v >> 16) + (v & 0xFFFF)
    return ~(v + (v >> 16)) & 0xFFFF


def stamp(anc):
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
            sec, nsec = struct.unpack("qq", data[:16])
            return sec * 10**9 + nsec
    return time.clock_gettime_ns(time.CLOCK_REALTIME)


def ping(count, interval, dst, ident):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    s.settimeout(2.0)
    for seq in range(count):
        body = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"weir-idle" * 6
        pkt = body[:2] + struct.pack("!H", csum(body)) + body[4:]
        t0 = time.clock_gettime_ns(time.CLOCK_REALTIME)
        s.sendto(pkt, (dst, 0))
        while True:
            try:
                data, anc, _, _ = s.recvmsg(2048, 256)
            except socket.timeout:
                print("lost", flush=True)
                break
            ihl = (data[0] & 15) * 4
            typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
            if typ == 0 and rid == ident and rseq == seq:
                print(f"{(stamp(anc) - t0) / 1000:.1f}", flush=True)
                break
        time.sleep(interval)


def sniff(ifname, ident):
    # ETH_P_ALL: frames going out are shown only to taps of every protocol.
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
    s.bind((ifname, 0))
    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    print("ready", flush=True)
    while True:
        data, anc, _, addr = s.recvmsg(256, 256)
        if addr[1] != 0x0800 or len(data) < 28 or data[9] != 1:
            continue
        ihl = (data[0] & 15) * 4
        typ, _, _, rid, seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if rid != ident or typ not in (0, 8):
            continue
        way = "out" if addr[2] == PACKET_OUTGOING else "in"
        print(f"{typ} {seq} {way} {stamp(anc)}", flush=True)


def load(path):
    seen = {}
    for line in open(path):
        f = line.split()
        if len(f) == 4:
            seen.setdefault((int(f[0]), int(f[1]), f[2]), int(f[3]))
    return seen


def join(a_log, b_log, base_us):
    """Prints "req_p50 req_p90 req_max rep_p50 n": the requests' one-way
    time from a's interface (out) to b's (in), the first frame after a
    second of idle, and the replies' from b back to a, minus base_us each,
    in microseconds; "- - - - 0" when nothing matched."""
    a, b = load(a_log), load(b_log)
    req, rep = [], []
    for (typ, seq, way), t in a.items():
        if typ == 8 and way == "out" and (8, seq, "in") in b:
            req.append((b[(8, seq, "in")] - t) / 1000 - base_us)
        if typ == 0 and way == "in" and (0, seq, "out") in b:
            rep.append((t - b[(0, seq, "out")]) / 1000 - base_us)
    if not req:
        print("- - - - 0")
        return
    req.sort()
    rep.sort()
    q = lambda v, p: v[min(len(v) - 1, int(p * len(v)))] if v else float("nan")
    print(f"{q(req, .5):.0f} {q(req, .9):.0f} {req[-1]:.0f} {q(rep, .5):.0f} {len(req)}")


def cpu(pid):
    st = open(f"/proc/{pid}/stat").read()
    f = st[st.rindex(")") + 2:].split()
    ns = 0
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            ns += int(open(path).read().split()[0])
        except (OSError, IndexError, ValueError):
            pass
    print(int(f[11]) + int(f[12]), ns)


def hist(path, name):
    text = open(path).read()
    try:
        h = json.loads(text[text.index("{"):])[name]
        print(f"{h['p50_ns'] / 1000:.0f} {h['p90_ns'] / 1000:.0f} {h['max_ns'] / 1000:.0f} "
              f"{h['count']}")
    except (ValueError, KeyError):
        print("- - - 0")


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "ping" and len(argv) == 6:
        ping(int(argv[2]), float(argv[3]), argv[4], int(argv[5], 0))
    elif cmd == "sniff" and len(argv) == 4:
        sniff(argv[2], int(argv[3], 0))
    elif cmd == "join" and len(argv) == 5:
        join(argv[2], argv[3], float(argv[4]))
    elif cmd == "cpu" and len(argv) == 3:
        cpu(argv[2])
    elif cmd == "hist" and len(argv) == 4:
        hist(argv[2], argv[3])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except KeyboardInterrupt:
        sys.exit(0)
    except BrokenPipeError:
        os._exit(0)
