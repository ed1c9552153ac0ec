"""The key store under races: a planted symlink, seven concurrent writers, a FIFO at its name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agentloop import ConfigurationError
from agentloop.providers.keys import key_store_path, load_keys, save_key


def test_a_planted_symlink_at_a_temporary_name_is_never_followed(tmp_path: Path) -> None:
    env = {"AGENTLOOP_HOME": str(tmp_path)}
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for pid in range(os.getpid() - 5, os.getpid() + 5):  # the old, guessable names
        (tmp_path / f".keys.json.{pid}.tmp").symlink_to(victim)
    save_key("openai", "sk-one-1234", env=env)
    assert victim.read_text() == "keep me"
    assert load_keys(env) == {"openai": "sk-one-1234"}


def test_seven_concurrent_sets_lose_no_key(tmp_path: Path) -> None:
    code = (
        "import sys\nfrom agentloop.providers.keys import save_key\n"
        "for i in range(20):\n    save_key(sys.argv[1], f'key-{sys.argv[1]}-{i:04d}')\n"
    )
    env = {**os.environ, "AGENTLOOP_HOME": str(tmp_path)}
    names = [f"prov{i}" for i in range(7)]
    procs = [subprocess.Popen([sys.executable, "-c", code, n], env=env) for n in names]
    assert [p.wait(timeout=120) for p in procs] == [0] * 7
    keys = json.loads(key_store_path({"AGENTLOOP_HOME": str(tmp_path)}).read_text())
    assert keys == {n: f"key-{n}-0019" for n in names}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_at_the_store_is_an_error_not_a_hang(tmp_path: Path) -> None:
    env = {"AGENTLOOP_HOME": str(tmp_path)}
    os.mkfifo(key_store_path(env), 0o600)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        load_keys(env)
