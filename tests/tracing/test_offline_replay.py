"""A run of the offline model records to a cassette and replays from it, on a fresh clone.

The offline model is recorded through its HTTP adapter (agentloop/offline/transport.py): the
cassette holds real chat-completions exchanges, and replays on a ``local:offline`` model with
no network, through the real client, SSE reader and loop.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from agentloop_calculator import calculate
from cli_support import agentloop

from agentloop import Agent
from agentloop.errors import ReplayMismatch
from agentloop.offline.model import OfflineModel
from agentloop.testing import replay
from agentloop.tracing.cassette import read_cassette
from agentloop.tracing.tape import record

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "calculator.py")


@pytest.mark.parametrize("stream", [False, True])
def test_an_offline_run_records_and_replays(tmp_path: Path, stream: bool) -> None:
    cassette = tmp_path / "run.cassette.jsonl"
    agent = Agent(model="offline", tools=[calculate], load_plugins=False, stream=stream)
    offline = agent.model
    with record(cassette, agent):
        recorded = agent.run("What is 2**10?")
    assert agent.model is offline  # the HTTP stand-in is given back
    assert recorded.output == "The result of calculate is 1024."
    header, exchanges = read_cassette(cassette)
    assert (header["model"], header["base_url"]) == ("local:offline", "http://offline.invalid/v1")
    assert len(exchanges) == 2
    assert [e["response"]["status"] for e in exchanges] == [200, 200]
    assert exchanges[0]["request"]["json"]["messages"][-1]["content"] == "What is 2**10?"
    with replay(cassette) as tape:
        again = Agent(tape.model, tools=[calculate], load_plugins=False, stream=stream)
        replayed = again.run("What is 2**10?")
    assert replayed.output == recorded.output
    assert replayed.messages == recorded.messages


def test_a_replay_of_an_offline_run_catches_a_changed_prompt(tmp_path: Path) -> None:
    cassette = tmp_path / "run.cassette.jsonl"
    agent = Agent(model="offline", tools=[calculate], load_plugins=False)
    with record(cassette, agent):
        agent.run("What is 2**10?")
    with pytest.raises(ReplayMismatch, match="differs") as caught, replay(cassette) as tape:
        Agent(tape.model, tools=[calculate], load_plugins=False).run("What is 3**10?")
    assert any("What is 3**10?" in line for line in caught.value.diff)


def test_the_offline_adapter_answers_bad_requests_as_a_server_would(tmp_path: Path) -> None:
    import requests

    session = requests.Session()
    session.mount("http://", OfflineModel().http_adapter())
    bad = session.post("http://offline.invalid/v1/chat/completions", json={"messages": []})
    assert bad.status_code == 400
    assert bad.json()["error"]["message"]
    missing = session.get("http://offline.invalid/v1/models")
    assert missing.status_code == 404
    streamed = session.post(
        "http://offline.invalid/v1/chat/completions",
        json={"model": "offline", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    )
    events = [line for line in streamed.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]"
    assert json.loads(events[0][6:])["object"] == "chat.completion.chunk"


def test_recording_a_bare_offline_model_names_the_recipe(tmp_path: Path) -> None:
    from agentloop.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match=r"record the agent: `with record\(path, agent\)"):
        record(tmp_path / "x.jsonl", OfflineModel())


def test_the_readme_record_and_replay_lines_work(tmp_path: Path) -> None:
    """README.md: `agentloop run examples/calculator.py "What is 2**10?" --record ...` then
    ``--replay``, on the example's default (offline) model."""
    # the example asks for the installed calculator plugin's tool, as on a user's machine
    home = {"HOME": str(tmp_path), "AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD": "0"}
    recorded = agentloop(
        "run", EXAMPLE, "What is 2**10?", "--record", "run.cassette.jsonl", cwd=tmp_path, **home
    )
    assert recorded.returncode == 0, recorded.stderr
    replayed = agentloop(
        "run", EXAMPLE, "What is 2**10?", "--replay", "run.cassette.jsonl", cwd=tmp_path, **home
    )
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == recorded.stdout
    assert "The result of calculate is 1024." in replayed.stdout
