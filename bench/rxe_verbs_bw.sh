#!/usr/bin/env bash
# Verbs transport bandwidth next to perftest's ib_write_bw, on Soft-RoCE
# inside the throw-away QEMU/TCG VM (tests/rxe/run-in-rxe-vm.sh; perftest
# is downloaded into the VM through RXE_VM_EXTRA_PKGS, not installed on the
# host). Both run in the same VM run, same device, same message size, one
# after the other; the ratio ours/perftest is what to look at.
#
# NOTE: Soft-RoCE under TCG measures software overhead (rxe's in-kernel
# packet processing and ICRC on emulated CPUs, plus our slicing, handshake
# and completion path), not NIC speed. Absolute GB/s mean nothing; the
# ratio says how much our transport adds on top of raw verbs.
#
# Usage: bench/rxe_verbs_bw.sh [BUILD_DIR (build-release)] [SIZE (1048576)] [ITERS (200)]
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-$repo/build-release}
size=${2:-1048576}
iters=${3:-200}
runner=$repo/tests/rxe/run-in-rxe-vm.sh

cmake --build "$build" --target bench_rxe_verbs_bw -j2 >/dev/null ||
  { echo "rxe bench: cannot build bench_rxe_verbs_bw in $build (libibverbs-dev?)"; exit 1; }
reason=$("$runner" -P) || { echo "${reason:-skip: the rxe VM cannot run here}"; exit 0; }
stage=$(mktemp -d "${TMPDIR:-/tmp}/mc-rxe-bench.XXXXXX")
trap 'rm -rf "$stage"' EXIT
cp "$build/bench/bench_rxe_verbs_bw" "$stage/"
cat > "$stage/bw.sh" <<'IN'
#!/bin/sh
# inside the VM: $1 size, $2 iters
size=$1; iters=$2
ib_write_bw -d "$RXE_DEV" -x "$RXE_GID_INDEX" -s "$size" -n "$iters" --report_gbits > /tmp/srv.out 2>&1 &
sleep 1
ib_write_bw -d "$RXE_DEV" -x "$RXE_GID_INDEX" -s "$size" -n "$iters" --report_gbits "$RXE_IP" > /tmp/cli.out 2>&1
wait
# data line: size iterations peak average msgrate
pt=$(awk -v s="$size" '$1 == s && NF >= 5 {print $4}' /tmp/cli.out | tail -n1)
[ -n "$pt" ] || { echo "ib_write_bw failed:"; cat /tmp/cli.out /tmp/srv.out; exit 1; }
echo "perftest ib_write_bw size=$size iters=$iters BW_average=${pt}Gb/s"
./bench_rxe_verbs_bw --size "$size" --iters "$iters" > /tmp/ours.out 2>/tmp/ours.err || { cat /tmp/ours.out /tmp/ours.err; exit 1; }
cat /tmp/ours.out
ours=$(sed -n 's/.*GBps=\([0-9.]*\).*/\1/p' /tmp/ours.out)
awk -v o="$ours" -v p="$pt" -v s="$size" 'BEGIN {
  pg = p / 8;
  printf "RESULT size=%s: verbs_xport %.4f GB/s, ib_write_bw %.4f GB/s, ratio ours/perftest %.2f\n", s, o, pg, (pg > 0 ? o / pg : 0) }'
IN
chmod +x "$stage/bw.sh"
echo "rxe bench: WRITE ${size} B x ${iters} in the Soft-RoCE VM (TCG: software overhead, not NIC speed)"
size=$size RXE_VM_EXTRA_PKGS="perftest libibumad3 libpci3 librdmacm1" RXE_VM_SMP=2 \
  "$runner" -q -x "$stage" -- sh -c "size=$size ./bw.sh $size $iters"
