#!/usr/bin/env bash
# Members of one consumer group (issue 22): `clearlane loadtest --via
# kafka --flow import --instances N` for N = 1, 2, 3 and one member run as
# a member of `group.members = many` (what that mode costs alone), the
# four alternating over R rounds on the same generated day.
#
#   bash bench/instances_bench.sh [--orders N] [--runs R] [--seed S]
#                                 [--work DIR] [--bin PATH]
#
# Prints, per configuration, each run's documents/s (the report's "whole
# run") and their median, and the report's note of each member's share
# and CPU a document. docs/engine.md "Measured: N = 1, 2, 3 on this one
# machine" has the numbers of the session that wrote it and the model.
set -euo pipefail

orders=50000
runs=3
seed=5
work=/tmp/clearlane-instances-bench
bin="$(cd "$(dirname "$0")/.." && pwd)/build/pipeline/clearlane"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --orders) orders="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

mkdir -p "$work"
declare -A rates
for r in $(seq 1 "$runs"); do
  for cfg in 1 1-many 2 3; do
    out="$work/$cfg-$r"
    rm -rf "$out"
    if [[ "$cfg" == 1-many ]]; then
      extra=(--instances 1 --run-option "group.members = many"
             --run-option "instance.id = clearlane-loadtest-solo")
    else
      extra=(--instances "$cfg")
    fi
    "$bin" loadtest --via kafka --flow import --orders "$orders" \
      --seed "$seed" "${extra[@]}" --out "$out" 2>"$out.log" >/dev/null
    rate=$(grep -m1 'documents/s, whole run' "$out/report.md" |
           sed 's/.*| \([0-9,]*\) |$/\1/; s/,//g')
    rates[$cfg]="${rates[$cfg]:-} $rate"
    echo "$cfg round $r: $rate documents/s"
    grep -m1 '^- Instances' "$out/report.md" | sed 's/^- /    /'
    rm -rf "$out"/state* "$out/corpus.ndjson"
  done
done

echo
echo "| configuration | documents/s | median |"
echo "|---|---|---:|"
for cfg in 1 1-many 2 3; do
  median=$(tr ' ' '\n' <<<"${rates[$cfg]}" | grep -v '^$' | sort -n |
           awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}')
  echo "| $cfg |${rates[$cfg]} | $median |"
done
