#!/usr/bin/env bash
# Runs the C Hello World (api/examples/store_hello.c) against a store master
# started here on a free loopback port, and checks its output.
#   run_store_hello.sh MASTER_BIN STORE_HELLO_BIN
# MASTER_BIN is mooncake_node (run as --role store_master) or, once it is the
# store master, mooncake_master (run with --port).
set -u
master_bin=$1
hello_bin=$2
master_pid=
cleanup() { [ -n "$master_pid" ] && kill "$master_pid" 2>/dev/null && wait "$master_pid" 2>/dev/null; }
trap cleanup EXIT

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for attempt in 1 2 3 4 5; do
  port=$((20000 + RANDOM % 30000))
  listening "$port" && continue
  case "$(basename "$master_bin")" in
    mooncake_master) "$master_bin" --port="$port" --rpc_address=127.0.0.1 >/dev/null 2>&1 & ;;
    *) "$master_bin" --role store_master --addr "127.0.0.1:$port" --no-stdin >/dev/null 2>&1 & ;;
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
  echo "run_store_hello: could not start a master ($master_bin)" >&2
  exit 1
fi

out=$("$hello_bin" "127.0.0.1:$port" 127.0.0.1)
rc=$?
echo "$out"
if [ $rc -ne 0 ] || [ "$out" != "Hello, Mooncake Store!" ]; then
  echo "run_store_hello: expected 'Hello, Mooncake Store!' and exit 0, got exit $rc" >&2
  exit 1
fi
