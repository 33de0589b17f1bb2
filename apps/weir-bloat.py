#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: a bufferbloat meter, flent's RRUL test built in.

It builds a path client -- bottleneck -- server out of network namespaces
and veth pairs, shapes the bottleneck (weir-fwd's scheduler, or the
kernel's own tbf as the comparison baseline), and runs three phases on it:
idle, loaded, idle. Latency probes (ICMP echo answered by the server's
kernel, plus timestamped UDP probes echoed by a reflector) run through all
three; the load is the kernel's TCP (Cubic: this kernel's default, BBR,
keeps queues short by itself and would hide the bloat) in several iperf3
bulk flows in both directions, as RRUL does. The same test runs once per
scheduler, and the report puts them side by side: idle RTT, loaded RTT
p50/p90/p99/max, goodput per flow and total, Jain's fairness, drops/marks,
and the bottleneck itself: its wire utilisation per direction (weir-fwd's
tx counters read from its --stats-socket, or tc's for the kernel tbf) and
the goodput ceiling of this load (payload share of a full-size frame less
the reverse ACKs), so goodput can be judged against what is possible.

Why a script: this is orchestration (namespaces, iperf3, ping, tcpdump), not
a fast path; every sample still comes from real packets. Every child writes
its output to a file in the report directory as it goes, so an interrupted
run (Ctrl-C, a crashed forwarder) still leaves a report of what ran, and
namespaces are always removed (try/finally, and signals turned into an
exception; teardown defers further signals, so a second Ctrl-C cannot cut
it short).

It runs as root, so it writes only into directories it made or the caller
owns, creates each file anew (O_EXCL|O_NOFOLLOW: an old file or a planted
symlink of that name is unlinked, never followed), owner-only and owned by
the user sudo names, keeps weir-fwd's socket in a private temporary
directory, and names its namespaces with its PID and a random token.

Standard library only.
"""

import argparse
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time

PROG = "weir-bloat"
CLI_IP, SRV_IP = "198.18.0.1", "198.18.0.2"   # RFC 2544 benchmarking range
PREFIX = 24
UDP_PORT = 7777
IPERF_PORT = 5201
FRAME = 1514          # bytes on the wire (L2) of a full-size TCP segment
# Headers of a TCP segment as the shapers count it: Ethernet 14 + IPv4 20 +
# TCP 20 + timestamps option 12 (Linux's default). A full-size frame carries
# FRAME - HDR = 1448 payload bytes (95.6%); a pure ACK is HDR bytes.
HDR = 66


class Interrupted(Exception):
    """SIGINT/SIGTERM, turned into an exception so finally-blocks clean up."""


class Fatal(Exception):
    """An error to report to the user as one clear line, exit status 1."""


def log(msg):
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


class SignalGuard:
    """SIGINT/SIGTERM raise Interrupted once. Later ones, and any that come
    while a teardown is shielded, are only noted: a second Ctrl-C must not
    cut the removal of namespaces short. One that came during a shielded
    teardown before any other is raised when the shield drops."""

    def __init__(self):
        self.shield = 0
        self.pending = None
        self.raised = False

    def handler(self, signum, frame):
        name = signal.Signals(signum).name
        if self.raised or self.shield:
            if self.pending is None and not self.raised:
                self.pending = name
            log(f"{name}: finishing teardown first (namespaces, children)")
            return
        self.raised = True
        raise Interrupted(name)

    @contextlib.contextmanager
    def shielded(self):
        self.shield += 1
        try:
            yield
        finally:
            self.shield -= 1
            if not self.shield and self.pending and not self.raised:
                name, self.pending, self.raised = self.pending, None, True
                raise Interrupted(name)


SIGNALS = SignalGuard()


# ---------------------------------------------------------------- files
# Root writing where others can write is how a chosen file gets clobbered.

def caller_ids():
    """Whom the run is for: the user sudo names, else the real user."""
    if os.geteuid() == 0 and os.environ.get("SUDO_UID", "").isdigit():
        return int(os.environ["SUDO_UID"]), int(os.environ.get("SUDO_GID", "0") or 0)
    return os.getuid(), os.getgid()


def give_to_caller(fd_or_path):
    uid, gid = caller_ids()
    if uid != os.geteuid():
        if isinstance(fd_or_path, int):
            os.fchown(fd_or_path, uid, gid)
        else:
            os.chown(fd_or_path, uid, gid, follow_symlinks=False)


def check_dir(path, what):
    """True when path is a directory we may write into, False when it does
    not exist; Fatal when it is a symlink, no directory, someone else's, or
    writable by everyone without the sticky bit."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode):
        raise Fatal(f"{what} {path}: is a symbolic link; weir-bloat runs as root and writes only "
                    "into real directories: name the directory itself")
    if not stat.S_ISDIR(st.st_mode):
        raise Fatal(f"{what} {path}: exists and is not a directory")
    if st.st_uid not in (os.geteuid(), caller_ids()[0]):
        raise Fatal(f"{what} {path}: owned by uid {st.st_uid}, not by you (uid {caller_ids()[0]}); "
                    "weir-bloat runs as root and writes only into directories it made or you own: "
                    "choose another directory or remove this one")
    if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
        raise Fatal(f"{what} {path}: writable by everyone (mode {stat.S_IMODE(st.st_mode):o}): "
                    "choose a directory only you can write")
    return True


def make_dir(path, what):
    """A directory to write into: an existing one that check_dir accepts,
    or a new one made here (mode 0700, given to the caller)."""
    if check_dir(path, what):
        return
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        os.makedirs(parent, exist_ok=True)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        check_dir(path, what)       # made meanwhile: judge it as any other
        return
    give_to_caller(path)


def create_file(path):
    """path opened for writing as a file made now (mode 0600, given to the
    caller): an old file or symlink of that name is unlinked, never
    followed, and O_EXCL|O_NOFOLLOW refuses whatever appears meanwhile."""
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode):
            raise Fatal(f"{path}: is a directory, where weir-bloat writes a file")
        os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
    except FileExistsError:
        raise Fatal(f"{path}: appeared while weir-bloat replaced it: is something else writing "
                    "into this directory?") from None
    give_to_caller(fd)
    return os.fdopen(fd, "w")


# ---------------------------------------------------------------- parsing

def parse_rate(s):
    """tc-style rate: '100mbit', '1gbit', '500kbit', '100m', plain bit/s."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmg]?)(bit|bps)?\s*", s.lower())
    if not m:
        raise ValueError(f"'{s}' is not a rate (e.g. 100mbit, 1gbit)")
    v = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]
    if m.group(3) == "bps":     # tc: bps is bytes per second
        v *= 8
    return v


def parse_time(s, unit="ms"):
    """'20ms', '1.5s', '300us', or a bare number in `unit`; returns seconds."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(us|ms|s)?\s*", s.lower())
    if not m:
        raise ValueError(f"'{s}' is not a duration (e.g. 20ms, 2s)")
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2) or unit]


def fmt_rate(bps):
    if bps >= 1e9 and bps % 1e9 == 0:
        return f"{int(bps / 1e9)}gbit"
    if bps >= 1e6 and bps % 1e6 == 0:
        return f"{int(bps / 1e6)}mbit"
    return f"{int(bps / 1e3)}kbit"


SCHEDULERS = {
    # name: (bottleneck, description)
    "fifo-long": ("weir", "weir tbf + long fifo"),
    "fifo-short": ("weir", "weir tbf + short fifo"),
    "fq_codel": ("weir", "weir tbf + fq_codel"),
    "kernel-tbf": ("kernel", "kernel tbf, long buffer"),
    "kernel-tbf-short": ("kernel", "kernel tbf, short buffer"),
}


def build_args(argv):
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Bufferbloat meter (RRUL-like): idle / loaded / idle phases through a "
                    "shaped bottleneck, once per scheduler, reported side by side. Needs root.",
        epilog="schedulers: " + ", ".join(f"{k} ({v[1]})" for k, v in SCHEDULERS.items()) +
               ". Example: weir-bloat --sched fifo-long,fifo-short,fq_codel --out report/")
    p.add_argument("--sched", default="fifo-long,fifo-short,fq_codel",
                   help="comma-separated schedulers to compare (default %(default)s)")
    p.add_argument("--rate", default="100mbit", help="bottleneck rate (default %(default)s)")
    p.add_argument("--delay", default="20ms",
                   help="one-way delay added by weir-fwd in each direction; base RTT is twice "
                        "this (default %(default)s; 0 for none)")
    p.add_argument("--long-buffer", default="300ms",
                   help="long fifo's buffer, as time at the bottleneck rate (default %(default)s)")
    p.add_argument("--short-buffer", default="5ms",
                   help="short fifo's buffer, as time at the bottleneck rate (default %(default)s)")
    p.add_argument("--idle", default="3s", help="idle phase before and after the load (default %(default)s)")
    p.add_argument("--load", default="10s", help="loaded phase (default %(default)s)")
    p.add_argument("--flows", type=int, default=4,
                   help="TCP bulk flows in EACH direction (default %(default)s)")
    p.add_argument("--cc", default="cubic", help="TCP congestion control of the load (default %(default)s)")
    p.add_argument("--ecn", action="store_true", help="let the TCP load negotiate ECN")
    p.add_argument("--probe-interval", default="20ms",
                   help="interval of each probe stream, ICMP and UDP (default %(default)s)")
    p.add_argument("--port-kind", default="afxdp", choices=["afxdp", "afpacket"],
                   help="weir-fwd driver for its two ports (default %(default)s; afxdp mounts "
                        "bpffs itself if it is missing. afpacket adds up to one block retire period per weir "
                        "receive to the RTT: TPACKET_V3 may hand a block over only on its retire "
                        "timer: 1 ms on a 6.18 kernel, a jiffy on older ones)")
    p.add_argument("--port-args", default=None,
                   help="driver arguments added to both of weir-fwd's port specs (default for "
                        "afpacket: 'blocks=128', a 32 MB RX ring of 256 KiB blocks: zero-copy RX pins ring blocks "
                        "while their frames sit in the delay line and the queue, and the default "
                        "4 MB ring overflows before a 300 ms FIFO fills)")
    p.add_argument("--offloads", default="keep", choices=["keep", "off"],
                   help="the hosts' veth offloads: keep Linux's defaults (tx-checksumming, "
                        "TSO/GSO on: partial checksums and 64 KiB super-frames reach weir-fwd) "
                        "or switch them off with ethtool (default %(default)s)")
    p.add_argument("--weir-fwd", default=None,
                   help="path to weir-fwd (default: next to this program, else $PATH)")
    p.add_argument("--fwd-cpu", type=int, default=1, help="core for weir-fwd (default %(default)s)")
    p.add_argument("--load-cpu", type=int, default=0,
                   help="core for iperf3, probes and capture (default %(default)s)")
    p.add_argument("--out", default="weir-bloat-report", help="report directory (default %(default)s)")
    p.add_argument("--pcap", default=None,
                   help="capture the probe traffic (ICMP and UDP probes) of the first run to this file")
    p.add_argument("--pcap-count", type=int, default=600, help="packets to capture (default %(default)s)")
    p.add_argument("--check", action="store_true",
                   help="exit 3 unless every fq_codel run keeps loaded p99 <= idle + 10 ms, "
                        "uses >= 90%% of the bottleneck rate on the wire in each direction, and "
                        "gets >= 90%% of this load's goodput ceiling (payload share of the frames "
                        "less the reverse ACKs) in each direction")
    a = p.parse_args(argv)

    def bad(msg):
        p.error(msg)      # prints usage + message, exits 2

    try:
        a.rate_bps = parse_rate(a.rate)
        a.delay_s = parse_time(a.delay)
        a.long_s = parse_time(a.long_buffer)
        a.short_s = parse_time(a.short_buffer)
        a.idle_s = parse_time(a.idle, "s")
        a.load_s = parse_time(a.load, "s")
        a.probe_s = parse_time(a.probe_interval)
    except ValueError as e:
        bad(str(e))
    if not 1e6 <= a.rate_bps <= 10e9:
        bad(f"--rate {a.rate}: impossible bottleneck rate; it must be between 1mbit and 10gbit "
            "(a veth path through a user-space forwarder carries a few Gbit/s at most, and below "
            "1mbit the probes alone fill the link)")
    if a.delay_s > 1.0:
        bad(f"--delay {a.delay}: at most 1s one way")
    if not 0.0005 <= a.short_s <= a.long_s <= 10:
        bad("buffers: need 0.5ms <= --short-buffer <= --long-buffer <= 10s")
    if a.idle_s < 1 or a.load_s < 2 or a.idle_s > 600 or a.load_s > 3600:
        bad("phases: need --idle >= 1s and --load >= 2s")
    if not 1 <= a.flows <= 32:
        bad(f"--flows {a.flows}: need 1..32 flows per direction")
    if not 0.002 <= a.probe_s <= 1:
        bad("--probe-interval: need 2ms..1s")
    if a.port_args is None:
        a.port_args = "blocks=128" if a.port_kind == "afpacket" else ""
    a.scheds = [s.strip() for s in a.sched.split(",") if s.strip()]
    if not a.scheds:
        bad("--sched: empty list")
    for s in a.scheds:
        if s not in SCHEDULERS:
            bad(f"--sched: unknown scheduler '{s}' (known: {', '.join(SCHEDULERS)})")
    ncpu = os.cpu_count() or 1
    for opt, c in (("--fwd-cpu", a.fwd_cpu), ("--load-cpu", a.load_cpu)):
        if not 0 <= c < ncpu:
            bad(f"{opt} {c}: this machine has cores 0..{ncpu - 1}")
    return a


# ---------------------------------------------------------------- processes

def run(cmd, check=True, capture=True, timeout=30):
    r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise Fatal(f"'{' '.join(cmd)}' failed ({r.returncode}): {(r.stderr or '').strip()}")
    return r


class Children:
    """Processes this program started, each in its own session (so the
    terminal's Ctrl-C reaches only us and we stop them in order, letting
    ping and iperf3 write their summaries)."""

    def __init__(self):
        self.procs = []

    def start(self, name, cmd, out_path, cpu=None):
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu)] + cmd
        out = create_file(out_path)
        pr = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              start_new_session=True)
        out.close()
        pr.weir_name = name
        pr.weir_out = out_path
        self.procs.append(pr)
        return pr

    def stop(self, pr, sig=signal.SIGINT, grace=3.0):
        if pr.poll() is None:
            try:
                os.killpg(pr.pid, sig)
            except ProcessLookupError:
                pass
            try:
                pr.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(pr.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                pr.wait()
        if pr in self.procs:
            self.procs.remove(pr)
        return pr.returncode

    def stop_all(self):
        for pr in list(reversed(self.procs)):
            self.stop(pr)


def nsexec(ns, cmd):
    return ["ip", "netns", "exec", ns] + cmd


def find_weir_fwd(opt):
    if opt:
        if not (os.path.isfile(opt) and os.access(opt, os.X_OK)):
            raise Fatal(f"--weir-fwd {opt}: not an executable file")
        return os.path.abspath(opt)
    here = os.path.dirname(os.path.realpath(sys.argv[0]))
    for cand in (os.path.join(here, "weir-fwd"), os.path.join(os.path.dirname(os.path.abspath(sys.argv[0])), "weir-fwd")):
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return shutil.which("weir-fwd")


# ---------------------------------------------------------------- topology

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


def parse_ping(path):
    """ping -D -O output -> [(t_send_wall, rtt_ms or None)]."""
    out = []
    rx = re.compile(r"^\[(\d+\.\d+)\] .*icmp_seq=(\d+) .*time=([0-9.]+) ms")
    lost = re.compile(r"^\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)")
    seen = set()
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return out
    for line in lines:
        m = rx.match(line)
        if m:
            rtt = float(m.group(3))
            seq = int(m.group(2))
            if seq in seen:
                continue
            seen.add(seq)
            out.append((float(m.group(1)) - rtt / 1e3, rtt))
            continue
        m = lost.match(line)
        if m:
            # -O reports a probe outstanding after the next one is due; it
            # may still come back (then the later line counts).
            out.append((float(m.group(1)), None, int(m.group(2))))
    # Keep 'no answer' only for sequence numbers that never came back.
    res = []
    for e in out:
        if len(e) == 3:
            if e[2] not in seen:
                seen.add(e[2])
                res.append((e[0], None))
        else:
            res.append(e)
    res.sort()
    return res


def parse_udp(path):
    res = []
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return res
    for line in lines:
        f = line.split()
        try:
            if f[0] == "lost":
                res.append((float(f[2]), None))
            elif len(f) == 3:
                res.append((float(f[1]), float(f[2])))
        except (IndexError, ValueError):
            continue
    res.sort()
    return res


def parse_iperf(path):
    """iperf3 -J --bidir output -> (flows, interval samples, retransmits).
    A flow's goodput is what its receiver got, over the receiver's time."""
    try:
        j = json.load(open(path))
    except (OSError, ValueError):
        return None
    if "error" in j and not j.get("end"):
        return {"error": j["error"]}
    start = j.get("start", {})
    t0 = start.get("timestamp", {}).get("timesecs")
    conn = {c["socket"]: c for c in start.get("connected", [])}
    flows = []
    for s in j.get("end", {}).get("streams", []):
        snd, rcv = s.get("sender", {}), s.get("receiver", {})
        sock = snd.get("socket", rcv.get("socket"))
        # In --bidir the client is the sender of 'up' streams.
        direction = "up" if snd.get("sender", True) else "down"
        nbytes, secs, side = rcv.get("bytes", 0), rcv.get("seconds", 0), "receiver"
        if not nbytes and snd.get("bytes"):
            # An interrupted client never got the server's counts: the
            # sender's bytes are the best that is left (an upper bound).
            nbytes, secs, side = snd["bytes"], snd.get("seconds", 0), "sender"
        flows.append({
            "socket": sock, "dir": direction,
            "port": conn.get(sock, {}).get("local_port"),
            "bytes": nbytes, "seconds": secs, "counted_at": side,
            "mbps": (nbytes * 8 / secs / 1e6) if secs else 0.0,
            "retransmits": snd.get("retransmits"),
        })
    samples = []
    for iv in j.get("intervals", []):
        for st in iv.get("streams", []):
            direction = "up" if st.get("sender", True) else "down"
            samples.append((st.get("start", 0), st.get("end", 0), st.get("socket"), direction,
                            st.get("bits_per_second", 0) / 1e6))
    return {"t0": t0, "flows": flows, "intervals": samples, "error": j.get("error")}


# ---------------------------------------------------------------- statistics

def pct(vals, q):
    if not vals:
        return None
    v = sorted(vals)
    k = (len(v) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def jain(xs):
    xs = [x for x in xs if x is not None]
    if not xs or sum(x * x for x in xs) == 0:
        return None
    return sum(xs) ** 2 / (len(xs) * sum(x * x for x in xs))


def phase_of(t, ph):
    if t < ph["load_start"]:
        return "idle1"
    if t < ph["load_end"]:
        return "loaded"
    return "idle2"


# ---------------------------------------------------------------- one run

def weir_tree(sched, a):
    """The bottleneck's qdisc tree for weir-fwd (include/weir/qdisc.h)."""
    pkts_long = max(2, int(a.rate_bps * a.long_s / 8 / FRAME))
    pkts_short = max(2, int(a.rate_bps * a.short_s / 8 / FRAME))
    shaper = f"tbf rate {fmt_rate(a.rate_bps)} burst 32k"
    return {
        "fifo-long": f"{shaper} / fifo limit {pkts_long}",
        "fifo-short": f"{shaper} / fifo limit {pkts_short}",
        "fq_codel": f"{shaper} / fq_codel",
    }[sched]


def fwd_cmd(fwd, a, p0, p1, egress, delay_s, stats_sock=None):
    """weir-fwd between two ports (see weir-fwd --help): bump in the wire,
    the same tree on both egresses, JSON summary at exit (its stats are
    the report's drops and marks), and with stats_sock its live JSON
    telemetry on that unix socket (read for the link utilisation)."""
    q = f"?{a.port_args}" if a.port_args else ""
    cmd = [fwd, "--mode", "l2", "--port", f"{a.port_kind}:{p0}{q}", "--port", f"{a.port_kind}:{p1}{q}",
           "--cores", str(a.fwd_cpu), "--json", "--quiet"]
    if stats_sock:
        cmd += ["--stats-socket", stats_sock]
    if egress:
        cmd += ["--egress", egress]
    if delay_s > 0:
        cmd += ["--delay", f"{delay_s * 1e3:g}ms"]
    return cmd


def read_fwd_telemetry(path, timeout=2.0):
    """One JSON document from weir-fwd's --stats-socket: a client that
    half-closes at once gets the document and the server closes, as
    weir-stat reads it."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        s.shutdown(socket.SHUT_WR)
        buf = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            buf += d
    return json.loads(buf.decode())


def link_counters(kind, path, sock):
    """Bytes and frames sent so far on each bottleneck egress: 'up' is the
    server side (r1, carries client->server data and the down flows'
    ACKs), 'down' the client side (r0). weir: its ports' tx counters;
    kernel: tbf's own sent counters. Both count Ethernet frames from the
    destination MAC to the end of the payload (no FCS, preamble or gap),
    which is also what both shapers charge against the rate."""
    t = time.time()
    if kind == "weir":
        j = read_fwd_telemetry(sock)
        ports = {p["id"]: p for p in j["ports"]}
        return {"t": t, "up": (ports[1]["tx_bytes"], ports[1]["tx_packets"]),
                "down": (ports[0]["tx_bytes"], ports[0]["tx_packets"])}
    out = {"t": t}
    for dev, d in (("r1", "up"), ("r0", "down")):
        r = run(nsexec(path.rtr, ["tc", "-s", "-j", "qdisc", "show", "dev", dev]), check=False)
        q = [q for q in json.loads(r.stdout) if q.get("kind") == "tbf"][0]
        out[d] = (q["bytes"], q["packets"])
    return out


def run_one(idx, sched, a, fwd, outdir, kids, first, results):
    """One scheduler: build the path, idle / loaded / idle, tear down. The
    result is appended to `results` first thing, so whatever happens, what
    ran is reported."""
    kind = SCHEDULERS[sched][0]
    rdir = os.path.join(outdir, f"{idx}-{sched}")
    make_dir(rdir, "run directory")
    res = {"scheduler": sched, "bottleneck": kind, "dir": rdir, "complete": False,
           "rate_bps": a.rate_bps, "delay_ms": a.delay_s * 1e3, "notes": []}
    results.append(res)
    need_dly = kind == "kernel" and a.delay_s > 0
    if (kind == "weir" or need_dly) and not fwd:
        raise Fatal(f"{sched}: needs weir-fwd, which is not built (build it, or pass --weir-fwd PATH)")
    path = Path(f"-{os.getpid()}-{a.token}-{idx}-", need_dly, a.offloads)
    sock = None
    started = []
    ph = {}
    try:
        path.setup()
        fwd_proc = None
        if kind == "weir":
            tree = weir_tree(sched, a)
            res["tree"] = tree
            # In our private directory: short enough for a unix socket
            # path (107 bytes), and nobody else can put anything there.
            sock = os.path.join(a.sock_dir, f"weir-fwd-{idx}.sock")
            cmd = nsexec(path.rtr, fwd_cmd(fwd, a, "r0", "r1", tree, a.delay_s, sock))
        else:
            limit = int(a.rate_bps * (a.long_s if sched == "kernel-tbf" else a.short_s) / 8)
            res["tree"] = f"tbf rate {fmt_rate(a.rate_bps)} burst 32k limit {limit}"
            path.kernel_bottleneck(a.rate_bps, max(limit, 3000))
            cmd = nsexec(path.dly, fwd_cmd(fwd, a, "d0", "d1", None, a.delay_s)) if need_dly else None
        if cmd:
            res["fwd_cmd"] = " ".join(cmd[4:])
            fwd_proc = kids.start("weir-fwd", cmd, os.path.join(rdir, "weir-fwd.log"), a.fwd_cpu)
        if kind == "kernel" and not need_dly:
            res["notes"].append("no delay emulation (weir-fwd absent or --delay 0)")
        if a.ecn:
            for ns in (path.cli, path.srv):
                run(nsexec(ns, ["sysctl", "-qw", "net.ipv4.tcp_ecn=1"]))

        srv = kids.start("iperf3-server", nsexec(path.srv, ["iperf3", "-s", "-p", str(IPERF_PORT)]),
                         os.path.join(rdir, "iperf3-server.log"), a.load_cpu)
        refl = kids.start("udp-reflector",
                          nsexec(path.srv, [sys.executable, os.path.realpath(__file__),
                                            "_udp-reflect", str(UDP_PORT)]),
                          os.path.join(rdir, "udp-reflector.log"), a.load_cpu)
        started += [srv, refl]

        # The path must forward before we measure anything on it.
        ok = False
        deadline = time.time() + 8
        while time.time() < deadline:
            if fwd_proc and fwd_proc.poll() is not None:
                msg = open(fwd_proc.weir_out, errors="replace").read().strip()
                raise Fatal(f"{sched}: weir-fwd exited ({fwd_proc.returncode}) before the test: "
                            f"{msg[-800:] or '(no output)'}")
            r = run(nsexec(path.cli, ["ping", "-c", "1", "-W", "1", SRV_IP]), check=False)
            if fwd_proc and fwd_proc.poll() is not None:
                continue     # report the forwarder's own words above
            if r.returncode == 0:
                ok = True
                break
        if not ok:
            raise Fatal(f"{sched}: no path from client to server through the bottleneck "
                        f"(see {rdir}/weir-fwd.log)")
        time.sleep(0.3)

        if first and a.pcap:
            # tcpdump opens the path itself: hand it a file made just now.
            create_file(os.path.abspath(a.pcap)).close()
            cap = kids.start("tcpdump", nsexec(path.cli, [
                "tcpdump", "-i", "c0", "-U", "-s", "128", "-Z", "root", "-c", str(a.pcap_count),
                "-w", os.path.abspath(a.pcap), f"icmp or udp port {UDP_PORT}"]),
                os.path.join(rdir, "tcpdump.log"), a.load_cpu)
            started.append(cap)
            time.sleep(0.5)

        t0 = time.time()
        ph["t0"] = t0
        ping = kids.start("ping", nsexec(path.cli, ["ping", "-D", "-O", "-n", "-i", f"{a.probe_s:g}",
                                                     "-W", "2", SRV_IP]),
                          os.path.join(rdir, "ping.txt"), a.load_cpu)
        udp = kids.start("udp-probe", nsexec(path.cli, [sys.executable, os.path.realpath(__file__),
                                                        "_udp-probe", SRV_IP, str(UDP_PORT),
                                                        str(a.probe_s)]),
                         os.path.join(rdir, "udp.txt"), a.load_cpu)
        started += [ping, udp]
        log(f"[{sched}] idle {a.idle_s:g}s")
        ph["load_start"] = ph["load_end"] = t0 + a.idle_s + 3600
        time.sleep(a.idle_s)
        ph["load_start"] = time.time()
        ph["load_end"] = ph["load_start"] + a.load_s + 3600
        log(f"[{sched}] loaded {a.load_s:g}s: {a.flows} {a.cc} flows up + {a.flows} down")
        link = res["link_samples"] = []

        def sample_link():
            # Best effort: a failed read costs the utilisation figure (the
            # report says so), never the run.
            try:
                link.append(link_counters(kind, path, sock))
            except (OSError, ValueError, KeyError, IndexError, Fatal) as e:
                if not any(n.startswith("link counters") for n in res["notes"]):
                    res["notes"].append(f"link counters: {e}")

        sample_link()
        ipc = kids.start("iperf3", nsexec(path.cli, [
            "iperf3", "-c", SRV_IP, "-p", str(IPERF_PORT), "--bidir", "-P", str(a.flows),
            "-C", a.cc, "-t", f"{a.load_s:g}", "-i", "0.5", "-J"]),
            os.path.join(rdir, "iperf3.json"), a.load_cpu)
        started.append(ipc)
        # Counters every 0.25 s while the load runs (the time series in
        # samples.csv); the first and last samples bound the loaded phase,
        # and the busiest --load seconds between them are iperf3's data.
        deadline = time.time() + a.load_s + 15
        while ipc.poll() is None:
            if time.time() >= deadline:
                res["notes"].append("iperf3 did not finish in time")
                kids.stop(ipc)
                break
            try:
                ipc.wait(0.25)
            except subprocess.TimeoutExpired:
                sample_link()
        sample_link()
        ph["load_end"] = time.time()
        if ipc.returncode not in (0, None):
            res["notes"].append(f"iperf3 exit {ipc.returncode}")
        log(f"[{sched}] idle {a.idle_s:g}s")
        time.sleep(a.idle_s)
        ph["end"] = time.time()
        res["complete"] = True
    except Interrupted:
        res["notes"].append("interrupted")
        ph.setdefault("end", time.time())
        raise
    finally:
        with SIGNALS.shielded():
            teardown(res, ph, path, kind, started, kids, rdir, a)
    return res


def teardown(res, ph, path, kind, started, kids, rdir, a):
    """Stop in reverse order: probes first (ping prints its summary), then
    load, capture, servers, the forwarder (which prints its final stats on
    SIGINT), and last the namespaces; then what ran is collected."""
    try:
        for pr in reversed(started):
            kids.stop(pr)
        if kind == "kernel":
            try:
                res["qdisc"] = path.kernel_stats()
            except Exception as e:     # stats are best effort; cleanup must go on
                res["notes"].append(f"tc stats: {e}")
        kids.stop_all()
    finally:
        path.teardown()
    if ph:
        ph.setdefault("load_start", ph.get("end", time.time()))
        ph.setdefault("load_end", ph.get("end", time.time()))
        ph.setdefault("end", time.time())
        collect(res, ph, rdir, a)


def parse_fwd_stats(path):
    """Drops and marks from weir-fwd's JSON summary (the last line that
    parses as {"app":"weir-fwd",...}): scheduler drops (limit and AQM), ECN
    marks, and frames the forwarder itself lost. {} when it printed none
    (killed, or crashed)."""
    try:
        txt = open(path, errors="replace").read()
    except OSError:
        return {}
    at = txt.rfind('{"app":"weir-fwd"')
    while at >= 0:
        try:
            j = json.JSONDecoder().raw_decode(txt[at:])[0]   # it may span lines
        except ValueError:
            at = txt.rfind('{"app":"weir-fwd"', 0, at)
            continue
        st = {"drops": 0, "drops_aqm": 0, "drops_limit": 0, "marks": 0, "overlimits": 0,
              "fwd_losses": 0, "per_port": {}}
        for p in j.get("ports", []):
            pp = {"rx_missed": p.get("rx_missed", 0) + p.get("rx_nombuf", 0),
                  "tx_dropped": p.get("tx_dropped", 0) + p.get("tx_errors", 0)}
            for q in p.get("queues", []):
                qd = q.get("qdisc") or {}
                for k_out, k_in in (("drops", "drops"), ("drops_aqm", "drops_aqm"),
                                    ("drops_limit", "drops_limit"), ("marks", "ecn_marks"),
                                    ("overlimits", "overlimits")):
                    st[k_out] += qd.get(k_in, 0)
                    pp[k_out] = pp.get(k_out, 0) + qd.get(k_in, 0)
                pp["tx_dropped"] += q.get("fwd_tx_drops", 0)
                pp["emu_overflow"] = pp.get("emu_overflow", 0) + q.get("emu_overflow", 0)
            st["fwd_losses"] += pp["rx_missed"] + pp["tx_dropped"] + pp.get("emu_overflow", 0)
            st["per_port"][p.get("spec", str(p.get("id")))] = pp
        st["pool_in_use_at_exit"] = j.get("pool", {}).get("in_use")
        return st
    return {}


def link_window(link, i, j, a):
    """Utilisation and goodput ceiling per direction between samples i, j.

    Ceiling: the link carries this direction's data in full-size frames
    (FRAME bytes, FRAME - HDR of them payload) and the reverse flows' ACKs
    (about HDR bytes each). With B bytes in N frames, n_full = (B - HDR*N) /
    (FRAME - HDR) frames were full-size; the rest of B is the ACK share. On
    a 100% busy link goodput would be payload fraction x (1 - ACK share) of
    the rate: the most this load can get."""
    secs = link[j]["t"] - link[i]["t"]
    out = {}
    for d in ("up", "down"):
        db = link[j][d][0] - link[i][d][0]
        dn = link[j][d][1] - link[i][d][1]
        full = min(max((db - HDR * dn) / (FRAME - HDR), 0), dn) if dn else 0
        ack_share = (db - full * FRAME) / db if db else None
        payload = (FRAME - HDR) / FRAME
        out[d] = {
            "seconds": round(secs, 3), "tx_bytes": db, "tx_packets": dn,
            "mbps": db * 8 / secs / 1e6, "util_pct": 100 * db * 8 / (a.rate_bps * secs),
            "full_size_frames": round(full), "small_frames": round(dn - full),
            "payload_fraction_pct": 100 * payload,
            "ack_share_pct": 100 * ack_share if ack_share is not None else None,
            "ceiling_pct": 100 * payload * (1 - ack_share) if ack_share is not None else None,
        }
    return out


def link_summary(link, a, samples, run_t0):
    """Per direction, from the bottleneck's tx counters sampled through the
    loaded phase: wire utilisation (frame bytes sent / what the rate allows
    in that time) and the goodput ceiling of this load on that link.

    Two windows. 'load' (the figures the table and --check use): the
    busiest --load seconds of the phase, which is when iperf3's data flowed,
    the same time its goodput is counted over. 'phase' (JSON and the notes
    line): first to last sample, which also holds iperf3's connection setup
    and its end-of-test exchange, when no bulk data flows (0.5-1 s here, so
    it reads a few % lower)."""
    out = {}
    ts = [x for x in link if x.get("t") is not None]
    if len(ts) < 2 or ts[-1]["t"] <= ts[0]["t"]:
        return out
    best = None
    for i in range(len(ts)):
        for j in range(len(ts) - 1, i, -1):
            if ts[j]["t"] - ts[i]["t"] <= a.load_s + 0.05:
                b = sum(ts[j][d][0] - ts[i][d][0] for d in ("up", "down"))
                if best is None or b > best[0]:
                    best = (b, i, j)
                break
    load = link_window(ts, best[1], best[2], a) if best and best[2] > best[1] else {}
    phase = link_window(ts, 0, len(ts) - 1, a)
    for d in ("up", "down"):
        if d in load:
            out[d] = dict(load[d], window_start_s=round(ts[best[1]]["t"] - run_t0, 3),
                          util_phase_pct=phase[d]["util_pct"], seconds_phase=phase[d]["seconds"])
    for prev, cur in zip(ts, ts[1:]):
        dt = cur["t"] - prev["t"]
        if dt <= 0:
            continue
        for d in ("up", "down"):
            samples.append({"t": round(cur["t"] - run_t0, 4), "phase": "loaded", "kind": "link_mbps",
                            "flow": d, "value": round((cur[d][0] - prev[d][0]) * 8 / dt / 1e6, 3)})
    return out


def collect(res, ph, rdir, a):
    t0 = ph["t0"] if "t0" in ph else ph["end"]
    res["phases"] = {"idle1": [0, ph["load_start"] - t0], "loaded": [ph["load_start"] - t0, ph["load_end"] - t0],
                     "idle2": [ph["load_end"] - t0, ph["end"] - t0]}
    samples = []
    for kind, data in (("icmp", parse_ping(os.path.join(rdir, "ping.txt"))),
                       ("udp", parse_udp(os.path.join(rdir, "udp.txt")))):
        for t, rtt in data:
            if t < t0 - 1 or t > ph["end"] + 1:
                continue
            samples.append({"t": round(t - t0, 4), "phase": phase_of(t, ph), "kind": f"{kind}_rtt_ms",
                            "flow": kind, "value": rtt})
    ip = parse_iperf(os.path.join(rdir, "iperf3.json"))
    flows = []
    if ip and ip.get("error"):
        res["notes"].append(f"iperf3: {ip['error']}")
    if ip and ip.get("flows") is not None:
        flows = ip["flows"]
        base = ph["load_start"] - t0
        for (s, e, sock, d, mbps) in ip["intervals"]:
            samples.append({"t": round(base + e, 4), "phase": "loaded", "kind": "goodput_mbps",
                            "flow": f"{d}-{sock}", "value": round(mbps, 3)})
    res["samples"] = samples
    if any(f["counted_at"] == "sender" for f in flows):
        res["notes"].append("some goodput counted at the sender (the server's counts never came)")

    def rtts(kind, phase):
        return [s["value"] for s in samples if s["kind"] == kind and s["phase"] in phase
                and s["value"] is not None]

    def lost(kind, phase):
        return sum(1 for s in samples if s["kind"] == kind and s["phase"] in phase and s["value"] is None)

    summ = {}
    for kind in ("icmp_rtt_ms", "udp_rtt_ms"):
        idle = rtts(kind, ("idle1",))
        idle_after = rtts(kind, ("idle2",))
        ld = rtts(kind, ("loaded",))
        summ[kind] = {
            "idle_p50": pct(idle, 50), "idle_after_p50": pct(idle_after, 50),
            "loaded_p50": pct(ld, 50), "loaded_p90": pct(ld, 90), "loaded_p99": pct(ld, 99),
            "loaded_max": max(ld) if ld else None,
            "n_idle": len(idle), "n_loaded": len(ld),
            "lost_loaded": lost(kind, ("loaded",)), "lost_idle": lost(kind, ("idle1", "idle2")),
        }
    up = [f["mbps"] for f in flows if f["dir"] == "up"]
    down = [f["mbps"] for f in flows if f["dir"] == "down"]
    rate_m = a.rate_bps / 1e6
    retx = [f["retransmits"] for f in flows if f.get("retransmits") is not None]
    summ["goodput"] = {
        "up_mbps": sum(up) if up else None, "down_mbps": sum(down) if down else None,
        "up_pct": 100 * sum(up) / rate_m if up else None,
        "down_pct": 100 * sum(down) / rate_m if down else None,
        "total_mbps": (sum(up) + sum(down)) if flows else None,
        "per_flow": [{"dir": f["dir"], "port": f["port"], "mbps": round(f["mbps"], 3),
                      "counted_at": f["counted_at"], "retransmits": f.get("retransmits")}
                     for f in flows],
        "jain_up": jain(up), "jain_down": jain(down), "jain_all": jain(up + down),
        "retransmits_client_sent": sum(retx) if retx else None,
    }
    summ["link"] = link_summary(res.get("link_samples") or [], a, samples, t0)
    for d in ("up", "down"):
        lk, gp = summ["link"].get(d), summ["goodput"][f"{d}_pct"]
        summ["goodput"][f"{d}_pct_of_ceiling"] = (
            100 * gp / lk["ceiling_pct"] if lk and lk.get("ceiling_pct") and gp is not None else None)
    if res["bottleneck"] == "weir":
        res["qdisc"] = parse_fwd_stats(os.path.join(rdir, "weir-fwd.log"))
    res.setdefault("qdisc", {})
    res["summary"] = summ


# ---------------------------------------------------------------- report

def f1(v, w=6, d=None):
    if d is None:    # RTTs: two decimals below 10 ms, where they matter
        d = 2 if isinstance(v, (int, float)) and abs(v) < 10 else 1
    return f"{v:{w}.{d}f}" if isinstance(v, (int, float)) else f"{'-':>{w}}"


def table(results, a):
    hdr = (f"{'scheduler':<17} {'idle':>6} {'p50':>6} {'p90':>6} {'p99':>6} {'max':>6} "
           f"{'udp99':>6} | {'up':>6} {'down':>6} {'up%':>5} {'dn%':>5} {'jain':>5} | "
           f"{'lk-up':>5} {'lk-dn':>5} {'ceil%':>5} {'gc-up':>5} {'gc-dn':>5} | "
           f"{'drops':>7} {'marks':>6} {'lost':>5}")
    lines = [f"weir-bloat: bottleneck {fmt_rate(a.rate_bps)}, base RTT {2 * a.delay_s * 1e3:g} ms "
             f"(+{a.delay_s * 1e3:g} ms each way), {a.flows}+{a.flows} {a.cc} flows, "
             f"phases idle {a.idle_s:g}s / loaded {a.load_s:g}s / idle {a.idle_s:g}s, "
             f"weir-fwd ports {a.port_kind}",
             "RTT in ms (ICMP unless noted; loaded = during the TCP load); up/down: goodput in "
             "Mbit/s (TCP payload, receiver side), up%/dn%: goodput as % of the rate",
             hdr, "-" * len(hdr)]
    for r in results:
        s = r.get("summary")
        if not s:
            lines.append(f"{r['scheduler'] + '*':<17} (no data, see the note below)")
            continue
        i, u, g, q = s["icmp_rtt_ms"], s["udp_rtt_ms"], s["goodput"], r.get("qdisc", {})
        lk = s.get("link", {})
        lu, ld = lk.get("up", {}), lk.get("down", {})
        ceil = [x["ceiling_pct"] for x in (lu, ld) if x.get("ceiling_pct") is not None]
        jn = g["jain_all"]
        lost = i["lost_loaded"] + u["lost_loaded"]
        tag = r["scheduler"] + ("" if r["complete"] else "*")
        lines.append(
            f"{tag:<17} {f1(i['idle_p50'])} {f1(i['loaded_p50'])} {f1(i['loaded_p90'])} "
            f"{f1(i['loaded_p99'])} {f1(i['loaded_max'])} {f1(u['loaded_p99'])} | "
            f"{f1(g['up_mbps'], d=1)} {f1(g['down_mbps'], d=1)} {f1(g['up_pct'], 5, 0)} {f1(g['down_pct'], 5, 0)} "
            f"{f1(jn, 5, 3)} | {f1(lu.get('util_pct'), 5, 1)} {f1(ld.get('util_pct'), 5, 1)} "
            f"{f1(min(ceil) if ceil else None, 5, 1)} {f1(g.get('up_pct_of_ceiling'), 5, 1)} "
            f"{f1(g.get('down_pct_of_ceiling'), 5, 1)} | "
            f"{q.get('drops', '-'):>7} {q.get('marks', '-'):>6} {lost:>5}")
    lines.append("goodput per flow (Mbit/s):")
    for r in results:
        g = (r.get("summary") or {}).get("goodput")
        if not g or not g["per_flow"]:
            continue
        per = {d: " ".join(f"{f['mbps']:.1f}" for f in g["per_flow"] if f["dir"] == d) for d in ("up", "down")}
        lines.append(f"  {r['scheduler']:<17} up [{per['up']}]  down [{per['down']}]  "
                     f"Jain up {f1(g['jain_up'], 1, 3)} down {f1(g['jain_down'], 1, 3)}")
    lines.append(f"lk-up/lk-dn: bottleneck wire utilisation during the load, per direction: frame "
                 "bytes sent (Ethernet header to payload end; no FCS, preamble or gap: what the "
                 f"shaper charges) x 8 / (rate x time), over the busiest {a.load_s:g} s of the "
                 "loaded phase (iperf3's data time, as goodput)")
    lines.append(f"ceil%: most TCP goodput this load can reach on a full link: payload "
                 f"{FRAME - HDR}/{FRAME} of a full-size frame ({100 * (FRAME - HDR) / FRAME:.1f}%) "
                 "less the reverse flows' ACK share, measured from the link's frame counts (lower "
                 "direction shown); gc-up/gc-dn: goodput as % of that ceiling")
    for r in results:
        lk = (r.get("summary") or {}).get("link")
        if lk and "up" in lk:
            lines.append(f"  {r['scheduler']:<17} link " + "; ".join(
                f"{d} {lk[d]['mbps']:.1f} Mbit/s of frames in {lk[d]['seconds']:.1f} s, ACK "
                f"share {lk[d]['ack_share_pct']:.1f}%, ceiling {lk[d]['ceiling_pct']:.1f}%"
                for d in ("up", "down")) +
                f"; whole phase ({lk['up']['seconds_phase']:.1f} s, with iperf3's setup and "
                f"end) up {lk['up']['util_phase_pct']:.1f}% down {lk['down']['util_phase_pct']:.1f}%")
    if any(not r["complete"] for r in results):
        lines.append("* incomplete run (interrupted or failed); figures cover what ran")
    for r in results:
        for n in r.get("notes", []):
            lines.append(f"note: {r['scheduler']}: {n}")
    return "\n".join(lines)


def verdicts(results):
    out, ok = [], True
    for r in results:
        s = r.get("summary")
        if r["scheduler"] != "fq_codel" or not s:
            continue
        i, g, lk = s["icmp_rtt_ms"], s["goodput"], s.get("link", {})
        need = (i["idle_p50"], i["loaded_p99"], g["up_pct"], g["down_pct"],
                g.get("up_pct_of_ceiling"), g.get("down_pct_of_ceiling"))
        if None in need or "up" not in lk or "down" not in lk:
            out.append("fq_codel: not enough data for a verdict (RTT, goodput and link counters "
                       "are all needed)")
            ok = False
            continue
        lat_ok = i["loaded_p99"] <= i["idle_p50"] + 10
        ut_ok = min(lk["up"]["util_pct"], lk["down"]["util_pct"]) >= 90
        gc_ok = min(g["up_pct_of_ceiling"], g["down_pct_of_ceiling"]) >= 90
        ok = ok and lat_ok and ut_ok and gc_ok
        pf = lambda v: "PASS" if v else "FAIL"     # noqa: E731
        out.append(f"fq_codel check 1, latency: loaded p99 {i['loaded_p99']:.1f} ms <= idle "
                   f"{i['idle_p50']:.1f} + 10 ms: {pf(lat_ok)}")
        out.append(f"fq_codel check 2, link utilisation: up {lk['up']['util_pct']:.1f}% down "
                   f"{lk['down']['util_pct']:.1f}% of the rate (busiest {lk['up']['seconds']:.1f} s) >= 90%: "
                   f"{pf(ut_ok)}")
        out.append(f"fq_codel check 3, goodput vs ceiling: up {g['up_pct']:.1f}/"
                   f"{lk['up']['ceiling_pct']:.1f} = {g['up_pct_of_ceiling']:.1f}%, down "
                   f"{g['down_pct']:.1f}/{lk['down']['ceiling_pct']:.1f} = "
                   f"{g['down_pct_of_ceiling']:.1f}% >= 90%: {pf(gc_ok)} (raw goodput, % of the "
                   f"rate, is up%/dn% in the table)")
    return out, ok


COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#1f77b4", "#9467bd", "#8c564b"]


def svg_report(results, a, path):
    """Latency over time (log scale, ICMP dots, loaded phase shaded) for every
    scheduler, and the CDFs of their loaded RTT, in one self-made SVG."""
    W, H = 1000, 780
    L, R = 70, 20
    pw = W - L - R
    top = (60, 390)     # time series panel y range
    bot = (460, 730)    # CDF panel
    rt = [s["value"] for r in results for s in r.get("samples", [])
          if s["kind"].endswith("rtt_ms") and s["value"] is not None]
    if not rt:
        rt = [1.0]
    lo = 10 ** math.floor(math.log10(max(min(rt), 0.01)))
    hi = 10 ** math.ceil(math.log10(max(rt) * 1.05))
    if hi <= lo:
        hi = lo * 10
    tmax = max([r["phases"]["idle2"][1] for r in results if r.get("phases")] + [1])

    def ly(v, y0, y1):
        v = min(max(v, lo), hi)
        return y1 - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (y1 - y0)

    def lx(v):
        v = min(max(v, lo), hi)
        return L + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * pw

    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="16">weir-bloat: RTT through a '
         f'{fmt_rate(a.rate_bps)} bottleneck, base RTT {2 * a.delay_s * 1e3:g} ms, '
         f'{a.flows}+{a.flows} {a.cc} flows</text>',
         f'<text x="{W / 2}" y="42" text-anchor="middle" fill="#555">ICMP RTT over time (log scale); '
         f'shaded: loaded phase</text>']
    # shaded loaded phase (from the first run that has one)
    for r in results:
        if r.get("phases"):
            s, e = r["phases"]["loaded"]
            x0, x1 = L + s / tmax * pw, L + e / tmax * pw
            o.append(f'<rect x="{x0:.1f}" y="{top[0]}" width="{max(x1 - x0, 0):.1f}" '
                     f'height="{top[1] - top[0]}" fill="#eee"/>')
            break
    for y0, y1, title in ((top[0], top[1], "RTT (ms)"),):
        o.append(f'<rect x="{L}" y="{y0}" width="{pw}" height="{y1 - y0}" fill="none" stroke="#888"/>')
        o.append(f'<text x="18" y="{(y0 + y1) / 2}" transform="rotate(-90 18 {(y0 + y1) / 2})" '
                 f'text-anchor="middle">{title}</text>')
    dec = lo
    while dec <= hi * 1.0001:
        for mul in (1, 2, 5):
            v = dec * mul
            if lo <= v <= hi:
                y = ly(v, *top)
                x = lx(v)
                o.append(f'<line x1="{L}" x2="{L + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
                o.append(f'<text x="{L - 5}" y="{y + 4:.1f}" text-anchor="end">{v:g}</text>')
                o.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bot[0]}" y2="{bot[1]}" stroke="#ddd"/>')
                o.append(f'<text x="{x:.1f}" y="{bot[1] + 15}" text-anchor="middle">{v:g}</text>')
        dec *= 10
    step = 1 if tmax <= 15 else 2 if tmax <= 30 else 5 if tmax <= 80 else 10
    t = 0
    while t <= tmax:
        x = L + t / tmax * pw
        o.append(f'<text x="{x:.1f}" y="{top[1] + 15}" text-anchor="middle">{t:g}</text>')
        t += step
    o.append(f'<text x="{L + pw / 2}" y="{top[1] + 32}" text-anchor="middle">time since start of run (s)</text>')
    for n, r in enumerate(results):
        c = COLORS[n % len(COLORS)]
        pts = [(s["t"], s["value"]) for s in r.get("samples", []) if s["kind"] == "icmp_rtt_ms"
               and s["value"] is not None]
        if pts:
            d = " ".join(f"{'M' if k == 0 else 'L'}{L + t / tmax * pw:.1f},{ly(v, *top):.1f}"
                         for k, (t, v) in enumerate(pts))
            o.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="1.2" opacity="0.85"/>')
        lost = [s["t"] for s in r.get("samples", []) if s["kind"] == "icmp_rtt_ms" and s["value"] is None]
        for t in lost:
            o.append(f'<text x="{L + t / tmax * pw:.1f}" y="{top[0] + 10}" fill="{c}" '
                     f'text-anchor="middle" font-size="9">x</text>')
    # CDF panel
    o.append(f'<text x="{W / 2}" y="{bot[0] - 12}" text-anchor="middle" fill="#555">CDF of RTT during '
             f'the loaded phase (ICMP + UDP probes; log x)</text>')
    o.append(f'<rect x="{L}" y="{bot[0]}" width="{pw}" height="{bot[1] - bot[0]}" fill="none" stroke="#888"/>')
    for fr in (0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0):
        y = bot[1] - fr * (bot[1] - bot[0])
        o.append(f'<line x1="{L}" x2="{L + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        if fr != 1.0:      # 0.99 and 1 would overprint
            o.append(f'<text x="{L - 5}" y="{y + 4:.1f}" text-anchor="end">{fr:g}</text>')
    o.append(f'<text x="{L + pw / 2}" y="{bot[1] + 32}" text-anchor="middle">RTT (ms)</text>')
    for n, r in enumerate(results):
        c = COLORS[n % len(COLORS)]
        v = sorted(s["value"] for s in r.get("samples", []) if s["kind"].endswith("rtt_ms")
                   and s["phase"] == "loaded" and s["value"] is not None)
        if v:
            d = " ".join(f"{'M' if k == 0 else 'L'}{lx(x):.1f},{bot[1] - (k + 1) / len(v) * (bot[1] - bot[0]):.1f}"
                         for k, x in enumerate(v))
            o.append(f'<path d="{d}" fill="none" stroke="{c}" stroke-width="2"/>')
        s = r.get("summary", {}).get("icmp_rtt_ms", {})
        label = (f"{r['scheduler']}: idle {f1(s.get('idle_p50')).strip()} ms, loaded p99 "
                 f"{f1(s.get('loaded_p99')).strip()} ms")
        o.append(f'<rect x="{L + 10}" y="{top[0] + 8 + n * 18}" width="12" height="12" fill="{c}"/>')
        o.append(f'<text x="{L + 28}" y="{top[0] + 18 + n * 18}">{label}</text>')
    o.append("</svg>")
    with create_file(path) as f:
        f.write("\n".join(o) + "\n")


def write_report(results, a, outdir, started_at):
    csv_path = os.path.join(outdir, "samples.csv")
    with create_file(csv_path) as f:
        f.write("run,scheduler,t_s,phase,kind,flow,value\n")
        for n, r in enumerate(results):
            for s in r.get("samples", []):
                v = "" if s["value"] is None else s["value"]
                f.write(f"{n},{r['scheduler']},{s['t']},{s['phase']},{s['kind']},{s['flow']},{v}\n")
    ver, ok = verdicts(results)
    rep = {
        "tool": PROG, "started": started_at, "argv": sys.argv[1:],
        "config": {"rate_bps": a.rate_bps, "delay_ms_each_way": a.delay_s * 1e3,
                   "base_rtt_ms": 2 * a.delay_s * 1e3, "long_buffer_ms": a.long_s * 1e3,
                   "short_buffer_ms": a.short_s * 1e3, "idle_s": a.idle_s, "load_s": a.load_s,
                   "flows_each_way": a.flows, "cc": a.cc, "ecn": a.ecn,
                   "probe_interval_ms": a.probe_s * 1e3, "port_kind": a.port_kind,
                   "offloads": a.offloads,
                   "port_args": a.port_args},
        "runs": [{k: v for k, v in r.items() if k != "samples"} for r in results],
        "verdicts": ver,
        "samples": [dict(s, run=n, scheduler=r["scheduler"]) for n, r in enumerate(results)
                    for s in r.get("samples", [])],
    }
    with create_file(os.path.join(outdir, "report.json")) as f:
        json.dump(rep, f, indent=1)
    svg = os.path.join(outdir, "latency.svg")
    svg_report(results, a, svg)
    txt = table(results, a)
    if ver:
        txt += "\n" + "\n".join(ver)
    with create_file(os.path.join(outdir, "summary.txt")) as f:
        f.write(txt + "\n")
    return txt, svg, ok


# ---------------------------------------------------------------- main

def preflight(a):
    if os.geteuid() != 0:
        raise Fatal("needs root (network namespaces, veths, qdiscs): run it with sudo")
    for tool in ("ip", "tc", "iperf3", "ping", "ethtool", "taskset") + (("tcpdump",) if a.pcap else ()):
        if not shutil.which(tool):
            raise Fatal(f"'{tool}' not found: install it (scripts/deps.sh lists the packages)")
    cc = open("/proc/sys/net/ipv4/tcp_available_congestion_control").read().split()
    if a.cc not in cc:
        raise Fatal(f"--cc {a.cc}: this kernel offers {', '.join(cc)}")


def main(argv):
    if argv and argv[0] == "_udp-reflect":
        udp_reflect(int(argv[1]))
        return 0
    if argv and argv[0] == "_udp-probe":
        signal.signal(signal.SIGINT, lambda *_: sys.exit(0))
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        udp_probe(argv[1], int(argv[2]), float(argv[3]))
        return 0
    a = build_args(argv)

    signal.signal(signal.SIGINT, SIGNALS.handler)
    signal.signal(signal.SIGTERM, SIGNALS.handler)
    a.token = secrets.token_hex(3)
    a.sock_dir = None
    kids = Children()
    results = []
    status = 0
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        preflight(a)
        fwd = find_weir_fwd(a.weir_fwd)
        make_dir(a.out, "--out")
        if a.pcap:
            check_dir(os.path.dirname(os.path.abspath(a.pcap)), "--pcap's directory")
        a.sock_dir = tempfile.mkdtemp(prefix="weir-bloat-")
        for n, sched in enumerate(a.scheds):
            run_one(n, sched, a, fwd, a.out, kids, n == 0, results)
    except Interrupted as e:
        log(f"interrupted ({e}): namespaces removed; writing the report of what ran")
        status = 130
    except Fatal as e:
        log(str(e))
        if results:
            results[-1]["notes"].append(str(e))
        status = 1
    except subprocess.TimeoutExpired as e:
        log(f"a setup command hung: {e}")
        status = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        kids.stop_all()
        if a.sock_dir:
            shutil.rmtree(a.sock_dir, ignore_errors=True)
    # A run that failed part way is in results with its notes; keep it in
    # the table so the failure shows next to what did run.
    if results and os.path.isdir(a.out):
        txt, svg, ok = write_report(results, a, a.out, started_at)
        print(txt, flush=True)
        print(f"report: {os.path.abspath(a.out)}/report.json, samples.csv; picture: {os.path.abspath(svg)}",
              flush=True)
        if a.check and status == 0 and not ok:
            status = 3
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
