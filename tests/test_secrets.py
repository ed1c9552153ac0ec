"""The one redaction rule (agentloop.secrets): which variables are secrets, what is hidden, when."""

from __future__ import annotations

import uuid

import pytest

from agentloop.secrets import MASK, Redactor, env_secrets, redact, redact_value, remember


def _fresh() -> str:
    """A secret-looking value no pattern matches (only the exact rule can hide it)."""
    return "plain" + uuid.uuid4().hex[:12]


@pytest.mark.parametrize(
    "name", ["GITHUB_TOKEN", "HF_TOKEN", "MY_SERVICE_TOKEN", "github_token", "OPENAI_API_KEY"]
)
def test_token_and_key_variables_are_secrets(name: str) -> None:
    value = _fresh()
    assert env_secrets({name: value, "HOME": "/home/someone"}) == (value,)


def test_other_variables_are_not_secrets() -> None:
    assert env_secrets({"TOKENIZER": _fresh(), "PATH": "/usr/bin", "TOKEN_COUNT": "1234"}) == ()


def test_a_token_variable_of_the_process_is_redacted_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = _fresh()
    monkeypatch.setenv("AGENTLOOP_TEST_TOKEN", value)
    assert redact(f"echo {value}!") == f"echo {MASK}!"
    assert redact_value({"k": [value], value: 1}) == {"k": [MASK], MASK: 1}


def test_a_variable_set_after_a_redaction_is_still_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The environment's secrets are cached between redactions, never kept stale."""
    value = _fresh()
    redactor = Redactor()
    assert redactor.text(f"a {value}") == f"a {value}"  # not a secret yet (and now cached)
    monkeypatch.setenv("LATE_SERVICE_TOKEN", value)
    assert redactor.text(f"a {value}") == f"a {MASK}"
    monkeypatch.setenv("LATE_SERVICE_TOKEN", _fresh())  # changed: the old value is no secret
    assert redactor.text(f"a {value}") == f"a {value}"


def test_a_secret_remembered_after_a_redaction_is_redacted_in_the_same_text() -> None:
    """Short texts are cached per set of secrets: a new secret is never answered from the cache."""
    value = _fresh()
    text = f"id {value}"
    assert Redactor().text(text) == text
    remember(value)
    assert Redactor().text(text) == f"id {MASK}"
    assert Redactor().value({"id": text}) == {"id": f"id {MASK}"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc123def456", f"Authorization: Bearer {MASK}"),
        ("key sk-" + "a1" * 10 + " end", f"key {MASK} end"),
        ("https://user:hunter2pw@example.com/v1", f"https://user:{MASK}@example.com/v1"),
        ("GET /v1?key=abcd1234&x=1", f"GET /v1?key={MASK}&x=1"),
        ("AKIA" + "A1B2C3D4E5F6G7H8", MASK),
        ("tok ghp_" + "x" * 20, f"tok {MASK}"),
    ],
)
def test_credential_shapes_are_redacted_short_and_long(text: str, expected: str) -> None:
    assert redact(text) == expected
    padding = " filler" * 40  # past the short-text cache: the uncached path
    assert redact(text + padding) == expected + padding


def test_values_keep_their_shape() -> None:
    value = _fresh()
    data = {"n": 1, "f": 1.5, "b": True, "none": None, "t": (value, 2), "nested": {"x": [value]}}
    assert Redactor([value]).value(data) == {
        "n": 1,
        "f": 1.5,
        "b": True,
        "none": None,
        "t": [MASK, 2],
        "nested": {"x": [MASK]},
    }


def test_bytes_keep_the_kept_group() -> None:
    assert Redactor().bytes(b"Bearer abc123def456") == b"Bearer " + MASK.encode()
