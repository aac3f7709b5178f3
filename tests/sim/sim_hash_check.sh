#!/bin/sh
# Trace hashes are a function of (scenario, seed) only: the same in Release,
# Debug (ASan/UBSan), Coverage and under valgrind. Runs every line of
# EXPECTED and compares the printed trace hash.
#
# usage: sim_hash_check.sh MOONCAKE_SIM SCENARIO_DIR EXPECTED [--update]
#   EXPECTED lines:  run <scenario name> <seed> <hash>
#                    replay <workload> <seed> <hash>
#   '#' starts a comment. --update rewrites the hashes in place (after a
#   deliberate behaviour change; review the diff).
#   MC_SIM_WRAP="valgrind -q" (say) prefixes every mooncake_sim command.
set -u
SIM="$1"
DIR="$2"
EXP="$3"
UPDATE="${4:-}"
WRAP="${MC_SIM_WRAP:-}"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
fail=0
n=0
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
    '' | '#'*)
        echo "$line" >>"$tmp"
        continue
        ;;
    esac
    set -- $line
    if [ $# -ne 4 ]; then
        echo "FAIL: $EXP: malformed line: $line"
        exit 1
    fi
    mode=$1 what=$2 seed=$3 want=$4
    case $mode in
    run) out=$($WRAP "$SIM" run "$DIR/$what.json" --seed "$seed" --quiet 2>&1) ;;
    replay) out=$($WRAP "$SIM" replay --workload "$what" --seed "$seed" 2>&1) ;;
    *)
        echo "FAIL: $EXP: unknown mode '$mode'"
        exit 1
        ;;
    esac
    got=$(echo "$out" | sed -n 's/^trace-hash: //p')
    n=$((n + 1))
    if [ -z "$got" ]; then
        echo "$out" | tail -20
        echo "FAIL: $mode $what seed $seed: no trace hash"
        fail=1
        got=$want
    elif [ "$got" != "$want" ]; then
        echo "FAIL: $mode $what seed $seed: trace hash $got, expected $want"
        fail=1
    else
        echo "ok $mode $what seed $seed $got"
    fi
    echo "$mode $what $seed $got" >>"$tmp"
done <"$EXP"
if [ "$UPDATE" = "--update" ]; then
    cp "$tmp" "$EXP"
    echo "updated $EXP ($n entries)"
    exit 0
fi
if [ $fail -ne 0 ]; then
    echo "A hash differs. If this build type differs from another, look for address-,"
    echo "allocator- or NDEBUG-dependent behaviour (sim/README.md, 'Same hash in every"
    echo "build'). If a deliberate behaviour change moved it: $0 $SIM $DIR $EXP --update"
    exit 1
fi
echo "$n hashes match"
