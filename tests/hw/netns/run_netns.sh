#!/bin/sh
# run_netns.sh HWRUN SCENARIO [--stale] [--interrupt-after SECONDS] [ARGS...]
# Run mooncake_hwrun --netns on SCENARIO, then check that the run left
# none of its namespaces, veths, bridges or nft tables behind. Exit: the
# runner's code (77 = skipped: not root / no ip or nft), or 1 if something
# was left behind. With --interrupt-after N the runner gets SIGINT after N
# seconds and must exit 130 (interrupted), or 71/72 when expectations
# that needed the rest of the run failed; never 0 or 70 (a node crash).
# With --stale a namespace as left by a runner that died (a dead pid) is
# planted first, and the run must remove it.
PATH="$PATH:/usr/sbin:/sbin"; export PATH   # ip, nft
hwrun=$1; scn=$2; shift 2
interrupt=""; stale=""
if [ "$1" = "--stale" ]; then
  shift
  if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null 2>&1; then
    true & dead=$!; wait $dead   # a pid that is certainly not running now
    stale="mchw-$dead-hub"
    ip netns add "$stale" || exit 1
  fi
fi
if [ "$1" = "--interrupt-after" ]; then interrupt=$2; shift 2; fi

"$hwrun" "$scn" --netns "$@" &
pid=$!
if [ -n "$interrupt" ]; then
  sleep "$interrupt"
  kill -INT "$pid"
fi
wait "$pid"
rc=$?
if [ "$rc" -eq 77 ]; then
  [ -n "$stale" ] && ip netns del "$stale" 2>/dev/null
  exit 77
fi

bad=0
left=$(ls /run/netns 2>/dev/null | grep "^mchw-$pid-")
if [ -n "$left" ]; then
  echo "run_netns: namespaces left behind by pid $pid:" $left >&2
  bad=1
fi
if [ -n "$stale" ] && [ -e "/run/netns/$stale" ]; then
  echo "run_netns: the stale namespace $stale was not removed" >&2
  ip netns del "$stale"
  bad=1
fi
# Nothing is ever created in the root namespace: no hub-side veth
# (h<i>n<k>), bridge (br<k>) or nft table of ours may show up there.
if ip -o link show | grep -Eq '^[0-9]+: (h[0-9]+n[0-9]+|br[0-9]+)[@:]'; then
  echo "run_netns: a link of ours in the root namespace:" >&2
  ip -o link show | grep -E '^[0-9]+: (h[0-9]+n[0-9]+|br[0-9]+)[@:]' >&2
  bad=1
fi
if nft list tables 2>/dev/null | grep -q mchw; then
  echo "run_netns: an nft table of ours in the root namespace" >&2
  bad=1
fi
[ "$bad" -ne 0 ] && exit 1
echo "run_netns: runner exit $rc; no namespace, link or nft table of pid $pid left"
if [ -n "$interrupt" ]; then
  case $rc in 130|71|72) exit 0 ;; esac
  echo "run_netns: interrupted run exited $rc, expected 130 (or 71/72)" >&2
  exit 1
fi
exit "$rc"
