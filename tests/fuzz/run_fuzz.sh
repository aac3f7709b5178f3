#!/usr/bin/env bash
# Build every libFuzzer target (tests/fuzz/fuzz_*.c) with clang and run
# each for a bounded time.
#
#   FUZZ_SECONDS=30 tests/fuzz/run_fuzz.sh        (defaults shown)
#   MC_FUZZ_BUILD=/tmp/build-ci-fuzz               build directory
#
# Seeds: tests/fuzz/corpus/<target>/, frames written by gen_corpus, and the
# MC_FUZZ_SEEDS dirs named in the target's source. New inputs go to
# $MC_FUZZ_BUILD/fuzz/work/<target>/ (the committed corpus is not touched);
# a crash leaves $MC_FUZZ_BUILD/fuzz/artifacts/<target>-crash-* and fails.
# Reproduce one with: $MC_FUZZ_BUILD/fuzz/fuzz_<target> <artifact>
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
secs=${FUZZ_SECONDS:-30}
bdir=${MC_FUZZ_BUILD:-/tmp/build-ci-fuzz}
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "run_fuzz: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

echo "run_fuzz: configuring $bdir with $cc"
CC=$cc cmake -S "$repo" -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DMC_FUZZ=ON >"$bdir.configure.log" 2>&1 ||
  { cat "$bdir.configure.log"; exit 1; }
targets=()
while read -r name short seeds; do
  [ -n "${name:-}" ] && targets+=("$name")
done <"$bdir/fuzz/targets.txt"
while read -r line; do
  [ -n "$line" ] && echo "run_fuzz: SKIP $line"
done <"$bdir/fuzz/skipped.txt"
[ ${#targets[@]} -gt 0 ] || { echo "run_fuzz: no fuzz targets" >&2; exit 1; }

cmake --build "$bdir" -j"$(nproc)" --target gen_corpus "${targets[@]}" >"$bdir/fuzz/build.log" 2>&1 ||
  { grep -vE '^\[ *[0-9]+%\]' "$bdir/fuzz/build.log" | tail -60; echo "run_fuzz: build FAILED (log: $bdir/fuzz/build.log)"; exit 1; }
"$bdir/tests/fuzz/gen_corpus" "$bdir/tests/fuzz/gen"

mkdir -p "$bdir/fuzz/artifacts"
failed=0
passed=0
while read -r name short seeds; do
  [ -n "${name:-}" ] || continue
  work=$bdir/fuzz/work/$short
  mkdir -p "$work"
  dirs=()
  for d in $seeds; do [ -d "$d" ] && dirs+=("$d"); done
  echo "run_fuzz: $name for ${secs}s (seeds: ${dirs[*]#"$repo/"})"
  log=$bdir/fuzz/$name.log
  if "$bdir/fuzz/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$bdir/fuzz/artifacts/$short-" "$work" "${dirs[@]}" >"$log" 2>&1; then
    execs=$(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 || true)
    echo "run_fuzz: $name OK ($execs executions, $cov, corpus $(ls "$work" | wc -l) files)"
    passed=$((passed + 1))
  else
    echo "run_fuzz: $name FAILED; last lines of $log:"
    tail -40 "$log"
    failed=$((failed + 1))
  fi
done <"$bdir/fuzz/targets.txt"
echo "fuzz: $passed passed, $failed failed"
[ $failed -eq 0 ]
