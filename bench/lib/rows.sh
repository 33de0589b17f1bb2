# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the bench/ scripts: bench_row records one side-by-side result
# for bench/run's table, as a JSON line appended to $WEIR_BENCH_ROWS (when
# set; a script run by hand prints its own report and records nothing).
#
#   bench_row SUITE ROW UNIT higher|lower WEIR ANCHOR ANCHOR_NAME \
#             [WEIR_MIN-MAX] [ANCHOR_MIN-MAX] [RUNS] [NOTE]
#
# WEIR and ANCHOR are medians in UNIT; higher|lower says which is better,
# so the table's ratio is always "> 1: weir leads". Empty or non-numeric
# values are kept as null (the row shows what ran and that it failed).
bench_row() {
	[ -n "${WEIR_BENCH_ROWS:-}" ] || return 0
	python3 - "$@" >>"$WEIR_BENCH_ROWS" <<'PY'
import json, sys
a = sys.argv[1:] + [""] * 11
def num(s):
    try:
        return float(s)
    except ValueError:
        return None
def rng(s):
    lo, sep, hi = s.rpartition("-")
    return [num(lo), num(hi)] if sep and num(lo) is not None and num(hi) is not None else None
print(json.dumps({"suite": a[0], "row": a[1], "unit": a[2], "better": a[3] or "higher",
                  "weir": num(a[4]), "anchor": num(a[5]), "anchor_name": a[6],
                  "weir_range": rng(a[7]), "anchor_range": rng(a[8]),
                  "runs": int(a[9]) if a[9].isdigit() else None, "note": a[10]}))
PY
}
