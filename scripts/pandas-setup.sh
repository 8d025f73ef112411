#!/usr/bin/env bash
# Installs pandas into .venv-pandas (git-ignored) for `weinong bench data`'s peer run.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv-pandas
.venv-pandas/bin/pip install --quiet --upgrade pip
.venv-pandas/bin/pip install --quiet "pandas>=2.2"
.venv-pandas/bin/python -c "import pandas; print('pandas', pandas.__version__, 'in .venv-pandas')"
