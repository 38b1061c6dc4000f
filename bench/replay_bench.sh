#!/usr/bin/env bash
# Replay throughput beside the decode-only rate of the same file (issue 4).
#
#   bash bench/replay_bench.sh [--orders N] [--runs R] [--flow import|export|mixed]
#                              [--seed S] [--skew SHARE] [--work DIR] [--bin PATH]
#                              [--floor-bin PATH] [--baseline-bin PATH]
#                              [--configs "check floor epoch:1 epoch:2 none:1 none:2"]
#
# Generates the corpus once (kept in --work, default /tmp/clearlane-bench),
# then runs, R times each and in turn (so machine noise spreads over all of
# them): `clearlane check` (decode and required fields only), and `clearlane
# replay --state` with --sync=epoch and --sync=none on 1 and 2 threads (or
# the --configs given). `floor` runs bench/state_floor on the same file: the
# least any durable replay must do (decode, state forms, one Put per
# document, one outbox entry per list), so its ratio bounds replay's.
# A config prefixed `base/` (`base/epoch:2`) runs the --baseline-bin
# binary instead (a build of an earlier commit), in the same rounds, so
# before and after are compared within one run on the same machine.
# --skew passes --top-sellers-share to gen: that share
# of export orders from the three largest sellers.
# Prints a Markdown table of medians: seconds, documents/s, lists/s and the
# ratio to the decode-only rate. Every replay must write the same receipts
# and summaries (checked by md5), or the script fails.
set -euo pipefail

orders=1000000
runs=3
skew=
configs=(check epoch:1 epoch:2 none:1 none:2)
flow=import
seed=11
work=/tmp/clearlane-bench
bin="$(dirname "$0")/../build/pipeline/clearlane"
floor_bin="$(dirname "$0")/../build/bench/state_floor"
baseline_bin=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --orders) orders=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --flow) flow=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --skew) skew=$2; shift 2 ;;
    --configs) read -r -a configs <<< "$2"; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --floor-bin) floor_bin=$2; shift 2 ;;
    --baseline-bin) baseline_bin=$2; shift 2 ;;
    *) echo "replay_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

mkdir -p "$work"
name="$flow-$orders-$seed${skew:+-skew$skew}"
corpus="$work/$name.ndjson"
registry="$work/$name.reg"
if [[ ! -s "$corpus" || ! -s "$registry" ]]; then
  echo "generating $corpus" >&2
  "$bin" gen --orders "$orders" --seed "$seed" --flow "$flow" \
    --profile double11 --out "$corpus.tmp" --registry-out "$registry" \
    ${skew:+--top-sellers-share "$skew"}
  mv "$corpus.tmp" "$corpus"
fi
documents=$(wc -l < "$corpus")
lists=$(grep -cE '"docType":"CEB6(21|03)"' "$corpus" || true)
declare -A times
receipts_md5=""

now() { date +%s.%N; }

run_one() {
  local config=$1 start end bin=$bin
  if [[ $config == base/* ]]; then
    [[ -x $baseline_bin ]] || { echo "replay_bench.sh: $config needs --baseline-bin" >&2; exit 2; }
    bin=$baseline_bin
    config=${config#base/}
  fi
  if [[ $config == check ]]; then
    start=$(now)
    "$bin" check --input "$corpus" > /dev/null
    end=$(now)
  elif [[ $config == floor ]]; then
    start=$(now)
    "$floor_bin" --input "$corpus" > /dev/null
    end=$(now)
  else
    IFS=: read -r sync threads <<< "$config"
    rm -rf "$work/state" "$work/out"
    start=$(now)
    "$bin" replay --input "$corpus" --out "$work/out" --state "$work/state" \
      --identity-registry "$registry" --sync "$sync" --threads "$threads"
    end=$(now)
    local md5
    md5=$(cat "$work/out/receipts.ndjson" "$work/out/summaries.ndjson" | md5sum | cut -d' ' -f1)
    wc -l < "$work/out/summaries.ndjson" > "$work/summaries.last"
    if [[ -z $receipts_md5 ]]; then
      receipts_md5=$md5
    elif [[ $md5 != "$receipts_md5" ]]; then
      echo "replay_bench.sh: outputs of '$config' differ from the first run" >&2
      exit 1
    fi
  fi
  times[$1]+="$(echo "$end - $start" | bc) "
  echo "  $1: $(echo "$end - $start" | bc) s" >&2
}

for ((r = 0; r < runs; ++r)); do
  for c in "${configs[@]}"; do
    echo "run $((r + 1))/$runs: $c" >&2
    run_one "$c"
  done
done
rm -rf "$work/state" "$work/out"

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {
  print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

check_s=$(echo "${times[check]}" | median)
echo
echo "corpus: $corpus ($documents documents, $lists lists); $(nproc) CPUs,"
if [[ -s "$work/summaries.last" ]]; then
  echo "summary forms written: $(cat "$work/summaries.last")"
fi
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); medians of $runs runs"
echo
echo "| command | seconds | documents/s | lists/s | ratio to decode |"
echo "|---|---:|---:|---:|---:|"
for c in "${configs[@]}"; do
  s=$(echo "${times[$c]}" | median)
  prefix=
  if [[ $c == base/* ]]; then
    prefix="baseline "
    c=${c#base/}
  fi
  if [[ $c == check ]]; then
    label='`check` (decode only)'
  elif [[ $c == floor ]]; then
    label='`state_floor` (decode, state forms, one Put per document)'
  else
    IFS=: read -r sync threads <<< "$c"
    label="\`replay --state --sync=$sync --threads $threads\`"
  fi
  label="$prefix$label"
  awk -v n="$label" -v s="$s" -v d="$documents" -v l="$lists" -v c="$check_s" \
    'BEGIN { printf "| %s | %.2f | %.0f | %.0f | %.3f |\n", n, s, d / s, l / s, c / s }'
done
