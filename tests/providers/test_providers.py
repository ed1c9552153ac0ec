"""Model strings, provider defaults and keys, request quirks, the Gemini schema sanitizer."""

from __future__ import annotations

import json
import threading
from typing import Any

import jsonschema
import pytest

from agentloop import ConfigurationError
from agentloop.messages import ModelProfile
from agentloop.providers.registry import (
    PROVIDERS,
    ChatModel,
    find_provider,
    provider_tool_definitions,
    resolve_model,
    sanitize_schema_for_gemini,
)

SECRET = "sk-test-SECRET-0123456789abcdef"


class FakeClient:
    """Records what ChatModel sends."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create(self, **body: Any) -> Any:
        self.calls.append(body)
        return "response"

    def stream(self, **body: Any) -> Any:
        self.calls.append({**body, "_stream": True})
        return "stream"


def chat_model(provider: str, model_name: str = "m") -> tuple[ChatModel, FakeClient]:
    client = FakeClient()
    return ChatModel(client, model_name, PROVIDERS[provider]), client  # type: ignore[arg-type]


# -- model strings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, provider, name",
    [
        ("openai:gpt-4o-mini", "openai", "gpt-4o-mini"),
        ("gemini:gemini-2.5-flash", "gemini", "gemini-2.5-flash"),
        ("kkiai:gemini-2.5-pro", "kkiai", "gemini-2.5-pro"),
        ("ollama:llama3.2:3b", "ollama", "llama3.2:3b"),
        ("vllm:Qwen/Qwen3-8B", "vllm", "Qwen/Qwen3-8B"),
        ("local:offline", "local", "offline"),
        ("OpenAI: gpt-4o ", "openai", "gpt-4o"),
    ],
)
def test_find_provider_splits_at_the_first_colon(text: str, provider: str, name: str) -> None:
    spec, model_name = find_provider(text.strip())
    assert (spec.name, model_name) == (provider, name)


@pytest.mark.parametrize("text", ["nope:model", "gpt-4o", "openai:", "anthropic:claude"])
def test_bad_model_strings_are_configuration_errors_listing_providers(text: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve_model(text, env={})
    message = str(info.value)
    assert repr(text.partition(":")[0]) in message or text in message
    if "no model after" not in message:
        for name in ("offline", "openai:MODEL", "gemini:MODEL", "local:MODEL"):
            assert name in message


def test_offline_and_model_objects() -> None:
    import agentloop.offline.model  # noqa: F401 - a part of agentloop: missing means failing

    model = resolve_model("offline", env={})
    assert model.name == "offline"
    assert resolve_model(model) is model


def test_provider_defaults() -> None:
    assert PROVIDERS["openai"].base_url == "https://api.openai.com/v1"
    assert PROVIDERS["gemini"].base_url == (
        "https://generativelanguage.googleapis.com/v1beta/openai"
    )
    assert PROVIDERS["kkiai"].base_url == "https://www.kkiai.com/v1"
    assert PROVIDERS["ollama"].base_url == "http://localhost:11434/v1"
    assert PROVIDERS["vllm"].base_url == "http://localhost:8000/v1"
    assert PROVIDERS["local"].base_url is None
    assert PROVIDERS["gemini"].profile.supports_strict is False
    assert PROVIDERS["openai"].profile == ModelProfile(supports_file_parts=True)


@pytest.mark.parametrize(
    "model, variable",
    [
        ("openai:gpt-4o", "OPENAI_API_KEY"),
        ("gemini:gemini-2.5-flash", "GEMINI_API_KEY"),
        ("kkiai:gemini-2.5-pro", "KKIAI_API_KEY"),
    ],
)
def test_missing_key_names_the_variable(model: str, variable: str) -> None:
    with pytest.raises(ConfigurationError, match=variable) as info:
        resolve_model(model, env={})
    assert "AGENTLOOP_API_KEY" in str(info.value)


def test_local_needs_a_base_url() -> None:
    with pytest.raises(ConfigurationError, match="AGENTLOOP_BASE_URL"):
        resolve_model("local:foo", env={})


@pytest.fixture
def client_cls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace ChatClient by a recorder of its constructor arguments."""
    import agentloop.client.chat as client  # a part of agentloop: missing means failing

    made: list[dict[str, Any]] = []

    class Recorder:
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)

    monkeypatch.setattr(client, "ChatClient", Recorder)
    return made


def test_keys_and_base_urls_come_from_the_right_places(client_cls: list[dict[str, Any]]) -> None:
    env = {"OPENAI_API_KEY": "sk-openai", "AGENTLOOP_API_KEY": "sk-generic"}
    model = resolve_model("openai:gpt-4o", env=env)
    assert client_cls[-1] == {"base_url": "https://api.openai.com/v1", "api_key": "sk-openai"}
    assert model.name == "openai:gpt-4o"
    resolve_model("gemini:gemini-2.5-flash", env={"AGENTLOOP_API_KEY": "sk-generic"})
    assert client_cls[-1]["api_key"] == "sk-generic"
    resolve_model("ollama:llama3.2", env=env)
    assert client_cls[-1] == {"base_url": "http://localhost:11434/v1", "api_key": None}
    resolve_model("local:x", env={"AGENTLOOP_BASE_URL": "http://127.0.0.1:9/v1"})
    assert client_cls[-1] == {"base_url": "http://127.0.0.1:9/v1", "api_key": None}
    resolve_model("vllm:x", base_url="http://h/v1", api_key="k1", timeout=3.0, env={})
    assert client_cls[-1] == {"base_url": "http://h/v1", "api_key": "k1", "timeout": 3.0}
    # local: the base URL argument beats AGENTLOOP_BASE_URL; the key is AGENTLOOP_API_KEY's
    local_env = {"AGENTLOOP_BASE_URL": "http://env/v1", "AGENTLOOP_API_KEY": "sk-local"}
    resolve_model("local:x", base_url="http://arg/v1", env=local_env)
    assert client_cls[-1] == {"base_url": "http://arg/v1", "api_key": "sk-local"}
    resolve_model("local:x", env=local_env)
    assert client_cls[-1] == {"base_url": "http://env/v1", "api_key": "sk-local"}


def test_key_never_in_repr_or_errors(client_cls: list[dict[str, Any]]) -> None:
    model = resolve_model("openai:gpt-4o", api_key=SECRET, env={})
    assert SECRET not in repr(model)
    assert repr(model) == "ChatModel('openai:gpt-4o')"
    with pytest.raises(ConfigurationError) as info:
        resolve_model("bogus:x", api_key=SECRET, env={"AGENTLOOP_API_KEY": SECRET})
    assert SECRET not in str(info.value)


# -- request quirks --------------------------------------------------------------------------


def test_openai_request_keeps_parameters_and_fills_tool_names() -> None:
    model, client = chat_model("openai", "gpt-4o")
    messages = [
        {"role": "developer", "content": "be brief"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "3"},
    ]
    model.create(
        messages=messages, seed=1, parallel_tool_calls=False, temperature=None, max_tokens=9
    )
    sent = client.calls[0]
    assert sent["max_completion_tokens"] == 9 and "max_tokens" not in sent
    assert sent["model"] == "gpt-4o"
    assert sent["seed"] == 1
    assert sent["parallel_tool_calls"] is False  # as given: the loop decides when it is sent
    assert "temperature" not in sent
    assert sent["messages"][0]["role"] == "developer"
    assert sent["messages"][2]["name"] == "add"
    assert "name" not in messages[2]  # the caller's messages are not changed


GEMINI_DROPPED = {
    "frequency_penalty": 0.1,
    "presence_penalty": 0.1,
    "seed": 7,
    "logit_bias": {"1": 2},
    "user": "u",
    "n": 1,
    "parallel_tool_calls": True,
    "logprobs": True,
    "metadata": {"a": "b"},
    "store": True,
}


def test_gemini_request_is_allow_listed() -> None:
    model, client = chat_model("gemini", "gemini-2.5-flash")
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "strict": True,
                "parameters": {
                    "type": "object",
                    "properties": {"x": {"type": "integer", "title": "X"}},
                    "additionalProperties": False,
                    "required": ["x"],
                },
            },
        }
    ]
    stream = model.stream(
        messages=[{"role": "developer", "content": "hi"}],
        tools=tools,
        tool_choice="auto",
        temperature=0.2,
        max_completion_tokens=50,
        **GEMINI_DROPPED,
    )
    assert stream == "stream"
    sent = client.calls[0]
    assert set(sent) == {
        "model", "messages", "tools", "tool_choice", "temperature", "max_tokens", "_stream",
        "stream_options",
    }  # fmt: skip
    assert sent["stream_options"] == {"include_usage": True}
    assert sent["max_tokens"] == 50
    assert sent["messages"][0]["role"] == "system"
    fn = sent["tools"][0]["function"]
    assert "strict" not in fn
    assert fn["parameters"] == {
        "type": "object",
        "properties": {"x": {"type": "integer"}},
        "required": ["x"],
    }
    assert tools[0]["function"]["strict"] is True  # input untouched


def test_gemini_response_format_is_sanitized() -> None:
    model, _ = chat_model("gemini", "gemini-2.5-pro")
    fmt = {
        "type": "json_schema",
        "json_schema": {
            "name": "out",
            "strict": True,
            "schema": {"$schema": "x", "type": "object", "properties": {"a": {"const": 1}}},
        },
    }
    _, params = model.prepare([], {"response_format": fmt})
    assert params["response_format"] == {
        "type": "json_schema",
        "json_schema": {
            "name": "out",
            "schema": {"type": "object", "properties": {"a": {"enum": [1]}}},
        },
    }


def test_kkiai_applies_gemini_quirks_only_to_gemini_models() -> None:
    gem, _ = chat_model("kkiai", "gemini-2.5-pro")
    gpt, _ = chat_model("kkiai", "gpt-4o")
    assert gem.is_gemini and gem.profile.supports_strict is False
    assert not gpt.is_gemini and gpt.profile.supports_strict is True
    _, params = gem.prepare([], {"seed": 1, "temperature": 0})
    assert params == {"temperature": 0}
    _, params = gpt.prepare([], {"seed": 1})
    assert params == {"seed": 1}


def test_provider_tool_definitions() -> None:
    defs = [{"type": "function", "function": {"name": "f", "strict": True, "parameters": {
        "type": "object", "properties": {}, "additionalProperties": False}}}]  # fmt: skip
    assert provider_tool_definitions("openai:gpt-4o", defs) == defs
    assert provider_tool_definitions("offline", defs) == defs
    assert provider_tool_definitions("gemini:g", defs) == [
        {
            "type": "function",
            "function": {"name": "f", "parameters": {"type": "object", "properties": {}}},
        }  # fmt: skip
    ]


# -- the Gemini schema sanitizer ------------------------------------------------------------

ALLOWED_KEYWORDS = {
    "type", "description", "enum", "properties", "required", "items", "anyOf", "nullable",
    "minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format",
}  # fmt: skip


def keywords(schema: Any) -> set[str]:
    """Every keyword used anywhere in a schema (property names excluded)."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            found.add(key)
            if key == "properties":
                for sub in value.values():
                    found |= keywords(sub)
            elif key in ("items",):
                found |= keywords(value)
            elif key == "anyOf":
                for sub in value:
                    found |= keywords(sub)
    return found


PYDANTIC_LIKE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "x",
    "title": "Order",
    "type": "object",
    "$defs": {
        "Item": {
            "title": "Item",
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]+$", "examples": ["AB"]},
                "qty": {"type": "integer", "exclusiveMinimum": 0, "multipleOf": 1, "default": 1},
            },
            "required": ["sku"],
            "additionalProperties": False,
        },
        "Node": {
            "type": "object",
            "properties": {"child": {"$ref": "#/$defs/Node"}},
        },
    },
    "properties": {
        "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "uniqueItems": True},
        "note": {"type": ["string", "null"], "format": "email", "description": "Contact"},
        "when": {"type": "string", "format": "date-time"},
        "kind": {"oneOf": [{"const": "a"}, {"const": "b"}]},
        "meta": {"type": "object", "propertyNames": {"pattern": "x"},
                 "patternProperties": {"x": {}}, "additionalProperties": {"type": "string"}},
        "maybe": {"anyOf": [{"$ref": "#/$defs/Item"}, {"type": "null"}]},
        "both": {"allOf": [{"$ref": "#/$defs/Item"}, {"properties": {"extra": {"type": "boolean"}}}]},
        "tree": {"$ref": "#/$defs/Node"},
        "pair": {"type": "array", "prefixItems": [{"type": "string"}], "items": False},
    },
    "required": ["items", "ghost"],
}  # fmt: skip


def test_sanitizer_leaves_only_the_gemini_subset() -> None:
    before = json.dumps(PYDANTIC_LIKE, sort_keys=True)
    out = sanitize_schema_for_gemini(PYDANTIC_LIKE)
    assert json.dumps(PYDANTIC_LIKE, sort_keys=True) == before  # input not changed
    assert keywords(out) <= ALLOWED_KEYWORDS
    jsonschema.Draft202012Validator.check_schema(out)
    props = out["properties"]
    item = props["items"]["items"]
    assert item == {
        "type": "object",
        "properties": {
            "sku": {"type": "string", "pattern": "^[A-Z]+$"},
            "qty": {"type": "integer"},
        },
        "required": ["sku"],
    }
    assert props["note"] == {
        "type": "string", "nullable": True, "description": "Contact (format: email)",
    }  # fmt: skip
    assert props["when"] == {"type": "string", "format": "date-time"}
    assert props["kind"] == {"anyOf": [{"enum": ["a"]}, {"enum": ["b"]}]}
    assert props["meta"] == {"type": "object"}
    assert props["maybe"]["nullable"] is True and props["maybe"]["properties"]["sku"]
    assert set(props["both"]["properties"]) == {"sku", "qty", "extra"}
    assert props["both"]["required"] == ["sku"]
    assert props["tree"]["properties"]["child"] == {"type": "object"}  # recursion cut
    assert props["pair"] == {"type": "array", "items": {}}
    assert out["required"] == ["items"]


def test_sanitizer_is_idempotent_and_handles_multi_types() -> None:
    schema = {"type": ["integer", "string", "null"], "description": "id"}
    once = sanitize_schema_for_gemini(schema)
    assert once == {
        "anyOf": [{"type": "integer"}, {"type": "string"}], "nullable": True, "description": "id",
    }  # fmt: skip
    assert sanitize_schema_for_gemini(once) == once
    deep: dict[str, Any] = {"type": "object"}
    node = deep
    for _ in range(100):
        node["properties"] = {"n": {"type": "object"}}
        node = node["properties"]["n"]
    sanitize_schema_for_gemini(deep)  # no RecursionError


def test_chat_model_defaults_to_a_generic_provider_and_takes_a_provider_name() -> None:
    from agentloop import ChatClient, ChatModel, ConfigurationError

    client = ChatClient(base_url="http://127.0.0.1:9/v1")
    generic = ChatModel(client, "my-model")
    assert generic.name == "local:my-model" and not generic.is_gemini
    gemini = ChatModel(client, "gemini-2.5-flash", "gemini")
    assert gemini.is_gemini and gemini.profile.supports_strict is False
    with pytest.raises(ConfigurationError, match="unknown provider 'nope'"):
        ChatModel(client, "x", "nope")


def test_a_bare_chat_client_as_agent_model_says_how_to_fix_it() -> None:
    from agentloop import Agent, ChatClient, ConfigurationError

    client = ChatClient(base_url="http://127.0.0.1:9/v1")
    with pytest.raises(ConfigurationError, match=r"ChatModel\(client, 'MODEL'\)"):
        Agent(model=client, load_plugins=False)


def test_agent_runs_on_a_chat_model_over_a_real_local_server() -> None:
    from loop_support import add

    from agentloop import Agent, ChatClient, ChatModel, OfflineModel
    from agentloop.server.app import make_server

    server = make_server(OfflineModel(), host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        with ChatClient(base_url=f"http://{host}:{port}/v1") as client:
            agent = Agent(model=ChatModel(client, "offline"), tools=[add], load_plugins=False)
            result = agent.run("add 2 and 3")
    finally:
        server.shutdown()
    assert [m["role"] for m in result.messages] == ["user", "assistant", "tool", "assistant"]
    assert result.messages[2]["content"] == "5"
    assert "5" in result.output


GEMINI_NULL_CONTENT_ERROR = [
    {
        "error": {
            "code": 400,
            "message": "Expected string or list of content parts, got: null",
            "status": "INVALID_ARGUMENT",
        }
    }
]
TOOL_TURN = [
    {"role": "user", "content": "add 2 and 3"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": "{}"}}
        ],
    },
    {"role": "tool", "tool_call_id": "c1", "content": "5"},
]


def test_null_content_rejected_is_retried_once_with_empty_string_and_remembered(
    fake_server,
) -> None:
    from fakeserver import completion, json_reply

    from agentloop import ChatClient, ChatModel

    fake_server.script(
        json_reply(GEMINI_NULL_CONTENT_ERROR, status=400),
        json_reply(completion("five")),
        json_reply(completion("again")),
    )
    with ChatClient(base_url=fake_server.base_url, max_retries=0) as client:
        model = ChatModel(client, "gemini-2.5-flash", "kkiai")
        assert model.create(messages=TOOL_TURN).message.content == "five"
        assert model.create(messages=TOOL_TURN).message.content == "again"
    sent = [r.json["messages"][1]["content"] for r in fake_server.requests]
    assert sent == [None, "", ""]  # null first, then "" -- and "" from then on
    assert TOOL_TURN[1]["content"] is None  # the caller's transcript is not changed


def test_other_bad_requests_are_not_retried_with_empty_content(fake_server) -> None:
    from fakeserver import json_reply

    from agentloop import BadRequestError, ChatClient, ChatModel

    body = {"error": {"message": "temperature is out of range", "type": "invalid_request_error"}}
    fake_server.script(json_reply(body, status=400))
    client = ChatClient(base_url=fake_server.base_url, max_retries=0)
    with client, pytest.raises(BadRequestError, match="temperature"):
        ChatModel(client, "gemini-2.5-flash", "gemini").create(messages=TOOL_TURN)
    assert len(fake_server.requests) == 1
