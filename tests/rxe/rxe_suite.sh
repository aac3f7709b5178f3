#!/bin/sh
# The verbs suite itself: runs where an RDMA device exists (inside the
# Soft-RoCE VM, or natively). POSIX sh (busybox in the VM).
# Usage: rxe_suite.sh DIR_WITH_BINARIES [churn_iterations]
set -u
dir=$1
iters=${2:-1000}
echo "== rdma devices"; ibv_devices 2>/dev/null || true
echo "== rdma resources before"; rdma resource show 2>/dev/null || true
"$dir/verbs_xport_check" "$iters"
rc=$?
if [ $rc = 77 ]; then echo "verbs suite: no RDMA device visible"; exit 77; fi
# Two devices (only in the throw-away VM: a second rxe on lo): slices are
# spread over both devices' QPs, every check again with fewer churn rounds.
if [ $rc = 0 ] && [ -f /etc/rxe-vm.conf ] && rdma link add rxe1 type rxe netdev lo 2>/dev/null; then
  echo "== two devices: rxe0 + rxe1 (on lo)"
  RXE_DEV=rxe0,rxe1 "$dir/verbs_xport_check" 20
  rc=$?
fi
echo "== rdma resources after"; rdma resource show 2>/dev/null || true
[ $rc = 0 ] && echo "verbs suite: PASS" || echo "verbs suite: FAIL (rc=$rc)"
exit $rc
