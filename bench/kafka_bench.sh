#!/usr/bin/env bash
# End-to-end Kafka mode through the embedded broker (issue 7), beside
# `clearlane replay` of the same corpus and the mock cluster's bare
# produce+consume rate, all measured in the same run.
#
#   bash bench/kafka_bench.sh [--orders N] [--runs R] [--seed S] [--work DIR]
#                             [--bin PATH] [--partitions P]
#                             [--run-option 'key = value' ...]
#
# Per run, on a fresh `clearlane broker` (P input partitions, by default
# one per 625 orders and at least 32: the mock keeps only the last few
# megabytes of each partition, so the corpus must fit in them, about 2 MB
# a partition):
#   bare:    kcat produces the keyed corpus to a topic while another kcat
#            consumes it;
#   kafka:   `clearlane run` is started and assigned, then the corpus and a
#            clock document per partition (60 days on, so every timeout
#            fires) are produced; the time runs until the decisions topic
#            holds as many decisions as replay wrote;
#   replay:  `clearlane replay --state` of the same file.
# Prints a Markdown table of medians (seconds and documents/s).
set -euo pipefail

orders=20000
partitions=""
run_options=""
runs=3
seed=21
work=/tmp/clearlane-kafka-bench
bin="$(cd "$(dirname "$0")/.." && pwd)/build/pipeline/clearlane"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --orders) orders=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    --run-option) run_options+="$2"$'\n'; shift 2 ;;
    *) echo "kafka_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n $partitions ]] || partitions=$(( orders / 625 > 32 ? orders / 625 : 32 ))
command -v kcat > /dev/null || { echo "kafka_bench.sh: needs kcat" >&2; exit 2; }

mkdir -p "$work"
corpus="$work/import-$orders-$seed.ndjson"
keyed="$work/import-$orders-$seed-clocks.tsv"
if [[ ! -s "$keyed" ]]; then
  # Every buyer distinct: the order of partitions cannot change an outcome.
  "$bin" gen --orders "$orders" --seed "$seed" --flow import \
    --profile double11 --buyers 100000000 --out "$corpus"
  # orderNo<TAB>document, as a platform keys its messages.
  LC_ALL=C awk '{ k = "unkeyed"
    if (match($0, /"orderNo":"[^"]*"/)) k = substr($0, RSTART + 11, RLENGTH - 12)
    print k "\t" $0 }' "$corpus" > "$keyed.tmp"
  for i in $(seq 0 4095); do
    printf 'CLOCK%d\t{"docType":"CEB311","appType":"1","appTime":"20270111093000","orderNo":"CLOCK%d","ebpCode":"CLOCK"}\n' "$i" "$i"
  done >> "$keyed.tmp"
  mv "$keyed.tmp" "$keyed"
fi
documents=$(wc -l < "$corpus")

now() { date +%s.%N; }
declare -A times
# Both readers ask the mock not to hold an empty fetch for librdkafka's
# default 500 ms (it answers a waiting fetch only at its end).
reader_options="-X fetch.wait.max.ms=10"
broker_pid=""
stop_broker() {
  [[ -n $broker_pid ]] && kill "$broker_pid" 2> /dev/null && wait "$broker_pid" 2> /dev/null || true
  broker_pid=""
}
trap 'stop_broker; pkill -f "clearlane run --config $work" || true' EXIT

expected=""
for ((r = 1; r <= runs; ++r)); do
  echo "run $r/$runs" >&2
  # replay
  rm -rf "$work/state" "$work/out"
  start=$(now)
  "$bin" replay --input "$corpus" --out "$work/out" --state "$work/state"
  times[replay]+="$(echo "$(now) - $start" | bc) "
  expected=$(wc -l < "$work/out/receipts.ndjson")

  rm -f "$work/bootstrap"
  "$bin" broker --bootstrap-file "$work/bootstrap" --topic "docs:$partitions" \
    --topic "bare:$partitions" --topic decisions:16 --topic summaries:1 --topic dead:4 \
    --topic "clearlane-changelog:$partitions" \
    --topic "clearlane-allowance:$partitions" \
    --topic "clearlane-allowance-answers:$partitions" \
    --topic clearlane-closed-lists:1 \
    2> "$work/broker.log" &
  broker_pid=$!
  while [[ ! -s "$work/bootstrap" ]]; do sleep 0.1; done
  bs=$(cat "$work/bootstrap")

  # bare produce + consume, side by side
  total=$(wc -l < "$keyed")
  start=$(now)
  timeout 300 kcat -b "$bs" -C -t bare -q -o beginning -c "$total" $reader_options |
    wc -l > "$work/bare.count" &
  reader=$!
  kcat -b "$bs" -P -t bare -K $'\t' -X partitioner=murmur2_random < "$keyed"
  wait "$reader"
  times[bare]+="$(echo "$(now) - $start" | bc) "
  n=$(cat "$work/bare.count")
  [[ $n -ge $documents ]] || { echo "bare: consumed $n of $documents" >&2; exit 1; }

  # clearlane run end to end
  rm -rf "$work/run-state"
  (umask 077; head -c 48 /dev/urandom | base64 > "$work/hmac.secret")
  cat > "$work/run.conf" << EOF
bootstrap.servers = $bs
topic.orders = docs
topic.decisions = decisions
topic.summaries = summaries
topic.deadletters = dead
state.dir = $work/run-state
hmac.secret.file = $work/hmac.secret
idle.timeout.ms = 600000
$run_options
EOF
  "$bin" run --config "$work/run.conf" 2> "$work/run.log" &
  run_pid=$!
  until grep -q assigned "$work/run.log"; do
    kill -0 "$run_pid" 2> /dev/null || { cat "$work/run.log" >&2; exit 1; }
    sleep 0.1
  done
  # One reader, started first, stops at the last decision (-c counts
  # records, not the transactions' markers).
  timeout 600 kcat -b "$bs" -C -t decisions -q -o beginning -c "$expected" \
    $reader_options |
    wc -l > "$work/kafka.count" &
  reader=$!
  start=$(now)
  kcat -b "$bs" -P -t docs -K $'\t' -X partitioner=murmur2_random < "$keyed"
  wait "$reader"
  times[kafka]+="$(echo "$(now) - $start" | bc) "
  n=$(cat "$work/kafka.count")
  [[ $n -ge $expected ]] || { echo "kafka: $n of $expected decisions" >&2; exit 1; }
  kill -TERM "$run_pid"
  wait "$run_pid"
  stop_broker
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {
  print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo
echo "corpus: $corpus ($documents documents, $expected decisions), $partitions input partitions; $(nproc) CPUs,"
echo "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); medians of $runs runs"
echo
echo "| what | seconds | documents/s |"
echo "|---|---:|---:|"
for k in bare kafka replay; do
  s=$(echo "${times[$k]}" | median)
  case $k in
    bare) label='mock cluster: kcat produce + consume (no clearlane)' ;;
    kafka) label='`clearlane run` end to end (produce, clear, decisions published)' ;;
    replay) label='`clearlane replay --state` of the same file' ;;
  esac
  awk -v n="$label" -v s="$s" -v d="$documents" \
    'BEGIN { printf "| %s | %.2f | %.0f |\n", n, s, d / s }'
done
