# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: what every part shares: the path's constants, the exceptions,
signal handling, files created safely as root, units."""

import contextlib
import os
import re
import signal
import stat
import sys


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
# Seconds at the start of the load left out of the "steady" utilisation:
# TCP's slow start and the flows' first backing off from the AQM.
SETTLE_S = 2.0


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
