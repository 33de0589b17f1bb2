# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: The namespaces and veths of the path, and the UDP probe and its reflector."""

import json
import signal
import socket
import struct
import subprocess
import sys
import time
from .common import CLI_IP, PREFIX, SRV_IP, fmt_rate
from .proc import nsexec, run


class Path:
    """cli -- [dly] -- rtr -- srv, built per run and always removed.

    Bottleneck 'weir': rtr runs weir-fwd (shaping + delay) between r0/r1.
    Bottleneck 'kernel': rtr is a Linux bridge with tbf on both egresses;
    the delay, which this kernel cannot add (no netem), comes from a
    weir-fwd with no shaper in an extra namespace dly, so both paths have
    the same base RTT. Veths are created directly inside the namespaces, so
    nothing appears in the root namespace even briefly."""

    def __init__(self, tag, with_dly, offloads="keep"):
        self.tag = tag
        self.offloads = offloads
        self.cli, self.rtr, self.srv = f"wb{tag}c", f"wb{tag}r", f"wb{tag}s"
        self.dly = f"wb{tag}d" if with_dly else None
        self.made = []

    def all_ns(self):
        return [n for n in (self.cli, self.dly, self.rtr, self.srv) if n]

    def ip(self, ns, *args):
        run(["ip", "-n", ns] + list(args))

    def setup(self):
        for ns in self.all_ns():
            self.made.append(ns)    # first: an interrupted add is still removed
            run(["ip", "netns", "add", ns])
            run(nsexec(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                            "net.ipv6.conf.default.disable_ipv6=1"]))
            self.ip(ns, "link", "set", "lo", "up")
        # cli:c0 -- (dly: d0 d1 --) rtr: r0 r1 -- srv:s0
        if self.dly:
            run(["ip", "link", "add", "c0", "netns", self.cli, "type", "veth", "peer", "name", "d0",
                 "netns", self.dly])
            run(["ip", "link", "add", "d1", "netns", self.dly, "type", "veth", "peer", "name", "r0",
                 "netns", self.rtr])
        else:
            run(["ip", "link", "add", "c0", "netns", self.cli, "type", "veth", "peer", "name", "r0",
                 "netns", self.rtr])
        run(["ip", "link", "add", "r1", "netns", self.rtr, "type", "veth", "peer", "name", "s0",
             "netns", self.srv])
        links = [(self.cli, "c0"), (self.rtr, "r0"), (self.rtr, "r1"), (self.srv, "s0")]
        if self.dly:
            links += [(self.dly, "d0"), (self.dly, "d1")]
        for ns, dev in links:
            # --offloads keep (default): the veths stay as Linux makes them
            # (tx-checksumming, TSO, GSO on), as users' hosts are; weir-fwd
            # completes partial checksums and segments super-frames in front
            # of its shaper. --offloads off: wire frames only, real checksums.
            if self.offloads == "off":
                run(nsexec(ns, ["ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off",
                                "tx", "off", "rx", "off"]), check=False)
            self.ip(ns, "link", "set", dev, "up")
        self.ip(self.cli, "addr", "add", f"{CLI_IP}/{PREFIX}", "dev", "c0")
        self.ip(self.srv, "addr", "add", f"{SRV_IP}/{PREFIX}", "dev", "s0")
        # Permanent neighbour entries: on this L2 path ARP would cross the
        # bottleneck, and an ARP probe tail-dropped under load parks every
        # packet to that host in the neighbour queue until a retry 1 s later
        # (seen here as 600 ms stalls). The probes must measure the queue.
        mac = {ns: json.loads(run(["ip", "-j", "-n", ns, "link", "show", dev]).stdout)[0]["address"]
               for ns, dev in ((self.cli, "c0"), (self.srv, "s0"))}
        self.ip(self.cli, "neigh", "replace", SRV_IP, "lladdr", mac[self.srv], "dev", "c0",
                "nud", "permanent")
        self.ip(self.srv, "neigh", "replace", CLI_IP, "lladdr", mac[self.cli], "dev", "s0",
                "nud", "permanent")

    def kernel_bottleneck(self, rate_bps, limit_bytes):
        self.ip(self.rtr, "link", "add", "br0", "type", "bridge", "stp_state", "0",
                "forward_delay", "0")
        for dev in ("r0", "r1"):
            self.ip(self.rtr, "link", "set", dev, "master", "br0")
            run(nsexec(self.rtr, ["tc", "qdisc", "replace", "dev", dev, "root", "tbf", "rate",
                                  fmt_rate(rate_bps), "burst", "32k", "limit", str(limit_bytes)]))
        self.ip(self.rtr, "link", "set", "br0", "up")

    def kernel_stats(self):
        st = {"drops": 0, "marks": 0, "overlimits": 0, "per_port": {}}
        for dev in ("r0", "r1"):
            r = run(nsexec(self.rtr, ["tc", "-s", "-j", "qdisc", "show", "dev", dev]), check=False)
            try:
                for q in json.loads(r.stdout):
                    if q.get("kind") == "tbf":
                        st["per_port"][dev] = {k: q.get(k) for k in
                                               ("bytes", "packets", "drops", "overlimits", "backlog")}
                        st["drops"] += q.get("drops", 0)
                        st["overlimits"] += q.get("overlimits", 0)
            except (ValueError, TypeError):
                pass
        return st

    def teardown(self):
        # In their own session: the terminal's next Ctrl-C does not reach them.
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL,
                           start_new_session=True)
        self.made = []


# ---------------------------------------------------------------- probes

def udp_reflect(port):
    """Server side of the UDP probe: echo every datagram back."""
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        data, addr = s.recvfrom(2048)
        s.sendto(data, addr)


def udp_probe(dst, port, interval):
    """Client side: one datagram every `interval` s carrying (seq, send
    time); prints 'seq t_send_wall rtt_ms' for every echo, and
    'lost seq t_send_wall' for probes not back within 2 s."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((dst, port))
    s.setblocking(False)
    pending = {}
    seq = 0
    nxt = time.monotonic()
    out = sys.stdout
    while True:
        now = time.monotonic()
        if now >= nxt:
            seq += 1
            pending[seq] = (now, time.time())
            try:
                s.send(struct.pack("!Qd", seq, now) + b"\0" * 48)
            except OSError:
                pass
            nxt += interval
            if nxt < now:
                nxt = now + interval
        try:
            while True:
                data = s.recv(2048)
                rseq, t0 = struct.unpack("!Qd", data[:16])
                p = pending.pop(rseq, None)
                if p:
                    out.write(f"{rseq} {p[1]:.6f} {(time.monotonic() - t0) * 1e3:.3f}\n")
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        for k in [k for k, v in pending.items() if now - v[0] > 2.0]:
            out.write(f"lost {k} {pending.pop(k)[1]:.6f}\n")
        out.flush()
        import select
        select.select([s], [], [], max(0.0, min(nxt - time.monotonic(), 0.05)))
