#!/usr/bin/env bash
# The web console's browser tests: builds the console (scripts/console-build.sh), the CLI
# and the node, then runs Playwright (apps/console/tests) in Debian's Chromium against a
# real devnet that the tests start. Screenshots of every page land in
# apps/console/test-results/screens. Arguments go to Playwright (a file filter, --reporter …).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/console-build.sh
# The same selection as `cargo test --workspace` builds, so after it this is a no-op.
cargo build --release --workspace --bins --tests
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
cd apps/console
WEINONG_BIN="$target_dir/release/weinong" npx playwright test "$@"
