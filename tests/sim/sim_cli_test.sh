#!/bin/sh
# CLI checks for mooncake_sim: same seed => same trace hash, different
# seed => different hash, exit codes, a short swarm with --twice.
# usage: sim_cli_test.sh MOONCAKE_SIM SCENARIO_DIR
set -u
SIM="$1"
DIR="$2"
fail() { echo "FAIL: $*"; exit 1; }
hash_of() { "$SIM" run "$1" --seed "$2" --quiet | sed -n 's/^trace-hash: //p'; }

SCN="$DIR/membership-partition-heal.json"
[ -f "$SCN" ] || SCN=$(ls "$DIR"/*.json | head -1)
a=$(hash_of "$SCN" 11); b=$(hash_of "$SCN" 11); c=$(hash_of "$SCN" 12)
[ -n "$a" ] || fail "no trace-hash printed"
[ "$a" = "$b" ] || fail "same seed, different hashes: $a $b"
[ "$a" != "$c" ] || fail "different seeds, same hash: $a"

"$SIM" --help >/dev/null || fail "--help"
"$SIM" run --help >/dev/null || fail "run --help"
"$SIM" >/dev/null 2>&1; [ $? -eq 64 ] || fail "no command should exit 64"
"$SIM" run /nonexistent.json >/dev/null 2>&1; [ $? -eq 65 ] || fail "missing file should exit 65"
"$SIM" replay >/dev/null 2>&1; [ $? -eq 64 ] || fail "replay without --seed should exit 64"
for bad in "$DIR"/bad/*.json; do
    [ -f "$bad" ] || continue
    "$SIM" run "$bad" >/dev/null 2>&1; rc=$?
    [ $rc -eq 65 ] || fail "$bad: expected exit 65, got $rc"
done

r1=$("$SIM" replay --seed 3 | sed -n 's/^trace-hash: //p')
r2=$("$SIM" replay --seed 3 | sed -n 's/^trace-hash: //p')
[ -n "$r1" ] && [ "$r1" = "$r2" ] || fail "replay hashes differ: $r1 $r2"

out=$("$SIM" swarm --seeds 1..30 --jobs 2 --twice) || { echo "$out"; fail "swarm 1..30"; }
echo "$out" | grep -q "^30 seeds, 0 failures" || { echo "$out"; fail "swarm summary"; }
echo "ok"
