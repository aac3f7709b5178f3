#!/usr/bin/env bash
# Smoke check of the store benchmark (ctest bench.store_vs_redis_smoke):
# short rows, 1 MiB max; every printed row must show positive MB/s, kops/s
# and latencies and 0 errors, and mooncake must have all its rows.
set -u
here=$(dirname "$0")
out=$(MC_BENCH_SEGMENT_MIB=512 "$here/store_vs_redis.sh" "$1" "$2" --smoke --secs 0.2 --threads 2 --batch 8)
rc=$?
echo "$out"
[ $rc -eq 0 ] || { echo "smoke: benchmark exited with $rc" >&2; exit 1; }
echo "$out" | awk '
  $NF ~ /^[0-9]+$/ && ($3 == "put" || $3 == "get" || $3 == "batch") {
    n = NF
    if (!($(n-4) > 0 && $(n-3) > 0 && $(n-2) > 0 && $(n-1) > 0 && $n == 0)) { bad++; print "bad row: " $0 }
    if ($(n-5) == "mooncake") mc++
  }
  END { if (bad || mc != 6) { printf "smoke: %d bad rows, %d mooncake rows (want 6)\n", bad, mc; exit 1 } }'
