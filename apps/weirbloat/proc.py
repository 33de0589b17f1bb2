# SPDX-License-Identifier: BSD-3-Clause
"""weir-bloat: Child processes, commands in namespaces, and finding weir-fwd."""

import os
import shutil
import signal
import subprocess
import sys
from .common import Fatal, create_file


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
