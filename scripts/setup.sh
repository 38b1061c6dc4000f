#!/usr/bin/env bash
# Installs clearlane's build and test dependencies from Debian's packages
# (idempotent, non-interactive), builds, and runs the main job on the bundled
# sample. Usage: scripts/setup.sh [--build-only]
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev clang-format
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  librdkafka-dev libsimdjson-dev librocksdb-dev libabsl-dev
  prometheus-cpp-dev libcivetweb-dev rapidjson-dev libcli11-dev libssl-dev
  libxxhash-dev libspdlog-dev libfmt-dev kcat prometheus gnuplot-nox
  libgoogle-perftools-dev libpugixml-dev libxml2-utils libxml2-dev libexpat1-dev
  systemd
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
# Node.js and npm run the Kubernetes manifest test (a schema validator from
# npm, tests/kubernetes/package.json; Debian has none). A machine with
# Node.js already keeps its own.
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm packages of the Kubernetes manifest test (tests/kubernetes).
k8s=tests/kubernetes
if ! cmp -s "$k8s/package-lock.json" "$k8s/node_modules/.installed-lock"; then
  npm ci --prefix "$k8s" --no-audit --no-fund --loglevel=error
  cp "$k8s/package-lock.json" "$k8s/node_modules/.installed-lock"
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build

[ "${1:-}" = "--build-only" ] && exit 0

# The main job on the bundled sample: the embedded engine, no broker.
out=build/sample-out
echo
echo "== clearlane replay --input samples/day.ndjson --out $out"
build/pipeline/clearlane replay --input samples/day.ndjson --out "$out" \
  --identity-registry samples/registry.ndjson
echo "receipts:     $out/receipts.ndjson ($(wc -l <"$out/receipts.ndjson") lines)"
echo "summaries:    $out/summaries.ndjson ($(wc -l <"$out/summaries.ndjson") lines)"
echo "dead letters: $out/deadletters.ndjson ($(wc -l <"$out/deadletters.ndjson") lines)"
