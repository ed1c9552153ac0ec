"""Attachments: ``-a PATH|URL`` and ``Agent.run(attachments=[...])`` as content parts, checked first."""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from cli_support import agentloop
from fakeserver import FakeServer, completion, json_reply

from agentloop import Agent, Attachment, ChatClient, ChatModel, ConfigurationError, OfflineModel
from agentloop.attachments import MAX_BYTES, content_part, with_attachments
from agentloop.providers.specs import PROVIDERS

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
PDF = b"%PDF-1.4\n%fake\n"


def png(tmp_path: Path, name: str = "image.png") -> Path:
    path = tmp_path / name
    path.write_bytes(PNG)
    return path


def model_at(server: FakeServer, provider: str = "local", **flags: Any) -> ChatModel:
    spec = dataclasses.replace(PROVIDERS[provider], **flags) if flags else PROVIDERS[provider]
    return ChatModel(ChatClient(base_url=server.base_url, api_key="k", max_retries=0), "m", spec)


# -- at a recording server ---------------------------------------------------------------------


def test_the_cli_sends_an_image_url_part_and_plain_text_without(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    png(tmp_path)
    fake_server.script(json_reply(completion("a small image")), json_reply(completion("hi")))
    common = ["--model", "local:m", "--base-url", fake_server.base_url, "--no-stream"]
    with_image = agentloop("run", "What is in it?", "-a", "image.png", *common, cwd=tmp_path)
    assert with_image.returncode == 0, with_image.stderr
    assert with_image.stdout == "a small image\n"
    without = agentloop("run", *common, "What is in it?", cwd=tmp_path)
    assert without.returncode == 0, without.stderr

    sent = fake_server.requests[0].json["messages"][-1]
    assert sent == {
        "role": "user",
        "content": [
            {"type": "text", "text": "What is in it?"},
            {"type": "image_url",
             "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode()}},
        ],
    }  # fmt: skip
    plain = fake_server.requests[1].json["messages"][-1]
    assert plain == {"role": "user", "content": "What is in it?"}


def test_chat_sends_the_attachments_with_the_first_turn_only(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    png(tmp_path)
    fake_server.script(json_reply(completion("one")), json_reply(completion("two")))
    proc = agentloop(
        "chat", "-a", "image.png", "--model", "local:m", "--base-url", fake_server.base_url,
        "--no-stream", "--no-log", stdin="first\nsecond\n", cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    first = fake_server.requests[0].json["messages"][-1]["content"]
    assert [p["type"] for p in first] == ["text", "image_url"]
    second = fake_server.requests[1].json["messages"]
    assert second[-1] == {"role": "user", "content": "second"}
    assert second[-3]["content"] == first  # the history keeps the first turn as sent


def test_python_run_sends_file_and_url_parts(tmp_path: Path, fake_server: FakeServer) -> None:
    (tmp_path / "doc.pdf").write_bytes(PDF)
    fake_server.script(json_reply(completion("read")))
    agent = Agent(model_at(fake_server, "openai"), load_plugins=False)  # openai takes file parts
    result = agent.run(
        "Summarize",
        attachments=[
            Attachment(path=tmp_path / "doc.pdf"),
            Attachment(url="https://example.com/cat.jpg"),
        ],
    )
    assert result.output == "read"
    parts = fake_server.requests[0].json["messages"][-1]["content"]
    assert parts[1] == {
        "type": "file",
        "file": {
            "filename": "doc.pdf",
            "file_data": "data:application/pdf;base64," + base64.b64encode(PDF).decode(),
        },
    }
    assert parts[2] == {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}}


def test_a_string_only_provider_refuses_attachments_naming_model_and_flag(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    agent = Agent(model_at(fake_server, string_content_only=True), load_plugins=False)
    with pytest.raises(ConfigurationError) as caught:
        agent.run("What is in it?", attachments=[Attachment(path=png(tmp_path))])
    assert "'local:m'" in str(caught.value) and "string_content_only" in str(caught.value)
    assert fake_server.requests == []  # refused before anything was sent


def test_a_provider_without_file_parts_refuses_a_pdf(
    tmp_path: Path, fake_server: FakeServer
) -> None:
    (tmp_path / "doc.pdf").write_bytes(PDF)
    agent = Agent(model_at(fake_server, "local"), load_plugins=False)
    with pytest.raises(ConfigurationError, match="supports_file_parts"):
        agent.run("Summarize", attachments=[Attachment(path=tmp_path / "doc.pdf")])
    assert fake_server.requests == []


# -- checked before sending ------------------------------------------------------------------


def test_attachment_checks_are_one_line_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    big = tmp_path / "big.png"
    with big.open("wb") as handle:
        handle.write(PNG)
        handle.truncate(MAX_BYTES + 1)
    cases = {
        "missing.png": "attachment not found: ",
        "notes.txt": "is text/plain; attachments are png, jpeg, gif or webp images, or PDF",
        "fake.png": "is named like image/png but its content is not",
        "empty.png": "is empty",
        "big.png": "the most is 20 MB",
        ".": "is a folder",
    }
    for name, needle in cases.items():
        with pytest.raises(ConfigurationError) as caught:
            content_part(Attachment(path=tmp_path / name))
        message = str(caught.value)
        assert needle in message and "\n" not in message, (name, message)


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("https://example.com/report.pdf", "a PDF cannot be sent by URL"),
        ("https://example.com/notes.txt", "a URL attachment must be an image"),
        ("data:text/plain;base64,aGk=", "a data: URI must hold a png"),
        ("ftp://example.com/x.png", "must be http(s)://"),
    ],
)
def test_bad_urls_are_refused(url: str, needle: str) -> None:
    with pytest.raises(ConfigurationError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        content_part(Attachment(url=url))


def test_an_attachment_takes_exactly_one_source() -> None:
    with pytest.raises(ConfigurationError, match="exactly one of path= and url="):
        Attachment()
    with pytest.raises(ConfigurationError, match="exactly one"):
        Attachment(path="a.png", url="https://example.com/a.png")
    assert Attachment.from_text("https://x.org/a.png").url == "https://x.org/a.png"
    assert Attachment.from_text("a.png").path == "a.png"


def test_the_content_sniffed_wins_over_the_name(tmp_path: Path) -> None:
    (tmp_path / "photo.bin").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    part = content_part(Attachment(path=tmp_path / "photo.bin"))
    assert part["image_url"]["url"].startswith("data:image/jpeg;base64,")


def test_attachments_extend_a_message_prompt_and_need_a_user_message_last(tmp_path: Path) -> None:
    image = Attachment(path=png(tmp_path))
    model = OfflineModel()
    out = with_attachments([{"role": "user", "content": "look"}], [image], model)
    assert [p["type"] for p in out[-1]["content"]] == ["text", "image_url"]
    assert with_attachments("same", [], model) == "same"
    with pytest.raises(ConfigurationError, match="role 'assistant'"):
        with_attachments([{"role": "assistant", "content": "x"}], [image], model)


def test_the_cli_reports_a_missing_attachment_in_one_line(tmp_path: Path) -> None:
    proc = agentloop("run", "hi", "-a", "nothere.png", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "agentloop: error: attachment not found: nothere.png (check the path; URLs start with "
        "https://)"
    ]


# -- the offline model and agentloop serve take list content ------------------------------


def test_the_offline_model_reads_the_text_of_list_content(tmp_path: Path) -> None:
    image = Attachment(path=png(tmp_path))
    result = Agent(load_plugins=False).run("hello there", attachments=[image])
    assert "hello there" in result.output
    # chat: the attachments go with the first turn; the second is plain text
    proc = agentloop("chat", "-a", "image.png", "--no-log", stdin="hello\nagain\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '"hello"' in proc.stdout and '"again"' in proc.stdout


def test_serve_answers_a_request_with_content_parts() -> None:
    from agentloop.server.app import make_server

    server = make_server(OfflineModel(), port=0)
    host, port = server.server_address[:2]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        body = {
            "model": "offline",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
            ]}],
        }  # fmt: skip
        reply = requests.post(f"http://{host}:{port}/v1/chat/completions", json=body, timeout=10)
        assert reply.status_code == 200, reply.text
        assert "hi" in json.dumps(reply.json()["choices"][0]["message"]["content"])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
