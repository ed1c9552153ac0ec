"""Issue 18's front door: options anywhere, ``-o KEY VALUE``, ``models default``, the offline
notice, ``--mcp`` failures, denials on a non-terminal, and one-line errors for bad input."""

from __future__ import annotations

import itertools
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import CALC, agentloop, cli_env

from agentloop.cli.entry import build_parser
from agentloop.cli.model_options import parse_model_options
from agentloop.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
CALCULATOR = str(ROOT / "examples" / "calculator.py")
PLUGINS = {"AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD": "0"}  # `calculate` is offered by a plugin


def one_error_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The single error line of a failed command (no traceback), checked for ``code``."""
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if ": error:" in line]
    assert len(errors) == 1, proc.stderr
    return errors[0]


# -- options anywhere ------------------------------------------------------------------------

UNITS = [("--model", "offline"), ("-v",), ("-o", "temperature", "0.5"), ("-T", "calculate")]


def _orders() -> list[list[str]]:
    """Every order of the option units and TARGET, PROMPT (TARGET before PROMPT)."""
    orders = []
    for perm in itertools.permutations([*UNITS, ("TARGET",), ("PROMPT",)]):
        if perm.index(("TARGET",)) > perm.index(("PROMPT",)):
            continue
        orders.append([word for unit in perm for word in unit])
    return orders


def test_run_reads_every_order_of_options_and_positionals() -> None:
    parser = build_parser()
    orders = _orders()
    assert len(orders) == 360  # 6! / 2
    for order in orders:
        argv = ["run", *(CALCULATOR if w == "TARGET" else "What is 2+3?" if w == "PROMPT" else w
                         for w in order)]  # fmt: skip
        args = parser.parse_args(argv)
        assert (args.target, args.prompt) == (CALCULATOR, "What is 2+3?"), argv
        assert args.model == "offline" and args.verbose, argv
        assert args.model_options == [["temperature", "0.5"]] and args.tools == ["calculate"]


def test_the_issue_command_runs_with_options_between_target_and_prompt(tmp_path: Path) -> None:
    proc = agentloop(
        "run", CALCULATOR, "--model", "offline", "-v", "What is 2+3?", cwd=tmp_path, **PLUGINS
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The result of calculate is 5.\n"
    assert "model call" in proc.stderr  # -v took effect after TARGET


@pytest.mark.parametrize(
    "argv",
    [
        ["chat", "--model", "offline", CALC, "-v"],
        ["tools", CALC, "--json"],
        ["view", "run.jsonl", "--no-open", "-o", "x.html"],
        ["logs", "show", "--json", "abc"],
    ],
)
def test_other_commands_take_options_after_positionals(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.command == argv[0]


def test_a_prompt_starting_with_a_dash_works_after_double_dash(tmp_path: Path) -> None:
    proc = agentloop("run", "-T", "calculate", "--", "-5 + 3 is?", cwd=tmp_path, **PLUGINS)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The result of calculate is -2.\n"


def test_an_unknown_option_shows_the_subcommands_usage_and_a_close_match(tmp_path: Path) -> None:
    proc = agentloop("run", CALC, "hi", "--modle", "offline", cwd=tmp_path)
    line = one_error_line(proc, 2)
    assert proc.stderr.startswith("usage: agentloop run ")
    assert "unknown option --modle (did you mean --model?)" in line
    assert "agentloop run --help" in line


def test_a_stray_positional_is_named_with_the_subcommands_usage(tmp_path: Path) -> None:
    proc = agentloop("run", CALC, "one", "two", cwd=tmp_path)
    line = one_error_line(proc, 2)
    assert proc.stderr.startswith("usage: agentloop run ")
    assert "'two'" in line and "--" in line


def test_a_wrong_typed_option_is_one_line_naming_it(tmp_path: Path) -> None:
    proc = agentloop("run", CALC, "hi", "--max-steps", "many", cwd=tmp_path)
    line = one_error_line(proc, 2)
    assert "--max-steps" in line and "'many'" in line


# -- -o KEY VALUE ----------------------------------------------------------------------------


def test_model_options_are_parsed_as_json_and_checked() -> None:
    options = parse_model_options(
        [["temperature", "0.2"], ["max_tokens", "50"], ["stop", '["END", "STOP"]'],
         ["seed", "7"], ["response_format", "json_object"], ["reasoning_effort", "low"],
         ["user", "42"]]
    )  # fmt: skip
    assert options == {
        "temperature": 0.2,
        "max_tokens": 50,
        "stop": ["END", "STOP"],
        "seed": 7,
        "response_format": {"type": "json_object"},
        "reasoning_effort": "low",
        "user": "42",
    }


@pytest.mark.parametrize(
    ("pair", "needle"),
    [
        (["temprature", "1"], "unknown -o key 'temprature' (did you mean temperature?)"),
        (["temperature", "hot"], "-o temperature takes a number from 0 to 2, got 'hot'"),
        (["temperature", "NaN"], "-o temperature takes a number"),
        (["max_tokens", "1.5"], "-o max_tokens takes an integer 1 or more"),
        (["top_p", "true"], "-o top_p takes a number from 0 to 1"),
        (["stop", '["a", "b", "c", "d", "e"]'], "-o stop takes a non-empty string or a JSON list"),
        (["reasoning_effort", "extreme"], "-o reasoning_effort takes one of"),
        (["response_format", '{"type": "yaml"}'], "-o response_format takes"),
        (["model", "x"], "-o model: agentloop sets model itself; use --model"),
    ],
)
def test_bad_model_options_name_the_key_and_what_it_takes(pair: list[str], needle: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_model_options([pair])
    assert needle in str(caught.value)
    assert "\n" not in str(caught.value)


def test_model_options_reach_the_request(tmp_path: Path, fake_server: object) -> None:
    from fakeserver import completion, json_reply

    fake_server.script(json_reply(completion("ok")))  # type: ignore[attr-defined]
    proc = agentloop(
        "run", "hi", "--model", "local:m", "--base-url", fake_server.base_url,  # type: ignore[attr-defined]
        "--no-stream", "-o", "temperature", "0.3", "-o", "stop", "END", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    body = fake_server.requests[0].json  # type: ignore[attr-defined]
    assert body["temperature"] == 0.3 and body["stop"] == "END"


def test_a_bad_model_option_on_the_command_line_exits_2(tmp_path: Path) -> None:
    line = one_error_line(agentloop("run", "hi", "-o", "temperature", "3", cwd=tmp_path), 2)
    assert line == "agentloop: error: -o temperature takes a number from 0 to 2, got '3'"


# -- models default --------------------------------------------------------------------------


def test_the_user_default_model_is_stored_and_used(tmp_path: Path, fake_server: object) -> None:
    from fakeserver import completion, json_reply

    home = str(tmp_path / "home")
    shown = agentloop("models", "default", AGENTLOOP_HOME=home)
    assert shown.returncode == 0 and "no default model" in shown.stdout
    stored = agentloop("models", "default", "local:from-default", AGENTLOOP_HOME=home)
    assert stored.returncode == 0, stored.stderr
    saved = json.loads((tmp_path / "home" / "config.json").read_text())
    assert saved == {"default_model": "local:from-default"}
    assert agentloop("models", "default", AGENTLOOP_HOME=home).stdout == "local:from-default\n"

    fake_server.script(json_reply(completion("from the server")))  # type: ignore[attr-defined]
    url = fake_server.base_url  # type: ignore[attr-defined]
    proc = agentloop("run", "hi", "--no-stream", cwd=tmp_path, AGENTLOOP_HOME=home,
                     AGENTLOOP_BASE_URL=url)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "from the server\n"
    assert fake_server.requests[0].json["model"] == "from-default"  # type: ignore[attr-defined]
    # the environment (and --model, and agentloop.toml) win over the user default
    env_wins = agentloop("run", "hi", cwd=tmp_path, AGENTLOOP_HOME=home, AGENTLOOP_MODEL="offline")
    assert env_wins.returncode == 0 and "offline model" in env_wins.stdout
    assert agentloop("models", "default", "--unset", AGENTLOOP_HOME=home).returncode == 0
    assert "no default model" in agentloop("models", "default", AGENTLOOP_HOME=home).stdout


def test_a_bad_default_model_is_refused(tmp_path: Path) -> None:
    proc = agentloop("models", "default", "opnai:gpt-4o", AGENTLOOP_HOME=str(tmp_path))
    assert "unknown model provider 'opnai'" in one_error_line(proc, 2)
    assert not (tmp_path / "config.json").exists()
    proc = agentloop("models", "defualt", AGENTLOOP_HOME=str(tmp_path))
    assert "agentloop models default [MODEL]" in one_error_line(proc, 2)


# -- the offline notice: with -v, or once per terminal session --------------------------------

NOTICE = "no model configured"


def _run_on_a_terminal(home: Path, *, new_session: bool) -> str:
    """``agentloop run`` with stderr on a pseudo-terminal; what it wrote there."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "agentloop", "run", "-T", "calculate", "What is 2+3?"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
            env=cli_env(AGENTLOOP_HOME=str(home), **PLUGINS), timeout=60,
            start_new_session=new_session,
        )  # fmt: skip
        assert proc.returncode == 0
    finally:
        os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every writer has closed the terminal
            break
        if not data:
            break
        out += data
    os.close(master)
    return out.decode("utf-8", "replace")


def test_the_offline_notice_is_shown_once_per_terminal_session(tmp_path: Path) -> None:
    assert NOTICE in _run_on_a_terminal(tmp_path, new_session=False)
    assert NOTICE not in _run_on_a_terminal(tmp_path, new_session=False)
    assert NOTICE in _run_on_a_terminal(tmp_path, new_session=True)  # another session


def test_the_offline_notice_is_not_shown_in_a_pipe_unless_verbose(tmp_path: Path) -> None:
    quiet = agentloop("run", CALC, "What is 2+3?", cwd=tmp_path, AGENTLOOP_HOME=str(tmp_path))
    assert quiet.returncode == 0 and NOTICE not in quiet.stderr
    loud = agentloop("run", CALC, "What is 2+3?", "-v", cwd=tmp_path, AGENTLOOP_HOME=str(tmp_path))
    assert loud.returncode == 0 and loud.stderr.count(NOTICE) == 1


# -- failing loudly when asked explicitly ------------------------------------------------------


def test_an_mcp_server_named_on_the_command_line_that_cannot_start_fails(tmp_path: Path) -> None:
    pytest.importorskip("agentloop_mcp")
    proc = agentloop("run", "--mcp", "no-such-mcp-server-xyz", "-T", "calculate", "hi",
                     cwd=tmp_path)  # fmt: skip
    line = one_error_line(proc, 1)
    assert "no-such-mcp-server-xyz" in line and "could not be started" in line
    assert "uninstall the plugin" not in line  # the server's own fix, not the plugin hint
    assert proc.stdout == ""


DANGER = '''
from agentloop import tool


@tool(requires_approval=True)
def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: The file to delete.
    """
    return f"deleted {path}"
'''


def test_a_denial_on_a_non_terminal_says_why_and_approve_all_allows(tmp_path: Path) -> None:
    (tmp_path / "danger.py").write_text(DANGER)
    denied = agentloop("run", "danger.py", "delete the file notes.txt", cwd=tmp_path)
    assert denied.returncode == 0, denied.stderr
    assert (
        "agentloop: delete_file denied: stdin is not a terminal; pass --approve-all or use an "
        "approver"
    ) in denied.stderr.splitlines()
    allowed = agentloop("run", "danger.py", "delete the file notes.txt", "--approve-all",
                        cwd=tmp_path)  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr
    assert "deleted notes.txt" in allowed.stdout and "denied" not in allowed.stderr


# -- bad input from issue 19 -------------------------------------------------------------------


def test_an_empty_cid_is_a_usage_error(tmp_path: Path) -> None:
    line = one_error_line(agentloop("run", "--cid", "", "hi", cwd=tmp_path), 2)
    assert "--cid needs a conversation id" in line


def test_logs_refuses_a_huge_count_and_a_huge_id(tmp_path: Path) -> None:
    line = one_error_line(agentloop("logs", "-n", str(10**22), cwd=tmp_path), 2)
    assert "-n/--count" in line and "1000000000" in line
    line = one_error_line(agentloop("logs", "show", "a" * 100_000, cwd=tmp_path), 2)
    assert "100000 characters" in line and len(line) < 300


@pytest.mark.parametrize("value", ["1e-300", "0", "inf", "nan", "-3"])
def test_batch_refuses_an_absurd_rate_up_front(tmp_path: Path, value: str) -> None:
    (tmp_path / "in.jsonl").write_text('"hi"\n')
    proc = agentloop("batch", CALC, "in.jsonl", "-o", "out.jsonl", "--rpm", value, cwd=tmp_path)
    assert "--rpm" in one_error_line(proc, 2)
    assert not (tmp_path / "out.jsonl").exists()


def test_batch_output_that_is_a_folder_or_has_no_folder_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('"hi"\n')
    (tmp_path / "outdir").mkdir()
    proc = agentloop("batch", CALC, "in.jsonl", "-o", "outdir", cwd=tmp_path)
    assert "is a folder" in one_error_line(proc, 2)
    proc = agentloop("batch", CALC, "in.jsonl", "-o", "missing/out.jsonl", cwd=tmp_path)
    assert "does not exist" in one_error_line(proc, 2)


def test_a_batch_prompt_that_is_not_a_string_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('"What is 2+3?"\n{"prompt": 5}\n')
    proc = agentloop("batch", CALC, "in.jsonl", "-o", "out.jsonl", "--no-progress", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "line 2" in line]
    assert lines == [
        "in.jsonl line 2: 'prompt' must be a string (or a message object, or a list of "
        "messages), got int 5 (skipped)"
    ]
