#!/bin/sh
# One scenario file, run twice with the same seed: both runs must pass
# (exit 0) and print the same trace hash.
# usage: sim_scenario_test.sh MOONCAKE_SIM SCENARIO [SEED]
set -u
SIM="$1"
SCN="$2"
SEED="${3:-1}"
out1=$("$SIM" run "$SCN" --seed "$SEED" --quiet 2>&1); rc1=$?
out2=$("$SIM" run "$SCN" --seed "$SEED" --quiet 2>&1); rc2=$?
h1=$(echo "$out1" | sed -n 's/^trace-hash: //p')
h2=$(echo "$out2" | sed -n 's/^trace-hash: //p')
if [ $rc1 -ne 0 ] || [ $rc2 -ne 0 ]; then
    echo "$out1"
    echo "FAIL: $SCN: exit codes $rc1 $rc2"
    exit 1
fi
if [ -z "$h1" ] || [ "$h1" != "$h2" ]; then
    echo "FAIL: $SCN: trace hashes differ: '$h1' '$h2'"
    exit 1
fi
echo "ok $SCN seed $SEED hash $h1"
