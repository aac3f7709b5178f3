#!/usr/bin/env bash
# Valgrind memcheck over every test labelled "unit" or "valgrind" (libcheck
# runs in-process: CK_FORK=no) and over the simulator on a membership
# scenario. Any memcheck error or definite/indirect/possible leak fails.
#
#   tests/valgrind/run_valgrind.sh [BUILD_DIR]
# BUILD_DIR must be a configured and built Release (-O2 -g) tree; without
# it, one is built in $MC_VALGRIND_BUILD (default /tmp/build-ci-valgrind).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${1:-}
if [ -z "$bdir" ]; then
  bdir=${MC_VALGRIND_BUILD:-/tmp/build-ci-valgrind}
  cmake -S "$repo" -B "$bdir" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$bdir" -j"$(nproc)" >/dev/null
fi
command -v valgrind >/dev/null || { echo "valgrind: not installed (apt-get install valgrind)" >&2; exit 2; }

vg=(valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --track-origins=yes
    --suppressions="$repo/tests/valgrind/mooncake.supp")
logdir=$bdir/valgrind
mkdir -p "$logdir"

# "name US workdir US env;env US cmd US args..." (US = \x1f, which read
# does not collapse like tabs) for each selected ctest test.
tests=$(cd "$bdir" && ctest -L '^(unit|valgrind)$' --show-only=json-v1 | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tests"]:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    env = ";".join(props.get("ENVIRONMENT", []))
    wd = props.get("WORKING_DIRECTORY", ".")
    print("\x1f".join([t["name"], wd, env] + t["command"]))
')

passed=0
failed=0
run_one() { # name workdir env cmd...
  local name=$1 wd=$2 envs=$3
  shift 3
  local log=$logdir/$name.log
  local -a envv=(CK_FORK=no CK_DEFAULT_TIMEOUT=0)
  local e
  IFS=';' read -r -a extra <<<"$envs"
  for e in "${extra[@]}"; do
    case $e in CK_FORK=* | CK_DEFAULT_TIMEOUT=* | "") ;; *) envv+=("$e") ;; esac
  done
  local t0=$SECONDS
  local rc=0
  (cd "$wd" && env "${envv[@]}" "${vg[@]}" --log-file="$log" "$@" >"$log.out" 2>&1) || rc=$?
  if [ $rc -eq 0 ]; then
    echo "valgrind: $name OK ($((SECONDS - t0))s)"
    passed=$((passed + 1))
  elif [ $rc -eq 77 ]; then # the test's own skip code (e.g. no RDMA device here)
    echo "valgrind: $name skipped: $(grep -m1 -i 'skip' "$log.out" || echo 'exit 77')"
  else
    echo "valgrind: $name FAILED (exit $rc)"
    tail -30 "$log.out"
    cat "$log" 2>/dev/null || true
    failed=$((failed + 1))
  fi
}

while IFS=$'\x1f' read -r -a row; do
  [ ${#row[@]} -ge 4 ] || continue
  run_one "${row[@]}"
done <<<"$tests"

sim=$bdir/sim/mooncake_sim
scn=$repo/scenarios/membership-client-crash.json
if [ -x "$sim" ] && [ -f "$scn" ]; then
  run_one sim.membership-client-crash "$repo" "" "$sim" run "$scn" --seed 7 --no-fork
else
  echo "valgrind: FAILED: $sim or $scn is missing"
  failed=$((failed + 1))
fi

echo "valgrind: $passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
