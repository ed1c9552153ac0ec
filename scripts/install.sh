#!/usr/bin/env bash
# Install agentloop (editable) and every first-party plugin distribution into the active Python.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q -e .
for p in plugins/agentloop-*/; do
  python -m pip install -q --no-deps -e "$p"
done
# The plugins' own third-party dependencies (the loop above skips dependencies so that the
# editable agentloop is never replaced): agentloop-mcp needs the MCP SDK.
python -m pip install -q "mcp>=2.3,<3"
