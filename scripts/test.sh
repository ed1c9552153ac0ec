#!/usr/bin/env bash
# Install everything, then run the whole test suite (agentloop, plugins, examples, docs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
python -m pytest -n 2 -q "$@"
