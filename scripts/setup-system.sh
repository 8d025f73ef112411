#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, if missing.
#   libclang-dev  RocksDB's bindgen
#   openssl       interoperability tests (SM2/SM3 against OpenSSL 3); TLS certificates
#                 (scripts/tls-certs.sh)
#   curl          the TLS test checks the documented `curl --cacert` call
#   postgresql    the PostgreSQL variants of the data tests
#   systemd       systemd-analyze, which checks the shipped unit (apps/tests/deploy.rs)
#   nodejs, npm   the web console's build (scripts/console-build.sh)
#   chromium, fonts-noto-cjk   the console's browser tests (Playwright drives Debian's
#                 Chromium; the CJK fonts render its Chinese text)
# Runs as root (CI, the dev machine) or through sudo.
set -euo pipefail
need=()
dpkg -s libclang-dev >/dev/null 2>&1 || need+=(libclang-dev)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
command -v clang >/dev/null 2>&1 || dpkg -s libclang-dev >/dev/null 2>&1 || true
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
# The WebAssembly builds and test (scripts/wasm-test.sh).
if command -v rustup >/dev/null 2>&1; then
  rustup target list --installed | grep -qx wasm32-unknown-unknown \
    || rustup target add wasm32-unknown-unknown
fi
