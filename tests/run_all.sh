#!/usr/bin/env bash
# Every test and quality gate, in stages (README: "all tests"):
#   release   Release build (-O2 -g) + ctest (unit, sim, hw, fuzz replays, purity)
#   debug     Debug build with ASan+UBSan + ctest
#   valgrind  memcheck over the unit tests and a sim scenario (Release build)
#   coverage  Coverage build, ctest + scenarios, gcovr floors (coverage/)
#   fuzz      libFuzzer targets, FUZZ_SECONDS (default 30) each
#   purity    core/ symbol and source check on the Release library
#   main-job  the README's main job (sim on a membership scenario)
#   rxe       verbs transport on Soft-RoCE: natively if an RDMA device is
#             there, else in a QEMU/TCG VM (tests/rxe/); prints "skip: ..."
#             when neither can run here, fails when the tests fail
#
#   bash tests/run_all.sh [STAGE...]       default: all stages, in this order
# Env: MC_BUILD_ROOT (default ./build), FUZZ_SECONDS, MC_JOBS (default nproc).
# Every stage runs even if an earlier one failed; the exit status is
# non-zero if any failed.
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
root=${MC_BUILD_ROOT:-$repo/build}
jobs=${MC_JOBS:-$(nproc)}
export FUZZ_SECONDS=${FUZZ_SECONDS:-30}
mkdir -p "$root"

build() { # dir type [extra cmake args]
  local dir=$1 type=$2
  shift 2
  cmake -S "$repo" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >"$dir.configure.log" 2>&1 ||
    { cat "$dir.configure.log"; return 1; }
  cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1
  local rc=$?
  grep -vE '^(\[ *[0-9]+%\] (Building|Linking|Built)|gmake)' "$dir.build.log" | grep -v '^$' | tail -200
  [ $rc -eq 0 ] || echo "build of $dir FAILED (full log: $dir.build.log)"
  return $rc
}

run_ctest() { # dir
  (cd "$1" && ctest -j"$jobs" --output-on-failure --timeout 600)
}

stage_release() { build "$root/release" Release && run_ctest "$root/release"; }
stage_debug() { build "$root/debug" Debug && run_ctest "$root/debug"; }
stage_valgrind() {
  [ -f "$root/release/CMakeCache.txt" ] || build "$root/release" Release || return 1
  bash "$repo/tests/valgrind/run_valgrind.sh" "$root/release"
}
stage_coverage() { MC_COVERAGE_BUILD=$root/coverage bash "$repo/coverage/run_coverage.sh"; }
stage_fuzz() { MC_FUZZ_BUILD=$root/fuzz bash "$repo/tests/fuzz/run_fuzz.sh"; }
stage_purity() {
  [ -f "$root/release/core/libmc_core.a" ] || build "$root/release" Release || return 1
  bash "$repo/tests/purity/check_core_purity.sh" "$root/release/core/libmc_core.a"
}
stage_main-job() { MC_BUILD_ROOT=$root bash "$repo/.ci/main-job"; }
stage_rxe() { bash "$repo/tests/rxe/run_rxe_tests.sh" "$root/release"; }

all=(release debug valgrind coverage fuzz purity main-job rxe)
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${all[@]}")
for s in "${stages[@]}"; do
  declare -F "stage_$s" >/dev/null || { echo "run_all: unknown stage '$s' (stages: ${all[*]})" >&2; exit 64; }
done

summary=()
failed=0
t_all=$SECONDS
for s in "${stages[@]}"; do
  echo
  echo "==================== stage: $s ===================="
  t0=$SECONDS
  if "stage_$s"; then res=OK; else res=FAILED; failed=$((failed + 1)); fi
  summary+=("$(printf '%-10s %-7s %5ss' "$s" "$res" $((SECONDS - t0)))")
  echo "==================== stage: $s $res in $((SECONDS - t0))s"
done
echo
echo "==================== summary ===================="
printf '%s\n' "${summary[@]}"
echo "total ${#stages[@]} stages in $((SECONDS - t_all))s; $failed failed"
[ $failed -eq 0 ]
