#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
# A Linux UDP socket against an echo server: sends datagrams of the given
# sizes to every port given, waits for each to come back, and checks it
# byte for byte (payload and source address). A lost datagram is retried
# twice (a stale late echo of a retried size is skipped). Exit 1 with a
# message on the first mismatch or a datagram never echoed.
#   udp_echo_client.py [--bind ADDR] SERVER PORT[,PORT...] SIZE[,SIZE...] [RANDOM_N]
import random
import socket
import sys

args = sys.argv[1:]
bind = None
if args and args[0] == "--bind":
    bind, args = args[1], args[2:]
server, ports = args[0], [int(p) for p in args[1].split(",")]
sizes = [int(s) for s in args[2].split(",")]
rng = random.Random(11)
if len(args) > 3:
    sizes += [rng.randint(1, 65507) for _ in range(int(args[3]))]

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
if bind:
    s.bind((bind, 0))
s.settimeout(1.0)
retried = 0
for port in ports:
    addr = (server, port)
    for n in sizes:
        data = bytes(rng.getrandbits(8) for _ in range(64)) * (n // 64 + 1)
        data = data[:n]
        for attempt in range(3):
            s.sendto(data, addr)
            try:
                while True:
                    got, frm = s.recvfrom(70000)
                    if got == data or len(got) != n:
                        break
            except socket.timeout:
                retried += 1
                continue
            break
        else:
            sys.exit("FAIL: no echo of %d bytes from %s:%d in 3 tries" % (n, server, port))
        if frm != addr or got != data:
            sys.exit("FAIL: echo of %d bytes differs (%d bytes from %s)" % (n, len(got), frm))
print("UDP echo: %d datagrams of %d..%d bytes on ports %s byte-exact (%d retried)"
      % (len(sizes) * len(ports), min(sizes), max(sizes), args[1], retried))
