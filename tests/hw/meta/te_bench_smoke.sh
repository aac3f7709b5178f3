#!/usr/bin/env bash
# Smoke test of transfer_engine_bench (not a benchmark): a target and a
# 1-second initiator over loopback, once with P2PHANDSHAKE and once through
# a real mooncake_http_metadata_server; each run must exit 0 and report a
# positive throughput. Also checks --help and a bad flag (exit 2).
#   te_bench_smoke.sh BENCH_BIN HTTP_META_BIN
set -euo pipefail
bench=$1
hms=$2
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"$bench" --help | grep -q -- '--block_size' || { echo "FAIL: --help"; exit 1; }
set +e
"$bench" --bogus >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || { echo "FAIL: bad flag exit $rc, want 2"; exit 1; }

# wait_line FILE REGEX: the first match (up to 10 s).
wait_line() {
  for _ in $(seq 100); do
    if grep -qE "$2" "$1"; then grep -m1 -oE "$2" "$1"; return 0; fi
    sleep 0.1
  done
  echo "FAIL: no '$2' in $1:"; cat "$1"; return 1
}

check_run() { # name initiator-args...
  local name=$1; shift
  local out=$tmp/$name.out
  set +e
  "$bench" --mode=initiator --duration=1 --buffer_size=16MiB --threads=2 --batch_size=8 "$@" >"$out" 2>&1
  local rc=$?
  set -e
  cat "$out"
  [ $rc -eq 0 ] || { echo "FAIL: $name exit $rc"; exit 1; }
  local gbps
  gbps=$(grep -oE 'throughput [0-9.]+ GB/s' "$out" | grep -oE '[0-9.]+' || true)
  [ -n "$gbps" ] || { echo "FAIL: $name printed no throughput"; exit 1; }
  python3 -c "import sys; sys.exit(0 if float('$gbps') > 0 else 1)" || { echo "FAIL: $name throughput $gbps"; exit 1; }
  grep -qE 'batch count [1-9][0-9]*' "$out" || { echo "FAIL: $name no batches"; exit 1; }
  echo "ok: $name $gbps GB/s"
}

# P2P handshake: the target's segment is named by its bound address.
"$bench" --mode=target --local_server_name=127.0.0.1 --buffer_size=16MiB >"$tmp/t1.out" 2>&1 &
pids+=($!)
seg=$(wait_line "$tmp/t1.out" "127\.0\.0\.1:[0-9]+")
check_run p2p-read --segment_id="$seg" --operation=read
check_run p2p-write --segment_id="$seg" --operation=write --block_size=1MiB

# HTTP metadata server.
"$hms" --host 127.0.0.1 --port 0 >"$tmp/hms.out" 2>&1 &
pids+=($!)
url=$(wait_line "$tmp/hms.out" "http://127\.0\.0\.1:[0-9]+/metadata")
"$bench" --mode=target --local_server_name=smoke_target --metadata_server="$url" --buffer_size=16MiB \
  >"$tmp/t2.out" 2>&1 &
pids+=($!)
wait_line "$tmp/t2.out" "target ready" >/dev/null
check_run http-read --segment_id=smoke_target --local_server_name=smoke_init --metadata_server="$url"

# An unknown segment fails cleanly (exit 1, no hang).
set +e
"$bench" --mode=initiator --segment_id=no_such --metadata_server="$url" --duration=1 --buffer_size=1MiB \
  >"$tmp/miss.out" 2>&1; rc=$?
set -e
[ $rc -eq 1 ] || { echo "FAIL: missing segment exit $rc, want 1"; cat "$tmp/miss.out"; exit 1; }
echo "te_bench_smoke: all ok"
