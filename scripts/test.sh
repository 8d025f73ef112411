#!/usr/bin/env bash
# The test command of the README: system packages, PostgreSQL, then every test of the
# workspace in the one build profile (release, with overflow checks), then the WebAssembly
# builds and test, then the web console's browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# The target directory is cargo's own choice (`target/`, or CARGO_TARGET_DIR when set), the
# same as the README's `cargo build`/`cargo run`: a newcomer builds the tree once, not twice.
bash scripts/setup-system.sh
if [ -f scripts/pg-test-setup.sh ] && [ -z "${WEINONG_TEST_PG_URL:-}" ]; then
  # Starts PostgreSQL, creates the test role and database, prints `export WEINONG_TEST_PG_URL=…`.
  eval "$(bash scripts/pg-test-setup.sh)"
fi
cargo test --release --workspace "$@"
# weinong-keys and weinong-audit under WebAssembly (Node).
bash scripts/wasm-test.sh
# The web console in Chromium against a devnet.
bash scripts/console-test.sh
