#!/usr/bin/env bash
# WebAssembly: weinong-keys, weinong-audit and weinong-mpc (the requester's share decoding
# and reconstruction; without `fhe`) build for wasm32-unknown-unknown; weinong-audit's
# report of a real request bundle under wasm (Node) equals the native one, and the
# requester's reconstruction of real output shares equals the plaintext result with the
# native commitment (audit/wasm-test, run by wasm-bindgen-test-runner). Installs what it needs: the rustup
# target, and wasm-bindgen-cli of the wasm-bindgen version in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
# The target directory: cargo's own choice, as in scripts/test.sh.
target=wasm32-unknown-unknown
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
command -v node >/dev/null 2>&1 || { echo "wasm-test: node (v18 or later) is needed" >&2; exit 2; }
# The runner must be the exact wasm-bindgen version the test links.
bash scripts/wasm-bindgen-cli.sh
# .cargo/config.toml asks curve25519-dalek for its AVX-512 backend, which WebAssembly
# cannot have (its build script refuses): the portable serial backend here. An
# environment variable wins over the config file's [env].
export CARGO_CFG_CURVE25519_DALEK_BACKEND=serial
cargo build --release --target "$target" -p weinong-keys -p weinong-audit -p weinong-mpc
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test --release --target "$target" -p weinong-audit-wasm-test
