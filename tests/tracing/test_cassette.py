"""Record real HTTP traffic from a local server, replay it with no network, catch what changed."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from pathlib import Path

import pytest
from cli_support import CALC, agentloop
from fakeserver import FakeServer, chunk, completion, json_reply, sse_reply, tool_call_chunk
from loop_support import add

from agentloop import Agent
from agentloop.offline.model import OfflineModel
from agentloop.server.app import make_server
from agentloop.testing import replay
from agentloop.tracing.cassette import CassetteError, ReplayMismatch, read_cassette
from agentloop.tracing.tape import record

KEY = "sk-test-secret-key-4242"
USAGE = {"prompt_tokens": 11, "completion_tokens": 4, "total_tokens": 15}


def _parallel_stream() -> list:
    return [
        sse_reply(
            [
                chunk(role="assistant"),
                tool_call_chunk("c1", "add", '{"a": 2, '),
                chunk(tool_calls=[{"index": 0, "function": {"arguments": '"b": 3}'}}]),
                tool_call_chunk("c2", "add", '{"a": 10, "b": 20}', index=1),
                chunk(finish="tool_calls"),
            ]
        ),
        sse_reply(
            [chunk(content="5 and "), chunk(content="30"), chunk(finish="stop", usage=USAGE)]
        ),
    ]


def _parallel_json() -> list:
    calls = [
        {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}},
        {"id": "c2", "type": "function", "function": {"name": "add", "arguments": '{"a": 1, "b": 1}'}},
    ]  # fmt: skip
    return [
        json_reply(completion(None, tool_calls=calls, finish="tool_calls")),
        json_reply(completion("5 and 2", usage=USAGE)),
    ]


def _agent(model: object, **kw: object) -> Agent:
    return Agent(model, tools=[add], load_plugins=False, **kw)


def _record(tmp_path: Path, replies: list, *, stream: bool) -> tuple[Path, object]:
    cassette = tmp_path / "run.cassette.jsonl"
    # the server echoes the key in a header the cassette stores (x-request-id): the key
    # reaches the recorder, so "KEY not in the file" below is the redaction at work
    replies[0].headers["x-request-id"] = f"req-for-{KEY}"
    with FakeServer() as server:
        server.script(*replies)
        agent = _agent("local:fake-model", base_url=server.base_url, api_key=KEY)
        agent.stream_mode = stream
        with record(cassette, agent):
            result = agent.run("add 2 and 3, and 10 and 20")
    return cassette, result


@pytest.mark.parametrize("stream", [True, False], ids=["streaming", "not-streaming"])
def test_a_recorded_run_replays_offline_with_the_same_output(tmp_path: Path, stream: bool) -> None:
    replies = _parallel_stream() if stream else _parallel_json()
    cassette, live = _record(tmp_path, replies, stream=stream)
    header, exchanges = read_cassette(cassette)
    assert header["model"] == "local:fake-model" and len(exchanges) == 2
    first = exchanges[0]
    assert first["request"]["json"]["messages"][0]["content"] == "add 2 and 3, and 10 and 20"
    assert first["response"]["status"] == 200
    if stream:  # the raw bytes, SSE framing included
        assert first["response"]["body"].startswith("data: {")
        assert first["response"]["body"].rstrip().endswith("data: [DONE]")
        assert first["request"]["json"]["stream"] is True
    text = cassette.read_text()
    assert KEY not in text and "Bearer" not in text  # no secret, no credential header
    assert first["response"]["headers"]["x-request-id"] == "req-for-[REDACTED]"

    calls: list[tuple[int, int]] = []

    def spy_add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: The first number.
            b: The second number.
        """
        calls.append((a, b))
        return a + b

    from agentloop import tool

    with replay(cassette) as tape:  # no server is running now
        agent = Agent(tape.model, tools=[tool(spy_add, name="add")], load_plugins=False)
        agent.stream_mode = stream
        result = agent.run("add 2 and 3, and 10 and 20")
    assert result.output == live.output  # type: ignore[attr-defined]
    assert sorted(calls) == sorted([(2, 3), (10, 20)] if stream else [(2, 3), (1, 1)])  # tools ran
    assert [s.kind for s in result.steps] == ["model", "tool", "tool", "model"]
    assert result.usage.prompt_tokens == 11


def test_a_request_that_differs_fails_with_a_diff(tmp_path: Path) -> None:
    cassette, _ = _record(tmp_path, _parallel_stream(), stream=True)
    with pytest.raises(ReplayMismatch) as info, replay(cassette) as tape:
        _agent(tape.model).run("add 2 and 4")
    assert (
        'body.messages[0].content: recorded "add 2 and 3, and 10 and 20", now "add 2 and 4"'
        in str(info.value)
    )
    assert "--replay-mode lenient" in str(info.value)


def test_a_hand_edited_cassette(tmp_path: Path) -> None:
    cassette, _ = _record(tmp_path, _parallel_stream(), stream=True)
    lines = cassette.read_text().splitlines()
    second = json.loads(lines[2])
    # the user edits the recorded answer: replay serves the edit
    second["response"]["body"] = second["response"]["body"].replace("30", "thirty")
    # and edits the recorded request's temperature: strict replay notices
    first = json.loads(lines[1])
    first["request"]["json"]["temperature"] = 0.5
    cassette.write_text("\n".join([lines[0], json.dumps(first), json.dumps(second)]) + "\n")

    with pytest.raises(ReplayMismatch) as info, replay(cassette) as tape:
        _agent(tape.model, stream=True).run("add 2 and 3, and 10 and 20")
    assert info.value.diff == ("body.temperature: recorded 0.5, now absent",)

    with replay(cassette, mode="lenient") as tape:  # by position: the edited answer comes back
        result = _agent(tape.model, stream=True).run("something else entirely")
    assert result.output == "5 and thirty"


def test_strict_replay_fails_when_the_run_sends_fewer_requests(tmp_path: Path) -> None:
    cassette, _ = _record(tmp_path, _parallel_stream(), stream=True)
    lines = cassette.read_text().splitlines()
    cassette.write_text("\n".join([*lines, lines[2].replace('"seq": 1', '"seq": 2')]) + "\n")
    with pytest.raises(ReplayMismatch, match="sent 2 request"), replay(cassette) as tape:
        _agent(tape.model, stream=True).run("add 2 and 3, and 10 and 20")


def test_replay_goes_through_the_real_client_retries(tmp_path: Path) -> None:
    cassette = tmp_path / "retry.jsonl"
    with FakeServer() as server:
        server.script(
            json_reply({"error": {"message": "busy"}}, status=429, headers={"Retry-After": "0"}),
            json_reply(completion("fine")),
        )
        agent = _agent("local:fake-model", base_url=server.base_url, api_key=KEY)
        with record(cassette, agent):
            assert agent.run("hi").output == "fine"
    statuses = [e["response"]["status"] for e in read_cassette(cassette)[1]]
    assert statuses == [429, 200]
    with replay(cassette) as tape:
        assert _agent(tape.model).run("hi").output == "fine"
        assert tape.transport.used == 2  # the 429 was served, and the client retried


def test_replay_attaches_to_an_existing_agent_and_detaches(tmp_path: Path) -> None:
    cassette, _ = _record(tmp_path, _parallel_stream(), stream=True)
    agent = _agent("local:fake-model", base_url="http://127.0.0.1:9/v1", api_key="k", stream=True)
    real = agent.model.client.transport  # type: ignore[union-attr]
    with replay(cassette, agent):
        assert agent.run("add 2 and 3, and 10 and 20").output == "5 and 30"
    assert agent.model.client.transport is real  # type: ignore[union-attr]


def test_not_a_cassette(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text('{"v": 1}\n')
    with pytest.raises(CassetteError, match="not an agentloop cassette"):
        replay(bad)
    with pytest.raises(CassetteError, match="cannot read"):
        replay(tmp_path / "missing.jsonl")


def test_cli_record_then_replay_with_no_server(tmp_path: Path) -> None:
    prompt = "What is 12 * (3 + 4)?"
    cassette = tmp_path / "run.cassette.jsonl"
    server = make_server(OfflineModel(), port=0)  # `agentloop serve`, in-process
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    try:
        live = agentloop(
            "run", CALC, prompt, "--model", "local:offline", "--base-url",
            f"http://{host}:{port}/v1", "--record", str(cassette), cwd=tmp_path,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()  # from here on nothing listens: replay has no network
    assert live.returncode == 0, live.stderr
    assert live.stdout == "The result of calculate is 84.\n"
    replayed = agentloop("run", CALC, prompt, "--replay", str(cassette), cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == live.stdout
    assert "→ calculate(expression='12 * (3 + 4)') = 84" in replayed.stderr
    assert "offline model" not in replayed.stderr
    changed = agentloop("run", CALC, "What is 1 + 1?", "--replay", str(cassette), cwd=tmp_path)
    assert changed.returncode == 1
    assert "differs from the one recorded" in changed.stderr
    assert "Traceback" not in changed.stderr
    lenient = agentloop(
        "run", CALC, "What is 1 + 1?", "--replay", str(cassette), "--replay-mode", "lenient",
        cwd=tmp_path,
    )  # fmt: skip
    assert lenient.returncode == 0, lenient.stderr
    assert lenient.stdout == live.stdout


def test_a_failed_connection_is_recorded_and_replayed_as_that_failure(tmp_path: Path) -> None:
    from agentloop.client.chat import ChatClient
    from agentloop.errors import APIConnectionError

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cassette = tmp_path / "refused.jsonl"
    client = ChatClient(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=1)
    messages = [{"role": "user", "content": "hi"}]
    with record(cassette, client), pytest.raises(APIConnectionError):
        client.create(model="m", messages=messages)
    exchanges = read_cassette(cassette)[1]
    assert [e["error"]["type"] for e in exchanges] == ["ConnectionError", "ConnectionError"]
    offline = ChatClient(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=1)
    with replay(cassette, offline) as tape, pytest.raises(APIConnectionError):
        offline.create(model="m", messages=messages)
    assert tape.transport.used == 2  # the first failure was retried, as it was live


@pytest.mark.parametrize("header", ["Authorization", "api-key", "x-api-key", "x-goog-api-key"])
def test_the_credential_sent_is_the_cassettes_secret(tmp_path: Path, header: str) -> None:
    """Whatever credential a request carries is kept out of the file, shape or no shape.

    The key here has no credential shape (no pattern catches it), is in no environment variable
    and was never given to a ChatClient: only the cassette's own rule, "the credential header
    actually sent, after its scheme", can know it is a secret. The server echoes it everywhere
    the cassette stores something: the request body, a response header and the response body.
    """
    import requests

    from agentloop.tracing.cassette import RecordingTransport

    secret = "plain" + uuid.uuid4().hex  # unique: no other test can have made it known
    sent = f"Bearer {secret}" if header == "Authorization" else secret
    cassette = tmp_path / "echo.jsonl"
    with FakeServer() as server:
        server.script(
            json_reply({"echo": f"you sent {secret}"}, headers={"x-request-id": f"id-{secret}"})
        )
        transport = RecordingTransport(cassette)
        with requests.Session() as session:
            session.mount("http://", transport)
            reply = session.post(
                server.base_url + "/chat/completions",
                json={"messages": [{"role": "user", "content": f"my key is {secret}"}]},
                headers={header: sent},
                timeout=10,
            )
            assert reply.json() == {"echo": f"you sent {secret}"}  # the caller gets it as sent
        transport.close()
    text = cassette.read_text()
    assert secret not in text
    exchange = read_cassette(cassette)[1][0]
    assert exchange["request"]["json"]["messages"][0]["content"] == "my key is [REDACTED]"
    assert exchange["response"]["headers"]["x-request-id"] == "id-[REDACTED]"
    assert json.loads(exchange["response"]["body"]) == {"echo": "you sent [REDACTED]"}
    assert header.lower() not in {k.lower() for k in exchange["request"].get("headers", {})}
