#!/usr/bin/env bash
# Install agentloop (editable) with its test tools and every first-party plugin into the active Python.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e ".[test]"
for p in plugins/agentloop-*/; do
  python -m pip install -q --no-deps -e "$p"
done
