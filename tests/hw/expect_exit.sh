#!/bin/sh
# expect_exit.sh CODE COMMAND...: run COMMAND, pass iff it exits with CODE.
want=$1; shift
"$@"
got=$?
if [ "$got" -ne "$want" ]; then
  echo "expect_exit: '$*' exited $got, expected $want" >&2
  exit 1
fi
exit 0
