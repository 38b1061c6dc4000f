#!/usr/bin/env bash
# Compares the outputs of two clearlane binaries, byte for byte, on the
# generated days with every anomaly `gen` has (import, export and mixed) and
# on the bundled sample. For a change that must not change behaviour (a
# restructuring, a speed-up): run it with the binary before the change as
# --baseline.
#
#   bash bench/compare_outputs.sh --baseline OLD_BINARY [--candidate BINARY]
#                                 [--orders 50000] [--work DIR] [--threads N]
#
# Each day is generated once by the candidate (`gen` must give the same
# bytes for the same flags and seed; the script checks that the baseline's
# `gen` agrees) and replayed by both binaries with its identity registry,
# with --state so the durable path runs. Prints one line per day and output
# file with both md5s, and exits 1 if any pair differs.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
baseline=
candidate="$here/build/pipeline/clearlane"
orders=50000
work=/tmp/clearlane-compare
threads=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --baseline) baseline=$2; shift 2 ;;
    --candidate) candidate=$2; shift 2 ;;
    --orders) orders=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "compare_outputs.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$baseline" ]]; then
  echo "compare_outputs.sh: --baseline BINARY is required" >&2
  exit 2
fi

# Every anomaly gen injects, at rates that give each a few hundred cases
# on a 50,000-order day.
anomalies=(--duplicates 0.02 --stale 0.02 --modifications 0.02 --missing 0.03
  --amount-mismatches 0.03 --payer-mismatches 0.02 --invalid-ids 0.02
  --cancels 0.02 --returns 0.02 --late-returns 0.01 --malformed 0.01
  --single-item-over-limit 0.01 --registry-unknown 0.01
  --registry-mismatch 0.01)

mkdir -p "$work"
differ=0
md5() { md5sum "$1" | cut -d' ' -f1; }

# replay BINARY DAY REGISTRY OUT: a durable replay of one day.
replay() {
  rm -rf "$4"
  "$1" replay --input "$2" --identity-registry "$3" --out "$4" \
    --state "$4/state" --threads "$threads" 2>"$4.log" ||
    { echo "compare_outputs.sh: $1 failed on $2; see $4.log" >&2; exit 1; }
}

compare() {  # NAME DAY REGISTRY
  local name=$1 day=$2 registry=$3
  replay "$baseline" "$day" "$registry" "$work/$name.baseline"
  replay "$candidate" "$day" "$registry" "$work/$name.candidate"
  for f in receipts summaries deadletters; do
    local a b
    a=$(md5 "$work/$name.baseline/$f.ndjson")
    b=$(md5 "$work/$name.candidate/$f.ndjson")
    local lines
    lines=$(wc -l < "$work/$name.candidate/$f.ndjson")
    if [[ "$a" == "$b" ]]; then
      printf '%-8s %-12s %8d lines  %s  same\n' "$name" "$f" "$lines" "$b"
    else
      printf '%-8s %-12s %8d lines  %s  DIFFERS from %s\n' "$name" "$f" \
        "$lines" "$b" "$a"
      differ=1
    fi
  done
}

for flow in import export mixed; do
  day="$work/$flow-$orders.ndjson"
  registry="$work/$flow-$orders.reg"
  if [[ ! -s "$day" ]]; then
    "$candidate" gen --orders "$orders" --seed 17 --flow "$flow" \
      --profile double11 --out "$day" --registry-out "$registry" \
      "${anomalies[@]}" 2>/dev/null
    "$baseline" gen --orders "$orders" --seed 17 --flow "$flow" \
      --profile double11 --out "$day.baseline" "${anomalies[@]}" 2>/dev/null
    if ! cmp -s "$day" "$day.baseline"; then
      echo "compare_outputs.sh: the two binaries generate different $flow days" >&2
      exit 1
    fi
    rm -f "$day.baseline"
  fi
  compare "$flow" "$day" "$registry"
done
compare sample "$here/samples/day.ndjson" "$here/samples/registry.ndjson"

if ((differ)); then
  echo "compare_outputs.sh: outputs differ" >&2
  exit 1
fi
echo "compare_outputs.sh: every output is the same"
