#!/usr/bin/env bash
# Prints one closing line over the test logs of the given build dirs:
# "N passed, N failed, N skipped".
pass=0 fail=0 skip=0
for b in "$@"; do
  log="$b/meson-logs/testlog.json"
  [ -f "$log" ] || continue
  pass=$((pass + $(grep -c '"result": "OK"' "$log")))
  fail=$((fail + $(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")))
  skip=$((skip + $(grep -c '"result": "SKIP"' "$log")))
done
echo "weir: $pass passed, $fail failed, $skip skipped"
