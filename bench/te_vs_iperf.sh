#!/usr/bin/env bash
# Transfer engine vs iperf3 over loopback, measured in one run so the
# ratios compare like with like (same machine, same moment):
#   iperf3 single stream and -P $STREAMS streams (the TCP ceiling), then
#   transfer_engine_bench (P2PHANDSHAKE, tcp) at 64 KiB, 1 MiB and 4 MiB
#   blocks with 1 data connection (MC_TCP_LANES_PER_PEER=1, 1 batch in
#   flight) and with $STREAMS connections ($STREAMS batches in flight),
#   printing each TE figure as a ratio of the matching iperf3 figure.
#
#   bench/te_vs_iperf.sh [BUILD_DIR]      (default /work/build-meta-release)
#   env: DURATION=5 (seconds per run)  STREAMS=4  OP=read|write (default write)
#        BUFFER=256MiB  BATCH=32
# Needs iperf3 (apt-get install iperf3). Benchmarks are not tests: nothing
# here asserts a speed.
set -euo pipefail

bdir=${1:-/work/build-meta-release}
bench=$bdir/hw/transfer_engine_bench
dur=${DURATION:-5}
streams=${STREAMS:-4}
op=${OP:-write}
buffer=${BUFFER:-256MiB}
batch=${BATCH:-32}
[ -x "$bench" ] || { echo "te_vs_iperf: $bench not built (make transfer_engine_bench)" >&2; exit 2; }
command -v iperf3 >/dev/null || { echo "te_vs_iperf: iperf3 missing (apt-get install iperf3)" >&2; exit 2; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# iperf3 GB/s (1e9 bytes/s) received, with N parallel streams.
iperf_gbps() {
  local n=$1 port
  port=$(free_port)
  iperf3 -s -1 -B 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  local spid=$!
  sleep 0.3
  iperf3 -c 127.0.0.1 -p "$port" -t "$dur" -P "$n" -J >"$tmp/iperf.json"
  wait "$spid" 2>/dev/null || true
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.3f" % (d["end"]["sum_received"]["bits_per_second"]/8e9))' "$tmp/iperf.json"
}

# transfer_engine_bench GB/s: block size, data connections, batches in flight.
te_gbps() {
  local block=$1 lanes=$2 threads=$3 out=$tmp/te.out
  MC_TCP_LANES_PER_PEER=$lanes "$bench" --mode=target --local_server_name=127.0.0.1 --buffer_size="$buffer" \
    >"$tmp/target.out" 2>&1 &
  local tpid=$!
  local seg=""
  for _ in $(seq 100); do
    seg=$(grep -m1 -oE "127\.0\.0\.1:[0-9]+" "$tmp/target.out" || true)
    [ -n "$seg" ] && break
    sleep 0.1
  done
  [ -n "$seg" ] || { echo "te_vs_iperf: target did not start:" >&2; cat "$tmp/target.out" >&2; exit 1; }
  MC_TCP_LANES_PER_PEER=$lanes "$bench" --mode=initiator --segment_id="$seg" --operation="$op" \
    --block_size="$block" --batch_size="$batch" --threads="$threads" --duration="$dur" --buffer_size="$buffer" \
    >"$out" 2>&1 || { echo "te_vs_iperf: initiator failed:" >&2; cat "$out" >&2; kill "$tpid"; exit 1; }
  kill "$tpid"
  wait "$tpid" 2>/dev/null || true
  grep -oE 'throughput [0-9.]+ GB/s' "$out" | grep -oE '[0-9.]+'
}

echo "te_vs_iperf: loopback, ${dur}s per run, op=$op, batch=$batch, buffer=$buffer, streams=$streams"
ip1=$(iperf_gbps 1)
ipn=$(iperf_gbps "$streams")
printf '%-34s %8s GB/s\n' "iperf3 1 stream" "$ip1" "iperf3 $streams streams" "$ipn"

printf '\n%-34s %8s  %s\n' "transfer_engine_bench" "GB/s" "ratio vs iperf3"
for block in 64KiB 1MiB 4MiB; do
  t1=$(te_gbps "$block" 1 1)
  tn=$(te_gbps "$block" "$streams" "$streams")
  r1=$(python3 -c "print('%.2f' % ($t1/$ip1 if $ip1 > 0 else 0))")
  rn=$(python3 -c "print('%.2f' % ($tn/$ipn if $ipn > 0 else 0))")
  printf '%-34s %8s  %sx of iperf3 1 stream\n' "block $block, 1 connection" "$t1" "$r1"
  printf '%-34s %8s  %sx of iperf3 %s streams\n' "block $block, $streams connections" "$tn" "$rn" "$streams"
done
