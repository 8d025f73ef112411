#!/usr/bin/env bash
# Create .venv-spu (git-ignored) with SecretFlow's `spu` wheel, the reference peer for
# `weinong bench psi` (ECDH-PSI) and the MPC benchmarks. Idempotent: reruns are cheap.
#
#   scripts/spu-venv.sh            # create or update .venv-spu in the repository root
#
# Needs Python 3.10/3.11 with venv and pip, and PyPI access. spu 0.9.5 ships manylinux
# x86_64 wheels (libspu.so, libpsi.so); nothing is compiled here.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-spu"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
if ! "$venv/bin/python" -c 'import spu.psi' 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'spu==0.9.5'
fi
"$venv/bin/python" -c 'import spu, spu.psi; print("spu", spu.__version__, "ready in", spu.__file__.rsplit("/spu/", 1)[0])'
