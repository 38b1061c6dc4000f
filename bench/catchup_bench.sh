#!/usr/bin/env bash
# What a start costs against the changelog (issue 22): a full restore of
# a lost state, the catch-up of a state put back from an older copy, and
# the check every start makes on a current state, on the same day and
# the same embedded broker.
#
#   bash bench/catchup_bench.sh [--orders N] [--partitions P] [--runs R]
#                               [--work DIR] [--bin PATH]
#
# Per run, on a fresh `clearlane broker`: an import day of N orders (by
# default 40,000) is produced in two halves with kcat; `clearlane run`
# decides each half and is stopped (SIGTERM) once the changelog has stood
# still for 2 s, and the state directory is copied after the first half;
# a standby (`run --standby`) follows the changelog meanwhile into a state
# of its own. Then four starts, each stopped as soon as it has read the
# changelog:
#   catch-up: the copy is put back (the changelog holds the second half
#             past it);
#   restore:  the state directory is deleted;
#   check:    the restored state is started again (current: applies
#             nothing);
#   takeover: run on the standby's state (stopped with SIGTERM first).
# Prints, per run, the seconds each one took (from clearlane's log: the
# catch-up and restore lines; for the check, the time between the start
# checks and "publishing what the last run committed") and the records.
set -euo pipefail

orders=40000
partitions=32
runs=3
work=/tmp/clearlane-catchup-bench
bin="$(cd "$(dirname "$0")/.." && pwd)/build/pipeline/clearlane"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --orders) orders=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "catchup_bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v kcat > /dev/null || { echo "catchup_bench.sh: needs kcat" >&2; exit 2; }

mkdir -p "$work"
keyed="$work/import-$orders.tsv"
if [[ ! -s "$keyed" ]]; then
  "$bin" gen --orders "$orders" --seed 7 --flow import --profile double11 \
    --buyers 100000000 --out "$work/corpus.ndjson"
  LC_ALL=C awk '{ k = "unkeyed"
    if (match($0, /"orderNo":"[^"]*"/)) k = substr($0, RSTART + 11, RLENGTH - 12)
    print k "\t" $0 }' "$work/corpus.ndjson" > "$keyed.tmp"
  mv "$keyed.tmp" "$keyed"
fi
lines=$(wc -l < "$keyed")
head -n $((lines / 2)) "$keyed" > "$work/first.tsv"
tail -n +$((lines / 2 + 1)) "$keyed" > "$work/second.tsv"

broker_pid=""
stop_all() {
  pkill -f "clearlane run --config $work" 2> /dev/null || true
  [[ -n $broker_pid ]] && kill "$broker_pid" 2> /dev/null && wait "$broker_pid" 2> /dev/null || true
  broker_pid=""
}
trap stop_all EXIT

# Milliseconds of a log line's "time".
millis() { date -d "$(sed -E 's/.*"time":"([^"]*)".*/\1/' <<< "$1")" +%s%3N; }

echo "| run | catch-up s | records applied | restore s | records | check ms | takeover s | records |"
echo "|---|---|---|---|---|---|---|---|"
for ((r = 1; r <= runs; ++r)); do
  rm -rf "$work/state" "$work/copy" "$work/standby" "$work"/*.log "$work/bootstrap"
  "$bin" broker --bootstrap-file "$work/bootstrap" \
    $(for t in imp decisions summaries dead clearance-changelog \
        clearance-allowance clearance-allowance-answers; do
        echo "--topic $t:$partitions"; done) --topic clearance-closed-lists:1 \
    > "$work/broker.log" 2>&1 &
  broker_pid=$!
  until [[ -s $work/bootstrap ]]; do sleep 0.1; done
  bootstrap=$(cat "$work/bootstrap")
  head -c 48 /dev/urandom | base64 > "$work/hmac.secret"
  chmod 400 "$work/hmac.secret"
  cat > "$work/run.conf" << EOF
bootstrap.servers = $bootstrap
group.id = clearance
topic.orders = imp
topic.decisions = decisions
topic.summaries = summaries
topic.deadletters = dead
state.dir = $work/state
hmac.secret.file = $work/hmac.secret
idle.timeout.ms = 600000
kafka.session.timeout.ms = 6000
kafka.heartbeat.interval.ms = 500
EOF
  changelog_end() {
    kcat -Q -b "$bootstrap" $(for ((p = 0; p < partitions; ++p)); do
      echo "-t clearance-changelog:$p:-1"; done) 2> /dev/null |
      awk '{ s += $NF } END { print s }'
  }
  decide() {  # runs until the changelog stands still for 2 s
    "$bin" run --config "$work/run.conf" > "$work/$1.log" 2>&1 &
    local pid=$! last=-1 now
    sleep 5
    while now=$(changelog_end); [[ $now != "$last" ]]; do last=$now; sleep 2; done
    kill "$pid"; wait "$pid" || true
  }
  start() {  # runs until it has read the changelog
    "$bin" run --config "$work/run.conf" > "$work/$1.log" 2>&1 &
    local pid=$!
    until grep -q "publishing what the last run" "$work/$1.log"; do
      kill -0 "$pid" 2> /dev/null || { cat "$work/$1.log" >&2; exit 1; }
      sleep 0.1
    done
    kill "$pid"; wait "$pid" || true
  }
  sed "s|^state.dir = .*|state.dir = $work/standby|" "$work/run.conf" > "$work/standby.conf"
  "$bin" run --config "$work/standby.conf" --standby > "$work/standby.log" 2>&1 &
  standby_pid=$!
  kcat -P -b "$bootstrap" -t imp -K $'\t' -X topic.partitioner=murmur2_random -l "$work/first.tsv"
  decide first
  cp -r "$work/state" "$work/copy"
  kcat -P -b "$bootstrap" -t imp -K $'\t' -X topic.partitioner=murmur2_random -l "$work/second.tsv"
  decide second
  sleep 2  # the standby reads the changelog's ends once a second
  kill "$standby_pid"; wait "$standby_pid" || true
  rm -rf "$work/state"; mv "$work/copy" "$work/state"
  start catchup
  rm -rf "$work/state"
  start restore
  start check
  mv "$work/state" "$work/restored"; mv "$work/standby" "$work/state"
  start takeover
  rm -rf "$work/restored"
  caught=$(grep -o 'caught up from[^"]*' "$work/catchup.log")
  restored=$(grep -o 'restored the state from[^"]*' "$work/restore.log")
  took_over=$(grep -o 'restored the state from[^"]*' "$work/takeover.log")
  checks=$(grep -E 'could not read cleanup.policy|changelog .* is compact' "$work/check.log" | tail -1)
  published=$(grep 'publishing what the last run' "$work/check.log")
  if [[ -z $caught || -z $restored || -z $published || -z $took_over ]]; then
    echo "catchup_bench.sh: run $r: a start did not do what it should" >&2; exit 1
  fi
  check_ms=$(( $(millis "$published") - $(millis "${checks:-$published}") ))
  echo "| $r | $(grep -oE 'in [0-9.]+ s$' <<< "$caught" | tr -dc '0-9.') |" \
    "$(grep -oE '[0-9]+ applied' <<< "$caught" | tr -dc 0-9) |" \
    "$(grep -oE 'in [0-9.]+ s$' <<< "$restored" | tr -dc '0-9.') |" \
    "$(grep -oE '[0-9]+ applied' <<< "$restored" | tr -dc 0-9) | $check_ms |" \
    "$(grep -oE 'in [0-9.]+ s$' <<< "$took_over" | tr -dc '0-9.') |" \
    "$(grep -oE '[0-9]+ applied' <<< "$took_over" | tr -dc 0-9) |"
  stop_all
done
