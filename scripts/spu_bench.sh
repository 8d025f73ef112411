#!/usr/bin/env bash
# Install SecretFlow SPU 0.9.5 into .venv-spu (via scripts/spu-venv.sh, idempotent) and run
# the three `weinong bench mpc` workloads in SPU's simulator (ABY3, FM64), one JSON line
# per workload on stdout. Arguments pass through to spu_bench.py (--mul-n, --cmp-n, --rows,
# --features, --repeat, --only).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/spu-venv.sh" >&2
exec "$root/.venv-spu/bin/python" "$root/scripts/spu_bench.py" "$@"
