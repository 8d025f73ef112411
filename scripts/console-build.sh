#!/usr/bin/env bash
# Builds the web console (apps/console) into apps/console/dist, which `weinong console`
# and `weinong devnet` serve:
#   1. weinong-console-wasm for wasm32-unknown-unknown, turned into an ES module by
#      wasm-bindgen-cli (`--target web`, the version Cargo.lock pins; installed if missing)
#      into apps/console/src/wasm-pkg;
#   2. the Node packages exactly as package-lock.json lists them (`npm ci`, when they are
#      missing or the lock changed);
#   3. type check and bundle (`vue-tsc`, `vite build`).
# Needs Node.js 20 or later and npm (Debian: nodejs, npm).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v node >/dev/null 2>&1 || { echo "console-build: node (v20 or later) and npm are needed: apt-get install nodejs npm" >&2; exit 2; }
target=wasm32-unknown-unknown
rustup target list --installed | grep -qx "$target" || rustup target add "$target"
bash scripts/wasm-bindgen-cli.sh
# .cargo/config.toml asks curve25519-dalek for its AVX-512 backend, which WebAssembly
# cannot have (its build script refuses): the portable serial backend here. An
# environment variable wins over the config file's [env].
export CARGO_CFG_CURVE25519_DALEK_BACKEND=serial
cargo build --release --target "$target" -p weinong-console-wasm
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
wasm-bindgen --target web --out-dir apps/console/src/wasm-pkg \
  "$target_dir/$target/release/weinong_console_wasm.wasm"
cd apps/console
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund
fi
npm run build
echo "console-build: built $(pwd)/dist"
