#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# `make bench`: every side-by-side benchmark through bench/run, which runs
# each against its anchor in the same run (DPDK, testpmd, the kernel, fio,
# tcpdump) and writes one table (BUILD/bench-report/table.md, table.json,
# ratios.svg). Run it on a quiet machine, as root (the veth benches make
# their own namespaces).
#
#   scripts/bench.sh [BUILD_DIR]      env: QUICK=1 for the < 3 minute smoke test
set -uo pipefail
b=${1:-build}
src=$(cd "$(dirname "$0")/.." && pwd)
args=(--build "$b")
[ "${QUICK:-0}" = 1 ] && args+=(--quick)
exec "$src/bench/run" "${args[@]}"
