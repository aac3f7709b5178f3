#!/usr/bin/env bash
# Run the verbs test suite (tests/rxe/rxe_suite.sh) against Soft-RoCE.
#   natively  when an RDMA device is already visible, or rdma_rxe can be
#             loaded here (MC_RXE_NATIVE=1 insists, =0 never tries);
#   in a VM   otherwise: tests/rxe/run-in-rxe-vm.sh boots a throw-away
#             QEMU/TCG Debian guest with rxe0 and runs the suite there.
# Exit: 0 pass, 1 the tests failed, 0 with "skip: <reason>" when neither
# way is possible here (no qemu, no apt, not bookworm, ...).
# Usage: run_rxe_tests.sh [BUILD_DIR] (default build-release next to the
# repo; the binary is built if missing). Env: MC_RXE_CHURN (1000),
# RXE_VM_CACHE (VM cache dir), RXE_VM_TIMEOUT (seconds, 1500).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${1:-${MC_BUILD_DIR:-$repo/build-release}}
churn=${MC_RXE_CHURN:-1000}

if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null || { echo "rxe: configure failed"; exit 1; }
fi
if ! grep -q 'MC_HAVE_VERBS:INTERNAL=ON' "$build/CMakeCache.txt"; then
  echo "skip: built without libibverbs (install libibverbs-dev, see .ci/packages.txt)"; exit 0
fi
cmake --build "$build" --target verbs_xport_check rdma_api_check mooncake_master -j"${MC_JOBS:-2}" >/dev/null ||
  { echo "rxe: building verbs_xport_check / rdma_api_check / mooncake_master failed"; exit 1; }
bin=$build/tests/rxe/verbs_xport_check
api_bins="$build/api/rdma_api_check $build/hw/mooncake_master"
export RXE_API_CHECK=$build/api/rdma_api_check RXE_MASTER_BIN=$build/hw/mooncake_master  # native runs

native_ok() {
  [ "${MC_RXE_NATIVE:-}" = 0 ] && return 1
  if ls /sys/class/infiniband/ 2>/dev/null | grep -q .; then return 0; fi
  # try to make rxe0 on loopback-reachable netdev (root and rdma_rxe needed)
  [ "$(id -u)" = 0 ] || return 1
  modprobe rdma_rxe 2>/dev/null || return 1
  local nd
  nd=$(ip -o -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p')
  [ -n "$nd" ] || nd=lo
  rdma link add mc_rxe0 type rxe netdev "$nd" 2>/dev/null || return 1
  made_link=mc_rxe0   # removed again when the suite is done
  ls /sys/class/infiniband/ 2>/dev/null | grep -q .
}

made_link=
if native_ok; then
  [ -z "$made_link" ] || trap 'rdma link delete "$made_link" 2>/dev/null' EXIT
  echo "rxe: RDMA device(s) here: $(ls /sys/class/infiniband | tr '\n' ' ')- running natively"
  sh "$here/rxe_suite.sh" "$(dirname "$bin")" "$churn"
  rc=$?
  [ $rc = 77 ] && { echo "skip: no usable RDMA device after all"; exit 0; }
  exit $rc
fi
[ "${MC_RXE_NATIVE:-}" = 1 ] && { echo "rxe: MC_RXE_NATIVE=1 but no RDMA device could be set up"; exit 1; }

reason=$("$here/run-in-rxe-vm.sh" -P) || { echo "${reason:-skip: the rxe VM cannot run here}"; exit 0; }
stage=$(mktemp -d "${TMPDIR:-/tmp}/mc-rxe.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# shellcheck disable=SC2086  # two plain paths
cp "$bin" $api_bins "$here/rxe_suite.sh" "$stage/"
echo "rxe: no RDMA device on this host; running the suite in a Soft-RoCE VM (QEMU/TCG)"
RXE_VM_TIMEOUT=${RXE_VM_TIMEOUT:-1500} "$here/run-in-rxe-vm.sh" -q -x "$stage" -- sh ./rxe_suite.sh /extra "$churn"
rc=$?
case $rc in
  0) echo "rxe: PASS" ;;
  125) echo "skip: the rxe VM did not come up (run-in-rxe-vm.sh rc=125, see its log)"; rc=0 ;;
  124) echo "rxe: FAIL (the VM timed out)"; rc=1 ;;
  *) echo "rxe: FAIL (suite rc=$rc)"; rc=1 ;;
esac
exit $rc
