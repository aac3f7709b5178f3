#!/bin/sh
# A stand-in for mooncake_node (mooncake_hwrun --node-bin) to test the
# runner itself: exit codes, trace collection, commands, crash detection.
# Behaviour by --name:
#   crasher  prints one trace line, then dies from SIGSEGV after 0.3 s
#   other    prints "@trace 1000 <name> fake.hello", echoes each stdin
#            command as '@trace 2000 <name> fake.cmd cmd=<cmd> key="<key>"'
#            (key with %20 decoded), exits 0 on SIGTERM
name=node
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    *) shift ;;
  esac
done
echo "@trace 1000 $name fake.hello"
echo "fake node $name up" >&2
if [ "$name" = crasher ]; then
  sleep 0.3
  kill -SEGV $$
fi
trap 'exit 0' TERM
while :; do
  if read -r word cmd rest; then
    # no subshells: forks are slow on a loaded machine
    key=""
    case " $rest" in *" key="*) key=${rest#*key=}; key=${key%% *} ;; esac
    while :; do
      case $key in *%20*) key="${key%%\%20*} ${key#*\%20}" ;; *) break ;; esac
    done
    [ "$word" = cmd ] && echo "@trace 2000 $name fake.cmd cmd=$cmd key=\"$key\""
  else
    sleep 0.05
  fi
done
