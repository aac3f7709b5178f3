#!/usr/bin/env bash
# Runs a program against a store master started here on a free loopback
# port, then stops the master.
#   run_with_master.sh [--expect TEXT] MASTER_BIN PROG [ARGS...]
# PROG gets the master's address ("127.0.0.1:PORT") as its first argument,
# then ARGS. With --expect, PROG's stdout must be exactly TEXT.
# MASTER_BIN is mooncake_node (run as --role store_master) or, once it is
# the store master, mooncake_master (run with --port).
set -u
expect=
if [ "${1:-}" = "--expect" ]; then
  expect=$2
  shift 2
fi
master_bin=$1
shift
master_pid=
cleanup() { [ -n "$master_pid" ] && kill "$master_pid" 2>/dev/null && wait "$master_pid" 2>/dev/null; }
trap cleanup EXIT

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  listening "$port" && continue
  case "$(basename "$master_bin")" in
    mooncake_master) "$master_bin" --port="$port" --rpc_address=127.0.0.1 \
         --default_kv_lease_ttl=500 >/dev/null 2>&1 & ;;
    *) "$master_bin" --role store_master --addr "127.0.0.1:$port" --no-stdin \
         --conf default_kv_lease_ttl=500ms >/dev/null 2>&1 & ;;
  esac
  master_pid=$!
  for _ in $(seq 100); do
    listening "$port" && break
    kill -0 "$master_pid" 2>/dev/null || break
    sleep 0.05
  done
  listening "$port" && break
  cleanup
  master_pid=
done
if [ -z "$master_pid" ]; then
  echo "run_with_master: could not start a master ($master_bin)" >&2
  exit 1
fi

prog=$1
shift
out=$("$prog" "127.0.0.1:$port" "$@")
rc=$?
echo "$out"
if [ $rc -ne 0 ]; then
  echo "run_with_master: $prog exited with $rc" >&2
  exit 1
fi
if [ -n "$expect" ] && [ "$out" != "$expect" ]; then
  echo "run_with_master: expected '$expect'" >&2
  exit 1
fi
