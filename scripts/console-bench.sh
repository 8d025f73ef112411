#!/usr/bin/env bash
# The web console's benchmark (apps/console/tests/bench.spec.ts): what a first visit
# transfers, and a real request bundle's verification in Chromium against the same
# verification natively (`weinong bench audit`), measured in one run and printed.
set -euo pipefail
WEINONG_CONSOLE_BENCH=1 exec bash "$(dirname "$0")/console-test.sh" bench --reporter=list
