#!/usr/bin/env bash
# deploy/systemd's units pass `systemd-analyze verify` (unknown keys, bad
# values, a missing ExecStart binary) in a root of their own, with the
# clearlane binary where the units expect it; and a unit with a mistake is
# caught, so the check cannot pass by saying nothing.
# Usage: systemd_units_test.sh SOURCE_DIR CLEARLANE_BINARY
set -euo pipefail
source_dir=$1
binary=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/usr/local/bin" "$root/etc/systemd/system" "$root/usr/lib/systemd"
cp -r /usr/lib/systemd/system "$root/usr/lib/systemd/"
cp "$binary" "$root/usr/local/bin/clearlane"
cp "$source_dir"/deploy/systemd/*.service "$root/etc/systemd/system/"

verify() {  # prints what systemd-analyze says; fails on a non-zero exit
  systemd-analyze --root="$root" verify --man=no "$@" 2>&1
}

out=$(verify clearlane.service clearlane@tmall.service clearlane@jd.service \
  clearlane-standby@tmall.service)
if [ -n "$out" ]; then
  echo "systemd-analyze verify: $out"
  exit 1
fi
echo "units verified: clearlane.service, clearlane@.service, clearlane-standby@.service"

# The check must be able to fail.
sed 's/^TimeoutStopSec=.*/TimeoutStopSec=soon/' \
  "$source_dir/deploy/systemd/clearlane@.service" \
  >"$root/etc/systemd/system/broken@.service"
out=$(verify broken@x.service || true)
if ! grep -q "broken@.service:[0-9]*: Failed to parse" <<<"$out"; then
  echo "a unit with TimeoutStopSec=soon was not caught: $out"
  exit 1
fi
echo "a broken unit is caught"
