"""Seven concurrent ``agentloop keys set`` for seven providers keep all seven keys (issue 19).

Each of seven real processes runs the CLI's ``keys set PROVIDER`` (argument parsing, the
provider check, the store's load-modify-write) twenty times, the key read from stdin as on a
pipe. Without the lock around the store's load-modify-write, writers overwrite each other's
provider and some provider ends with an older key or none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agentloop.providers.keys import key_store_path
from agentloop.providers.registry import PROVIDERS

WORKER = """
import io, sys
from agentloop.cli.entry import main
provider = sys.argv[1]
for i in range(20):
    sys.stdin = io.StringIO(f"key-{provider}-{i:04d}\\n")
    code = main(["keys", "set", provider])
    if code != 0:
        sys.exit(code)
"""


def test_seven_concurrent_keys_set_for_seven_providers_keep_all_seven(tmp_path: Path) -> None:
    providers = sorted(PROVIDERS)[:7]
    assert len(providers) == 7
    env = {**os.environ, "AGENTLOOP_HOME": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, name],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in providers
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 7, errors
    stored = json.loads(key_store_path({"AGENTLOOP_HOME": str(tmp_path)}).read_text())
    assert stored == {name: f"key-{name}-0019" for name in providers}
