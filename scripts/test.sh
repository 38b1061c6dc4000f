#!/usr/bin/env bash
# Runs the whole test suite: unit and integration tests, the same tests under
# AddressSanitizer and UndefinedBehaviorSanitizer, formatting, and a bounded
# fuzzing run of each decoder (JSON and CEB XML). CI=true keeps the heavy runs short;
# FUZZ_SECONDS overrides the fuzzing time.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --build-only

echo "== tests"
ctest --test-dir build --output-on-failure -j2

echo "== tests under ASan/UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCLEARLANE_SANITIZE=address,undefined -DCLEARLANE_BENCH=OFF >/dev/null
cmake --build build-asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j2

echo "== formatting"
unformatted=()
for f in $(git ls-files '*.cc' '*.h'); do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
done
if ((${#unformatted[@]})); then
  echo "formatting: not clang-formatted (Google style): ${unformatted[*]}"
  exit 1
fi
echo "formatting: clean"

echo "== fuzzing the decoders (JSON, then CEB XML)"
seconds=${FUZZ_SECONDS:-$([ "${CI:-}" = "true" ] && echo 60 || echo 120)}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCLEARLANE_FUZZ=ON \
  -DCLEARLANE_BENCH=OFF >/dev/null
cmake --build build-fuzz --target decode_fuzz xml_fuzz clearlane
corpus=build-fuzz/corpus
if [ ! -d "$corpus" ]; then
  mkdir -p "$corpus"
  build-fuzz/pipeline/clearlane gen --orders 60 --seed 11 --flow mixed \
    --out build-fuzz/seed.ndjson --duplicates 0.1 --stale 0.1 \
    --modifications 0.1 --missing 0.1 --malformed 0.3 --cancels 0.1 \
    --returns 0.1 2>/dev/null
  split -l 1 -d -a 4 build-fuzz/seed.ndjson "$corpus/seed-"
fi
build-fuzz/tests/decode_fuzz "$corpus" -dict=tests/fuzz/decode.dict \
  -max_total_time="$seconds" -max_len=8192 -timeout=10 \
  -print_final_stats=1 2>&1 | tail -12
echo "fuzzing JSON: ${seconds}s without a crash"
# The XML reader starts from the published samples where they are
# (../shared/ceb-xml, copied into the build tree, never the repository).
xml_corpus=build-fuzz/xml-corpus
if [ ! -d "$xml_corpus" ]; then
  mkdir -p "$xml_corpus"
  samples="${CLEARLANE_CEB_XML:-../shared/ceb-xml}/samples"
  if [ -d "$samples" ]; then
    i=0
    for f in "$samples"/*.xml; do
      cp "$f" "$xml_corpus/sample-$i.xml"
      i=$((i + 1))
    done
  fi
  printf '<ceb:CEB311Message xmlns:ceb="http://www.chinaport.gov.cn/ceb"><ceb:Order><ceb:OrderHead><ceb:orderNo>O1</ceb:orderNo></ceb:OrderHead><ceb:OrderList><ceb:gnum>1</ceb:gnum></ceb:OrderList></ceb:Order></ceb:CEB311Message>' \
    >"$xml_corpus/seed-order.xml"
fi
build-fuzz/tests/xml_fuzz "$xml_corpus" -dict=tests/fuzz/xml.dict \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 \
  -print_final_stats=1 2>&1 | tail -12
echo "fuzzing XML: ${seconds}s without a crash"
