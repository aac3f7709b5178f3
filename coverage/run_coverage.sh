#!/usr/bin/env bash
# Line coverage of core/ (gcov + gcovr) from the unit and sim tests and the
# sim scenarios, gated by coverage/threshold-core.txt (core/ as a whole)
# and coverage/thresholds-modules.txt ("<path prefix> <min %>" lines).
#
#   coverage/run_coverage.sh       build dir: $MC_COVERAGE_BUILD (default /tmp/build-ci-coverage)
# Writes $BUILD/coverage/{summary.txt,coverage.json,index.html}.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bdir=${MC_COVERAGE_BUILD:-/tmp/build-ci-coverage}
command -v gcovr >/dev/null || { echo "coverage: gcovr not installed (apt-get install gcovr)" >&2; exit 2; }

cmake -S "$repo" -B "$bdir" -DCMAKE_BUILD_TYPE=Coverage >/dev/null
cmake --build "$bdir" -j"$(nproc)" >/dev/null
find "$bdir" -name '*.gcda' -delete

# Unit and sim tests (fuzz replays count too: they are decoder tests).
# A failing test fails the stage, but the report is still printed.
tests_ok=1
(cd "$bdir" && ctest -j"$(nproc)" --output-on-failure -LE '^(hw|python|rxe|slow)$') || tests_ok=0

sim=$bdir/sim/mooncake_sim
if [ -x "$sim" ]; then
  for scn in "$repo"/scenarios/*.json; do
    [ -f "$scn" ] || continue
    rc=0
    "$sim" run "$scn" --no-fork >"$bdir/coverage-$(basename "$scn" .json).log" 2>&1 || rc=$?
    echo "coverage: ran $(basename "$scn") (exit $rc)"
    if [ $rc -ne 0 ]; then
      echo "coverage: scenario $(basename "$scn") failed with exit $rc"; tail -20 "$bdir/coverage-$(basename "$scn" .json).log"
      tests_ok=0
    fi
  done
else
  echo "coverage: FAIL: $sim was not built, scenarios cannot run"
  tests_ok=0
fi

out=$bdir/coverage
mkdir -p "$out"
gcovr -r "$repo" --object-directory "$bdir" --filter "$repo/core/" \
  --exclude-unreachable-branches --print-summary \
  --txt "$out/summary.txt" --json-summary-pretty --json-summary "$out/coverage.json" \
  --html-details "$out/index.html" >"$out/gcovr.log" 2>&1 || { cat "$out/gcovr.log"; exit 1; }
cat "$out/summary.txt"

python3 - "$out/coverage.json" "$repo/coverage/threshold-core.txt" "$repo/coverage/thresholds-modules.txt" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
files = [(f["filename"], f["line_covered"], f["line_total"]) for f in data["files"]]
def pct(prefix):
    cov = sum(c for n, c, t in files if n.startswith(prefix))
    tot = sum(t for n, c, t in files if n.startswith(prefix))
    return (100.0 * cov / tot if tot else None), cov, tot
floors = [("core/", float(open(sys.argv[2]).read().split()[0]))]
try:
    for line in open(sys.argv[3]):
        line = line.split("#")[0].split()
        if len(line) == 2:
            floors.append((line[0].rstrip("/") + "/", float(line[1])))
except FileNotFoundError:
    pass
bad = 0
for prefix, floor in floors:
    p, cov, tot = pct(prefix)
    if p is None:
        print(f"coverage: {prefix:<16} no lines (module not built yet?), floor {floor:.0f}% not checked")
        continue
    ok = p + 1e-9 >= floor
    bad += not ok
    print(f"coverage: {prefix:<16} {p:6.2f}% ({cov}/{tot} lines), floor {floor:.0f}%: {'OK' if ok else 'FAIL'}")
sys.exit(1 if bad else 0)
PY
[ $tests_ok -eq 1 ] || { echo "coverage: FAIL: tests or scenarios failed (above)"; exit 1; }
