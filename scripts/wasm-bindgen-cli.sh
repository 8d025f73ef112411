#!/usr/bin/env bash
# Installs wasm-bindgen-cli of exactly the wasm-bindgen version in Cargo.lock, unless it is
# there already: the CLI that turns a module into JS (and the test runner) must match the
# library the module links. Used by scripts/wasm-test.sh and scripts/console-build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
[ -n "$version" ] || { echo "wasm-bindgen-cli: no wasm-bindgen in Cargo.lock" >&2; exit 2; }
if ! wasm-bindgen --version 2>/dev/null | grep -q " $version\$" \
  || ! wasm-bindgen-test-runner --version 2>/dev/null | grep -q " $version\$"; then
  echo "wasm-bindgen-cli: installing $version" >&2
  cargo install wasm-bindgen-cli --version "$version" --locked \
    || cargo install wasm-bindgen-cli --version "$version"
fi
