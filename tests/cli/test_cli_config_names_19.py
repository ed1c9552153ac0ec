"""A name that only agentloop.toml gave, refused by the tool registry, is one CLI line naming
agentloop.toml and the setting (issue 19: config errors from the registry named no file).

tests/test_config.py checks ``name_config_file`` on its own; these run the real CLI, so they
fail when a command stops passing the registry's error through it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import agentloop


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('tools = ["nope"]\n', "(tools)", "unknown tool 'nope'"),
        ("[tool_options.nope]\nx = 1\n", "([tool_options.nope])", "'nope'"),
    ],
    ids=["tools", "tool_options"],
)
def test_a_registry_error_about_a_name_from_agentloop_toml_names_the_file(
    tmp_path: Path, text: str, where: str, message: str
) -> None:
    (tmp_path / ".git").mkdir()  # the config walk stops here
    config = tmp_path / "agentloop.toml"
    config.write_text(text)
    proc = agentloop("run", "hi", "--model", "offline", "--no-log", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr  # a configuration mistake
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"agentloop: error: {config.resolve()} {where}: "), lines[0]
    assert message in lines[0] and "Traceback" not in proc.stderr
