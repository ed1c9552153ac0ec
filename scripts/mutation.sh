#!/usr/bin/env bash
# Mutation testing over loop/, client/, plugins/, tracing/, server/ (a sample per package).
# Not in CI's time budget: minutes per package. Usage: bash scripts/mutation.sh [--per-package N]
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
python scripts/mutation.py "$@"
