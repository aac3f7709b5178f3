#!/usr/bin/env bash
# Runs bench_store_vs_redis: starts a store master, a segment owner process,
# redis-server and memcached on free loopback ports, runs the client (a
# third process), and kills everything it started at exit.
#   store_vs_redis.sh MASTER_BIN BENCH_BIN [client args: --threads T --secs S --batch B --smoke]
# redis-server / memcached that are not installed are skipped (apt-get
# install redis-server memcached). Owner segment: $MC_BENCH_SEGMENT_MIB
# (default 3072). MC_BENCH_ONLY=mooncake skips Redis and memcached
# (e.g. to profile: perf record -g -- store_vs_redis.sh ...).
set -u
master_bin=$1
bench_bin=$2
shift 2
seg_mib=${MC_BENCH_SEGMENT_MIB:-3072}
tmp=$(mktemp -d)
pids=()
cleanup() {
  exec 9>&- 2>/dev/null # closes the owner's stdin: it unmounts and exits
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 30000))
    listening "$p" || { echo "$p"; return 0; }
  done
  return 1
}
wait_port() { # port pid
  for _ in $(seq 200); do
    listening "$1" && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# start NAME PORT CMD...: start a server on PORT, retrying other ports.
started_port=
start() {
  local name=$1
  shift
  for attempt in 1 2 3 4 5; do
    local port
    port=$(free_port) || break
    "${@//@PORT@/$port}" >"$tmp/$name.log" 2>&1 &
    local pid=$!
    if wait_port "$port" "$pid"; then
      pids+=("$pid")
      started_port=$port
      return 0
    fi
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  echo "store_vs_redis: could not start $name" >&2
  cat "$tmp/$name.log" >&2
  return 1
}

start master "$master_bin" --port=@PORT@ --rpc_address=127.0.0.1 --default_kv_lease_ttl=500 || exit 1
master="127.0.0.1:$started_port"

# The segment owner: reads its stdin (fd 9 here) until we close it.
mkfifo "$tmp/owner.in"
"$bench_bin" --owner "$master" "$seg_mib" <"$tmp/owner.in" >"$tmp/owner.out" 2>"$tmp/owner.log" &
pids+=("$!")
exec 9>"$tmp/owner.in"
owner=
for _ in $(seq 200); do
  owner=$(sed -n 's/^owner //p' "$tmp/owner.out")
  [ -n "$owner" ] && break
  sleep 0.05
done
if [ -z "$owner" ]; then
  echo "store_vs_redis: segment owner did not start" >&2
  cat "$tmp/owner.log" >&2
  exit 1
fi

args=(--master "$master" --owner-host "$owner")
only=${MC_BENCH_ONLY:-}
if [ "$only" != mooncake ] && command -v redis-server >/dev/null; then
  start redis redis-server --port @PORT@ --bind 127.0.0.1 --save "" --appendonly no \
      --protected-mode no --maxmemory 0 || exit 1
  args+=(--redis-port "$started_port")
  redis-server --version | sed 's/^/# /'
else
  echo "# redis-server: skipped"
fi
if [ "$only" != mooncake ] && command -v memcached >/dev/null; then
  # -u: memcached refuses to run as root without naming a user
  start memcached memcached -u "$(id -un)" -l 127.0.0.1 -p @PORT@ -U 0 -m 3072 -I 32m -t 2 || exit 1
  args+=(--memcached-port "$started_port")
  echo "# memcached $(memcached -V 2>/dev/null | awk '{print $2}')"
else
  echo "# memcached: skipped"
fi
"$bench_bin" "${args[@]}" "$@"
