#!/usr/bin/env bash
# Install everything (agentloop, its plugins, the test tools and the test plugin distribution),
# then run the whole test suite: agentloop, the plugins, the examples and the docs' code blocks.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
bash scripts/install-test-deps.sh
# the test extra, plus Ray for the Ray engine's tests (tests/batch: they fail without it) and
# psycopg for the team store's tests against a real PostgreSQL (they fail without it)
python -m pip install -q -e ".[test,ray,postgres]"
# A real distribution with an `agentloop` entry point, for the plugin-discovery tests.
python -m pip install -q --no-deps -e tests/fixtures/agentloop-testplugin
python -m pytest -n 2 -q "$@"
