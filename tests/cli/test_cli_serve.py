"""``agentloop serve``: the same agent gives the same transcript in-process and over HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cli_support import CALC, agentloop, cli_env

from agentloop import Agent

PROMPTS = ["What is 12 * (3 + 4)?", "add 2 and 3", "hello there"]
KEY = "sk-test-serve-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(*extra: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentloop", "serve", "--model", "offline", "--port", str(port),
         *extra],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env=cli_env(),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"agentloop serve did not start: {proc.stderr and proc.stderr.read()}")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    finally:
        proc.kill()
    return proc.stderr.read() if proc.stderr else ""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    proc, url = start_server()
    yield url
    stop(proc)


def load_calc_agent(model: str, **kwargs: str) -> Agent:
    from agentloop.cli.target import load_target

    agent = load_target(CALC)
    return Agent(
        model, tools=agent.tools, instructions=agent.instructions, load_plugins=False, **kwargs
    )


@pytest.mark.parametrize("prompt", PROMPTS)
@pytest.mark.parametrize("streamed", [False, True])
def test_same_transcript_in_process_and_over_http(server: str, prompt: str, streamed: bool) -> None:
    local = load_calc_agent("offline")
    remote = load_calc_agent("local:offline", base_url=server)
    if streamed:
        results = [list(a.stream(prompt))[-1].result for a in (local, remote)]  # type: ignore[union-attr]
    else:
        results = [a.run(prompt) for a in (local, remote)]
    assert results[1].messages == results[0].messages
    assert results[1].output == results[0].output


def test_cli_run_over_http_matches_offline(server: str, tmp_path: Path) -> None:
    def run(*extra: str) -> dict:
        proc = agentloop("run", CALC, PROMPTS[0], "--json", *extra, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    offline = run()
    remote = run("--model", "local:offline", "--base-url", server)
    assert remote["messages"] == offline["messages"]
    assert remote["output"] == "The result of calculate is 84."


def test_serve_requires_the_api_key_when_given(tmp_path: Path) -> None:
    proc, url = start_server("--api-key", KEY)
    try:
        unauthorized = requests.get(f"{url}/models", timeout=5)
        assert unauthorized.status_code == 401
        error = unauthorized.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["code"] == "invalid_api_key"
        bad = requests.post(
            f"{url}/chat/completions",
            json={"model": "offline", "messages": []},
            headers={"Authorization": f"Bearer {KEY}"},
            timeout=5,
        )
        assert bad.status_code == 400
        error = bad.json()["error"]
        assert (error["type"], error["param"]) == ("invalid_request_error", "messages")
        run_over_http = ("run", CALC, PROMPTS[0], "--model", "local:offline", "--base-url", url)
        ok = agentloop(*run_over_http, cwd=tmp_path, AGENTLOOP_API_KEY=KEY)
        assert ok.returncode == 0, ok.stderr
        assert ok.stdout == "The result of calculate is 84.\n"
        denied = agentloop(*run_over_http, cwd=tmp_path)
        assert denied.returncode == 1
        assert "Traceback" not in denied.stderr
        assert "agentloop: error:" in denied.stderr
    finally:
        err = stop(proc)
    assert KEY not in err
    # no --host given: bound to loopback only
    assert f"agentloop: serving 'offline' at {url} " in err
    assert "warning" not in err


def test_official_openai_client_against_agentloop_serve(server: str) -> None:
    """The `openai` package (a test dependency only) streams tool calls from `agentloop serve`."""
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=server, api_key="unused", max_retries=0, timeout=10)
    tools = [load_calc_agent("offline").tools[0].definition]
    question = [{"role": "user", "content": PROMPTS[0]}]
    chunks = list(
        client.chat.completions.create(
            model="offline", messages=question, tools=tools, stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    calls = [call for d in deltas for call in d.tool_calls or ()]
    assert calls[0].function.name == "calculate" and calls[0].id
    arguments = "".join(call.function.arguments or "" for call in calls)
    assert json.loads(arguments) == {"expression": "12 * (3 + 4)"}
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens > 0
    answered = [
        *question,
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": calls[0].id, "type": "function",
             "function": {"name": "calculate", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": calls[0].id, "content": "84"},
    ]  # fmt: skip
    final = client.chat.completions.create(model="offline", messages=answered, tools=tools)
    assert final.choices[0].message.content == "The result of calculate is 84."
    assert [m.id for m in client.models.list()] == ["offline"]
