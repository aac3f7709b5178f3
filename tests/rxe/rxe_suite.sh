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

# protocol="rdma" through the public C API (api/tests/rdma_api_check.c):
# store put/get between two store processes and a mooncake_master, TE
# write/read between two engines (P2PHANDSHAKE). Binaries next to the
# suite (VM) or given by RXE_API_CHECK / RXE_MASTER_BIN (native).
api_checks() {
  chk=${RXE_API_CHECK:-$dir/rdma_api_check}
  mst=${RXE_MASTER_BIN:-$dir/mooncake_master}
  if [ ! -x "$chk" ] || [ ! -x "$mst" ]; then
    echo "== api over rdma: $chk or $mst missing"; return 1
  fi
  port=$((20000 + $$ % 20000))
  echo "== api over rdma: mooncake_master on 127.0.0.1:$port"
  "$mst" --port=$port --rpc_address=127.0.0.1 --default_kv_lease_ttl=500 >/tmp/mc-rxe-master.log 2>&1 &
  mpid=$!
  i=0
  while [ $i -lt 50 ] && ! (netstat -ltn 2>/dev/null | grep -q "[:.]$port "); do sleep 1; i=$((i + 1)); done
  arc=0
  "$chk" store "127.0.0.1:$port" || arc=1
  "$chk" te || arc=1
  kill "$mpid" 2>/dev/null; wait "$mpid" 2>/dev/null
  [ $arc = 0 ] || { echo "-- master log:"; tail -20 /tmp/mc-rxe-master.log; }
  return $arc
}
if [ $rc = 0 ]; then api_checks || rc=1; fi
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
