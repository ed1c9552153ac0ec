"""The ``agentloop`` command, driven as a subprocess (``python -m agentloop``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from cli_support import CALC, FIXTURES, agentloop, cli_env

PROMPT = "What is 12 * (3 + 4)?"
SECRET = "sk-test-SECRET-0123456789abcdef"


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *needles: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("agentloop: error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0]


def start_slow_run(trace: Path, cwd: Path) -> subprocess.Popen[str]:
    """``agentloop run`` of the slow fixture agent (its model waits), tracing to ``trace``."""
    return subprocess.Popen(
        [sys.executable, "-m", "agentloop", "run", str(FIXTURES / "slow_agent.py"), "hi",
         "--trace", str(trace)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, env=cli_env(), cwd=cwd,
    )  # fmt: skip


def test_version() -> None:
    import agentloop as package

    proc = agentloop("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"agentloop {package.__version__}\n"


@pytest.mark.parametrize("flags", [[], ["--no-stream"]])
def test_run_prints_answer_and_tool_calls(tmp_path: Path, flags: list[str]) -> None:
    proc = agentloop("run", CALC, PROMPT, *flags, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The result of calculate is 84.\n"
    lines = proc.stderr.splitlines()
    assert "→ calculate(expression='12 * (3 + 4)') = 84" in lines
    # not a terminal and no -v: no offline notice (see test_cli_options.py for when it shows)
    assert not [line for line in lines if "no model configured" in line]
    assert "\r" not in proc.stderr  # no status line when stderr is not a terminal


def test_run_reads_the_prompt_from_stdin(tmp_path: Path) -> None:
    proc = agentloop("run", CALC, stdin=PROMPT + "\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The result of calculate is 84.\n"


def test_model_from_environment_is_not_announced(tmp_path: Path) -> None:
    proc = agentloop("run", CALC, PROMPT, cwd=tmp_path, AGENTLOOP_MODEL="offline")
    assert proc.returncode == 0
    assert "offline model" not in proc.stderr
    # nor from the argument, which beats the environment
    proc = agentloop(
        "run", CALC, PROMPT, "--model", "offline", cwd=tmp_path, AGENTLOOP_MODEL="openai:gpt-4o"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The result of calculate is 84.\n"
    assert "offline model" not in proc.stderr


def test_json_output_parses(tmp_path: Path) -> None:
    proc = agentloop("run", CALC, PROMPT, "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["output"] == "The result of calculate is 84."
    assert data["stop_reason"] == "stop"
    assert [m["role"] for m in data["messages"]] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert [s["kind"] for s in data["steps"]] == ["model", "tool", "model"]
    assert "→" not in proc.stderr


def test_verbose_adds_model_calls_and_usage(tmp_path: Path) -> None:
    proc = agentloop("run", CALC, PROMPT, "--verbose", "--no-stream", cwd=tmp_path)
    assert proc.returncode == 0
    assert "  model call 1:" in proc.stderr
    assert "completion tokens, stop: stop" in proc.stderr.splitlines()[-1]


def test_trace_writes_every_event_as_json_lines(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    proc = agentloop("run", CALC, PROMPT, "--trace", str(trace), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in trace.read_text().splitlines()]
    events = [r["type"] for r in records]  # the versioned trace format (docs/seeing-runs.md)
    assert events == ["run_started", "model_request", "model_response", "tool_call",
                      "model_request", "model_response", "run_finished"]  # fmt: skip
    assert {r["v"] for r in records} == {1}
    assert records[3]["name"] == "calculate" and records[3]["content"] == "84"
    assert records[-1]["output"] == "The result of calculate is 84."


def test_max_steps_and_tool_choice_flags(tmp_path: Path) -> None:
    proc = agentloop("run", CALC, PROMPT, "--max-steps", "1", cwd=tmp_path)
    assert_one_line_error(proc, 1, "max_steps=1", "--max-steps")
    proc = agentloop("run", CALC, PROMPT, "--tool-choice", "none", cwd=tmp_path)
    assert proc.returncode == 0
    assert "→" not in proc.stderr
    proc = agentloop("run", CALC, PROMPT, "--tool-choice", "nosuchtool", cwd=tmp_path)
    assert proc.returncode in (1, 2)
    assert "Traceback" not in proc.stderr


def test_tools_only_module_and_attribute_targets(tmp_path: Path) -> None:
    proc = agentloop("run", str(FIXTURES / "tools_only.py"), "shout 'hello'", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "HELLO" in proc.stdout
    proc = agentloop("run", f"{CALC}:agent", PROMPT, cwd=tmp_path)
    assert proc.returncode == 0
    proc = agentloop("run", f"{FIXTURES / 'tools_only.py'}:shout", "shout 'x'", cwd=tmp_path)
    assert proc.returncode == 0
    assert "X" in proc.stdout


def test_tools_validate_against_the_metaschema(tmp_path: Path) -> None:
    proc = agentloop("tools", str(FIXTURES / "tools_only.py"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    definitions = json.loads(proc.stdout)
    assert [d["function"]["name"] for d in definitions] == ["shout", "repeat"]
    for definition in definitions:
        assert definition["type"] == "function"
        schema = definition["function"]["parameters"]
        jsonschema.validators.validator_for(schema).check_schema(schema)
        jsonschema.Draft202012Validator.check_schema(schema)
    assert "tool 'repeat': parameter 'text' has no description" in proc.stderr
    assert "shout" not in proc.stderr


def test_tools_for_a_gemini_model_are_sanitized(tmp_path: Path) -> None:
    proc = agentloop("tools", CALC, "--model", "gemini:gemini-2.5-flash", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for definition in json.loads(proc.stdout):
        assert "strict" not in definition["function"]
        assert "additionalProperties" not in json.dumps(definition)


@pytest.mark.parametrize(
    "target, code, needle",
    [
        ("missing.py", 2, "no such file: missing.py"),
        ("no_such_module_xyz:agent", 2, "no module named 'no_such_module_xyz'"),
        (str(FIXTURES / "broken.py"), 1, "ZeroDivisionError: the target is broken on purpose"),
        (str(FIXTURES / "two_agents.py"), 2, "several agents (first, second)"),
        (f"{CALC}:nothing", 2, "has no attribute 'nothing'"),
        (str(FIXTURES / "needs_key.py"), 2, "OPENAI_API_KEY"),
        ("not a target", 2, "neither a .py file nor a module name"),
    ],
)
def test_bad_targets_give_one_clear_line(
    tmp_path: Path, target: str, code: int, needle: str
) -> None:
    assert_one_line_error(agentloop("run", target, "hi", cwd=tmp_path), code, needle)


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    proc = agentloop("run", str(FIXTURES / "broken.py"), "hi", "--debug", cwd=tmp_path)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr


@pytest.mark.parametrize(
    "model, needle",
    [
        ("openai:gpt-4o-mini", "set OPENAI_API_KEY or AGENTLOOP_API_KEY"),
        ("gemini:gemini-2.5-flash", "set GEMINI_API_KEY"),
        ("bogus:model", "unknown model provider 'bogus'"),
        ("local:x", "AGENTLOOP_BASE_URL"),
    ],
)
def test_configuration_errors_exit_2(tmp_path: Path, model: str, needle: str) -> None:
    proc = agentloop("run", CALC, PROMPT, "--model", model, cwd=tmp_path)
    assert_one_line_error(proc, 2, needle)


def test_config_file_is_read_from_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "agentloop.toml").write_text('model = "openai:gpt-4o"\n')
    proc = agentloop("run", CALC, PROMPT, cwd=tmp_path)
    assert_one_line_error(proc, 2, "OPENAI_API_KEY")
    proc = agentloop("run", CALC, PROMPT, cwd=tmp_path, AGENTLOOP_MODEL="offline")
    assert proc.returncode == 0
    # and the argument beats both
    proc = agentloop(
        "run", CALC, PROMPT, "--model", "offline", cwd=tmp_path, AGENTLOOP_MODEL="openai:gpt-4o"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The result of calculate is 84.\n"


def test_key_never_printed(tmp_path: Path) -> None:
    proc = agentloop(
        "run", CALC, PROMPT, "--model", "openai:gpt-4o", "--base-url", "http://127.0.0.1:9/v1",
        cwd=tmp_path, OPENAI_API_KEY=SECRET, AGENTLOOP_TIMEOUT="2", AGENTLOOP_MAX_RETRIES="0",
    )  # fmt: skip
    assert_one_line_error(proc, 1, "could not reach http://127.0.0.1:9/v1", "--base-url")
    assert SECRET not in proc.stdout + proc.stderr


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert agentloop(cwd=tmp_path).returncode == 2
    assert agentloop("run", cwd=tmp_path).returncode == 2
    assert agentloop("run", CALC, "--max-steps", "0", cwd=tmp_path).returncode == 2
    proc = agentloop("run", CALC, stdin="", cwd=tmp_path)
    assert_one_line_error(proc, 2, "prompt")


def test_approval_is_denied_without_a_terminal(tmp_path: Path) -> None:
    proc = agentloop("run", str(FIXTURES / "scripted_agent.py"), "go", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "The sum is 5.\n"
    lines = proc.stderr.splitlines()
    assert "→ add(a=2, b=3) = 5" in lines
    assert "→ delete_everything(path='/tmp/x') ! denied: approval required" in lines


def test_sigint_during_a_run_exits_130_and_flushes_the_trace(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    proc = start_slow_run(trace, cwd=tmp_path)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    deadline = time.monotonic() + 30
    while "slow model called" not in line and time.monotonic() < deadline:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=10)
    finally:
        proc.kill()
    rest = proc.stderr.read()
    assert code == 130, rest
    assert "agentloop: interrupted" in rest
    assert "Traceback" not in rest
    records = [json.loads(x) for x in trace.read_text().splitlines()]
    assert records[0]["type"] == "run_started"
    assert records[-1]["type"] == "run_finished"
    assert records[-1]["error"]["type"] == "KeyboardInterrupt"
    assert records[-2]["type"] == "model_request"  # interrupted while the model was called


def test_broken_pipe_is_quiet(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentloop", "run", CALC, PROMPT],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        env=cli_env(), cwd=tmp_path,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=30) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_chat_keeps_history(tmp_path: Path) -> None:
    trace = tmp_path / "chat.jsonl"
    proc = agentloop(
        "chat", CALC, "--trace", str(trace), stdin=f"{PROMPT}\n\nadd 2 and 3\n/exit\nnot read\n",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "The result of calculate is 84.",
        "The result of add is 5.0.",
    ]
    records = [json.loads(x) for x in trace.read_text().splitlines()]
    started = [r for r in records if r["type"] == "run_started"]
    assert [r["type"] for r in records].count("run_finished") == 2
    first, second = started
    assert second["messages"][:2] == first["messages"][:2]  # the second turn has the history
    assert len(second["messages"]) > len(first["messages"])


def test_plugins_lists_entry_points(tmp_path: Path) -> None:
    from importlib.metadata import entry_points

    installed = sorted({ep.name for ep in entry_points(group="agentloop")})
    proc = agentloop("plugins", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert sorted(entry["name"] for entry in report) == installed
    for entry in report:
        assert {"name", "value", "hooks", "tools"} <= set(entry)
    by_name = {entry["name"]: entry for entry in report}
    if "calculator" in by_name:  # the first-party plugin, installed by scripts/install.sh
        assert "agentloop_register_tools" in by_name["calculator"]["hooks"]
        assert by_name["calculator"]["tools"] == ["calculate"]
    text = agentloop("plugins", cwd=tmp_path)
    assert text.returncode == 0
    for entry in report:
        assert entry["name"] in text.stdout
    assert "AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD is set" in text.stderr


def _pty_session(args: list[str]) -> tuple[int, int]:
    pty = pytest.importorskip("pty")
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(sys.executable, [sys.executable, "-m", "agentloop", *args], cli_env())
    return pid, fd


def _read_until(fd: int, needle: str, seen: list[str], timeout: float = 20) -> None:
    import select

    deadline = time.monotonic() + timeout
    while needle not in "".join(seen):
        assert time.monotonic() < deadline, f"never saw {needle!r} in {''.join(seen)!r}"
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                seen.append(os.read(fd, 4096).decode("utf-8", "replace"))
            except OSError:
                break


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_chat_survives_ctrl_c_at_the_prompt_and_during_a_reply() -> None:
    pid, fd = _pty_session(["chat", str(FIXTURES / "slow_agent.py")])
    seen: list[str] = []
    status = None
    try:
        _read_until(fd, "you> ", seen)
        # readline prints the prompt before it waits; a signal in between is only seen
        # after the next key (a CPython race no human hits), so wait a little
        time.sleep(0.5)
        os.kill(pid, signal.SIGINT)  # at the prompt: a fresh prompt
        seen.clear()
        _read_until(fd, "you> ", seen)
        os.write(fd, b"hello\n")
        _read_until(fd, "waiting for model", seen)  # status line on a terminal
        os.kill(pid, signal.SIGINT)  # during the reply: back to the prompt
        _read_until(fd, "[interrupted]", seen)
        _read_until(fd, "you> ", seen)
        os.write(fd, b"/exit\n")
        _, status = os.waitpid(pid, 0)
    finally:
        if status is None:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path) -> None:
    trace = tmp_path / "trace.jsonl"
    proc = start_slow_run(trace, cwd=tmp_path)
    assert proc.stderr is not None
    while "slow model called" not in proc.stderr.readline():
        assert proc.poll() is None
    proc.terminate()
    try:
        code = proc.wait(timeout=10)
    finally:
        proc.kill()
    assert code == 130
    last = json.loads(trace.read_text().splitlines()[-1])
    assert (last["type"], last["error"]["type"]) == ("run_finished", "KeyboardInterrupt")
