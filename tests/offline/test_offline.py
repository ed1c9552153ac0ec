"""The offline model: tool choice, argument filling, answers, formats, streaming, validation."""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from offline_support import calls_of, fn_tool, user

import agentloop
from agentloop.deltas import FinishEvent, TextDelta, ToolCallDelta, UsageEvent
from agentloop.errors import BadRequestError
from agentloop.offline.model import OfflineModel, completion_chunks, count_tokens
from agentloop.protocols import Model

CALC = fn_tool(
    "calculate",
    "Evaluate an arithmetic expression.",
    {"expression": {"type": "string", "description": "The expression, e.g. 2 * (3 + 4)."}},
    ["expression"],
)
WEATHER = fn_tool(
    "get_weather",
    "Get the current weather for a city.",
    {
        "city": {"type": "string", "description": "City name."},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"},
    },
    ["city"],
)
SEARCH = fn_tool(
    "search_web",
    "Search the web for pages about a topic.",
    {"query": {"type": "string", "description": "What to search for."}},
    ["query"],
)
TOOLS = [CALC, WEATHER, SEARCH]


def answer_tools(messages, response, results: list[str]) -> list[dict[str, Any]]:
    """The conversation after running each call of ``response`` with the given results."""
    out = [*messages, response.message.to_dict()]
    for call, result in zip(response.tool_calls, results, strict=True):
        out.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": result})
    return out


@pytest.fixture
def model() -> OfflineModel:
    return OfflineModel()


# -- interface ---------------------------------------------------------------------------


def test_is_a_model_and_exported(model):
    assert isinstance(model, Model)
    assert model.name == "offline"
    assert agentloop.OfflineModel is OfflineModel
    assert "OfflineModel" in agentloop.__all__


def test_plain_reply_is_honest_and_deterministic(model):
    first = model.create(messages=user("Hello there"))
    second = model.create(messages=user("Hello there"))
    assert first == second
    assert first.finish_reason == "stop"
    assert "offline model" in first.message.content
    assert "Hello there" in first.message.content
    assert first.created == 0 and first.model == "offline"


def test_ids_depend_on_the_conversation(model):
    a = model.create(messages=user("What is 1+1?"), tools=TOOLS)
    b = model.create(messages=user("What is 2+2?"), tools=TOOLS)
    assert a.id != b.id
    assert a.tool_calls[0].id != b.tool_calls[0].id
    assert a.tool_calls[0].id.startswith("call_")


def test_ids_ignore_how_the_messages_are_spelled(model):
    plain = model.create(messages=user("What is 1+1?"), tools=TOOLS)
    parts = [{"role": "user", "content": [{"type": "text", "text": "What is 1+1?"}], "name": "x"}]
    assert model.create(messages=parts, tools=TOOLS).tool_calls == plain.tool_calls


# -- tool choice -------------------------------------------------------------------------


def test_calculator_round_trip(model):
    messages = user("What is 12 * (3 + 4)?")
    first = model.create(messages=messages, tools=TOOLS)
    assert first.finish_reason == "tool_calls"
    assert first.message.content is None
    assert calls_of(first) == [("calculate", {"expression": "12 * (3 + 4)"})]
    second = model.create(messages=answer_tools(messages, first, ["84"]), tools=TOOLS)
    assert second.finish_reason == "stop"
    assert second.tool_calls == ()
    assert second.message.content == "The result of calculate is 84."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("What's the weather in Paris?", [("get_weather", {"city": "Paris"})]),
        (
            "weather in New York in fahrenheit",
            [("get_weather", {"city": "New York", "unit": "fahrenheit"})],
        ),
        ("Search the web for python packaging", [("search_web", {"query": "python packaging"})]),
        ("search for 'pluggy hooks'", [("search_web", {"query": "pluggy hooks"})]),
        ("what is 2 plus 3", [("calculate", {"expression": "2 + 3"})]),
    ],
)
def test_picks_the_matching_tool_and_fills_arguments(model, text, expected):
    assert calls_of(model.create(messages=user(text), tools=TOOLS)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "what is 2+2 and 3*5",
            [("calculate", {"expression": "2+2"}), ("calculate", {"expression": "3*5"})],
        ),
        (
            "What's the weather in Paris and London?",
            [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "London"})],
        ),
        (
            "Weather in Oslo, then compute 3*7",
            [("get_weather", {"city": "Oslo"}), ("calculate", {"expression": "3*7"})],
        ),
    ],
)
def test_several_requests_give_several_calls(model, text, expected):
    response = model.create(messages=user(text), tools=TOOLS)
    assert calls_of(response) == expected
    assert len({c.id for c in response.tool_calls}) == len(expected)


def test_one_request_with_and_stays_one_call(model):
    add = fn_tool(
        "add",
        "Add two numbers.",
        {"a": {"type": "integer"}, "b": {"type": "integer"}},
        ["a", "b"],
    )
    response = model.create(messages=user("add 2 and 3"), tools=[add])
    assert calls_of(response) == [("add", {"a": 2, "b": 3})]


def test_parallel_tool_calls_false_makes_one_call(model):
    response = model.create(
        messages=user("what is 2+2 and 3*5"), tools=TOOLS, parallel_tool_calls=False
    )
    assert calls_of(response) == [("calculate", {"expression": "2+2"})]


def test_without_parallel_calls_the_plan_is_made_one_call_per_step(model):
    messages = user("what is 2+2 and 3*5")
    first = model.create(messages=messages, tools=TOOLS, parallel_tool_calls=False)
    messages = answer_tools(messages, first, ["4"])
    second = model.create(messages=messages, tools=TOOLS, parallel_tool_calls=False)
    assert calls_of(second) == [("calculate", {"expression": "3*5"})]
    messages = answer_tools(messages, second, ["15"])
    final = model.create(messages=messages, tools=TOOLS, parallel_tool_calls=False)
    assert (
        final.message.content == "Here are the results:\n- calculate(2+2): 4\n- calculate(3*5): 15"
    )


def test_results_of_several_calls_are_summarized(model):
    messages = user("what is 2+2 and 3*5")
    first = model.create(messages=messages, tools=TOOLS)
    final = model.create(messages=answer_tools(messages, first, ["4", "15"]), tools=TOOLS)
    assert (
        final.message.content == "Here are the results:\n- calculate(2+2): 4\n- calculate(3*5): 15"
    )


def test_no_tool_matches_gives_text(model):
    response = model.create(messages=user("Tell me a joke"), tools=TOOLS)
    assert response.tool_calls == ()
    assert "None of the available tools" in response.message.content


def test_tool_choice_none_gives_text(model):
    response = model.create(messages=user("What is 1+1?"), tools=TOOLS, tool_choice="none")
    assert response.tool_calls == () and response.finish_reason == "stop"


def test_tool_choice_required_always_calls(model):
    response = model.create(messages=user("Tell me a joke"), tools=TOOLS, tool_choice="required")
    assert len(response.tool_calls) == 1


def test_named_tool_choice_calls_that_tool(model):
    choice = {"type": "function", "function": {"name": "search_web"}}
    response = model.create(messages=user("What is 1+1?"), tools=TOOLS, tool_choice=choice)
    assert [c.name for c in response.tool_calls] == ["search_web"]


def test_a_tool_is_not_called_again_in_the_same_turn(model):
    messages = user("What is 1+1?")
    first = model.create(messages=messages, tools=TOOLS)
    second = model.create(messages=answer_tools(messages, first, ["2"]), tools=TOOLS)
    assert second.tool_calls == ()
    # a new user turn may call it again
    again = [*answer_tools(messages, first, ["2"]), second.message.to_dict(), *user("And 3*3?")]
    assert calls_of(model.create(messages=again, tools=TOOLS)) == [
        ("calculate", {"expression": "3*3"})
    ]


# -- arguments always validate -------------------------------------------------------------

SCHEMAS: list[tuple[str, dict[str, Any]]] = [
    ("empty", {"type": "object", "properties": {}}),
    (
        "scalars",
        {
            "type": "object",
            "properties": {
                "count": {"type": "integer", "minimum": 10, "maximum": 20},
                "ratio": {"type": "number", "exclusiveMinimum": 0},
                "flag": {"type": "boolean"},
                "label": {"type": "string", "minLength": 12, "maxLength": 15},
            },
            "required": ["count", "ratio", "flag", "label"],
            "additionalProperties": False,
        },
    ),
    (
        "formats",
        {
            "type": "object",
            "properties": {
                "day": {"type": "string", "format": "date"},
                "at": {"type": "string", "format": "date-time"},
                "id": {"type": "string", "format": "uuid"},
                "email": {"type": "string", "format": "email"},
            },
            "required": ["day", "at", "id", "email"],
        },
    ),
    (
        "refs_and_unions",
        {
            "type": "object",
            "$defs": {
                "Point": {
                    "type": "object",
                    "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
                    "required": ["x", "y"],
                    "additionalProperties": False,
                }
            },
            "properties": {
                "where": {"$ref": "#/$defs/Point"},
                "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                "either": {"oneOf": [{"type": "integer"}, {"type": "boolean"}]},
                "kind": {"enum": ["a", "b", "c"]},
                "fixed": {"const": "yes"},
            },
            "required": ["where", "maybe", "either", "kind", "fixed"],
            "additionalProperties": False,
        },
    ),
    (
        "arrays",
        {
            "type": "object",
            "properties": {
                "pair": {
                    "type": "array",
                    "prefixItems": [{"type": "string"}, {"type": "integer"}],
                    "items": False,
                },
                "numbers": {"type": "array", "items": {"type": "integer"}, "minItems": 2},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
                "nested": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"n": {"type": "integer"}},
                        "required": ["n"],
                    },
                    "minItems": 1,
                },
            },
            "required": ["pair", "numbers", "tags", "nested"],
        },
    ),
    (
        "strict_optional",
        {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": ["integer", "null"]},
                "unit": {"anyOf": [{"enum": ["c", "f"]}, {"type": "null"}]},
            },
            "required": ["city", "days", "unit"],
            "additionalProperties": False,
        },
    ),
    (
        "allof_and_defaults",
        {
            "type": "object",
            "allOf": [
                {"properties": {"a": {"type": "integer", "default": 7}}, "required": ["a"]},
                {"properties": {"b": {"type": "string", "maxLength": 3}}, "required": ["b"]},
            ],
        },
    ),
]
TEXTS = [
    "do it",
    "use 15 and 2.5 with label 'hello world!!' on 2024-02-29 at 2024-02-29T10:30:00Z",
    "tags 'x' 'y', numbers 1 2 3, ping bob@example.com id 123e4567-e89b-12d3-a456-426614174000",
    "kind b, not flag, Paris",
]


@pytest.mark.parametrize(("label", "schema"), SCHEMAS, ids=[s[0] for s in SCHEMAS])
@pytest.mark.parametrize("text", TEXTS)
def test_arguments_validate_against_the_schema(model, label, schema, text):
    tool = {"type": "function", "function": {"name": f"t_{label}", "parameters": schema}}
    response = model.create(messages=user(text), tools=[tool], tool_choice="required")
    arguments = json.loads(response.tool_calls[0].arguments)
    jsonschema.validate(arguments, schema, format_checker=jsonschema.FormatChecker())


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=st.text(
        alphabet=st.sampled_from(list("aZ09 .,;:-+*/()'\"@_xTJMarch2024-0531fb")), max_size=60
    )
)
def test_arguments_validate_for_any_text(text):
    model = OfflineModel()
    for label, schema in SCHEMAS:
        tool = {"type": "function", "function": {"name": f"t_{label}", "parameters": schema}}
        response = model.create(messages=user(text or "x"), tools=[tool], tool_choice="required")
        arguments = json.loads(response.tool_calls[0].arguments)
        jsonschema.validate(arguments, schema, format_checker=jsonschema.FormatChecker())


def test_arguments_come_from_the_message(model):
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "email": {"type": "string"},
            "joined": {"type": "string", "format": "date"},
            "plan": {"enum": ["free", "pro"]},
            "newsletter": {"type": "boolean"},
            "note": {"type": "string"},
        },
        "required": ["name", "age", "email", "joined", "plan", "newsletter"],
    }
    tool = {"type": "function", "function": {"name": "register", "parameters": schema}}
    text = "Register Alice Smith, 34, alice@example.com, joined March 5, 2024 on pro, no newsletter"
    response = model.create(messages=user(text), tools=[tool])
    assert json.loads(response.tool_calls[0].arguments) == {
        "name": "Alice Smith",
        "age": 34,
        "email": "alice@example.com",
        "joined": "2024-03-05",
        "plan": "pro",
        "newsletter": False,
    }


def test_defaults_fill_what_the_message_lacks(model):
    tool = fn_tool("ping", "Ping a host.", {"host": {"type": "string", "default": "localhost"}})
    tool["function"]["parameters"]["required"] = ["host"]
    tool["function"]["parameters"]["properties"]["host"]["format"] = "hostname"
    response = model.create(messages=user("ping please"), tools=[tool])
    assert json.loads(response.tool_calls[0].arguments) == {"host": "localhost"}


# -- response_format ---------------------------------------------------------------------

PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "email": {"type": "string"},
        "birthday": {"type": "string", "format": "date"},
    },
    "required": ["name", "age", "email", "birthday"],
    "additionalProperties": False,
}


def test_json_schema_response_is_a_valid_filled_instance(model):
    fmt = {
        "type": "json_schema",
        "json_schema": {"name": "Person", "schema": PERSON, "strict": True},
    }
    text = "Extract: Bob Dylan, 83, bob@example.com, born 1941-05-24"
    response = model.create(messages=user(text), response_format=fmt)
    assert json.loads(response.message.content) == {
        "name": "Bob Dylan",
        "age": 83,
        "email": "bob@example.com",
        "birthday": "1941-05-24",
    }


def test_json_schema_response_uses_tool_results(model):
    fmt = {"type": "json_schema", "json_schema": {"name": "Out", "schema": {
        "type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}}}  # fmt: skip
    messages = user("What is 6*7? Answer as JSON.")
    first = model.create(messages=messages, tools=TOOLS, response_format=fmt)
    final = model.create(
        messages=answer_tools(messages, first, ["42"]), tools=TOOLS, response_format=fmt
    )
    assert json.loads(final.message.content) == {"total": 6}  # first number of the user text


def test_json_object_response(model):
    response = model.create(messages=user("hi, in JSON"), response_format={"type": "json_object"})
    assert isinstance(json.loads(response.message.content), dict)


# -- n, stop, max_tokens, usage ----------------------------------------------------------


def test_n_gives_distinct_deterministic_choices(model):
    response = model.create(messages=user("hello"), n=3)
    texts = [c.message.content for c in response.choices]
    assert [c.index for c in response.choices] == [0, 1, 2]
    assert len(set(texts)) == 3 and texts[1].startswith("(Variant 2) ")
    calls = model.create(messages=user("What is 1+1?"), tools=TOOLS, n=2)
    ids = [c.message.tool_calls[0].id for c in calls.choices]
    assert ids[0] != ids[1]


def test_stop_cuts_before_the_stop_sequence(model):
    response = model.create(messages=user("hello"), stop=["offline", "zzz"])
    assert response.message.content == "This is the "
    assert response.finish_reason == "stop"


def test_max_tokens_truncates_with_length(model):
    response = model.create(messages=user("hello"), max_tokens=3)
    assert response.message.content == "This is the "
    assert response.finish_reason == "length"
    assert response.usage.completion_tokens == 3
    calls = model.create(messages=user("What is 1+1?"), tools=TOOLS, max_completion_tokens=3)
    assert calls.finish_reason == "length"


def test_usage_follows_the_documented_rule(model):
    messages = [{"role": "system", "content": "Be brief."}, *user("hello")]
    response = model.create(messages=messages)
    prompt = (3 + count_tokens("Be brief.")) + (3 + count_tokens("hello"))
    completion = count_tokens(response.message.content)
    assert count_tokens("abcde") == math.ceil(5 / 4) == 2
    assert response.usage.prompt_tokens == prompt
    assert response.usage.completion_tokens == completion
    assert response.usage.total_tokens == prompt + completion
    with_tools = model.create(messages=messages, tools=TOOLS, tool_choice="none")
    tools_json = json.dumps(TOOLS, separators=(",", ":"))
    assert with_tools.usage.prompt_tokens == prompt + count_tokens(tools_json)


# -- streaming ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("hello there", {}),
        ("What is 12 * (3 + 4)?", {"tools": TOOLS}),
        ("what is 2+2 and 3*5", {"tools": TOOLS, "n": 2}),
        ("hello", {"max_tokens": 2, "stop": "zzz"}),
    ],
)
def test_stream_assembles_to_the_created_response(model, text, params):
    stream = model.stream(messages=user(text), stream_options={"include_usage": True}, **params)
    events = list(stream)
    created = model.create(messages=user(text), **params)
    assert stream.response.choices == created.choices
    assert stream.response.usage == created.usage
    assert (stream.response.id, stream.response.created) == (created.id, created.created)
    assert isinstance(events[-1], UsageEvent)
    assert any(isinstance(e, FinishEvent) for e in events)


def test_stream_sends_small_deltas(model):
    events = list(model.stream(messages=user("hello there"), tools=TOOLS))
    texts = [e.delta for e in events if isinstance(e, TextDelta)]
    assert len(texts) > 5 and all(len(t.split()) == 1 for t in texts)
    calls = list(model.stream(messages=user("What is 12 * (3 + 4)?"), tools=TOOLS))
    deltas = [e for e in calls if isinstance(e, ToolCallDelta)]
    assert deltas[0].name == "calculate" and deltas[0].id
    assert "".join(d.arguments_delta for d in deltas) == '{"expression":"12 * (3 + 4)"}'
    # usage is reported by default, and only then
    assert any(isinstance(e, UsageEvent) for e in calls)
    quiet = model.stream(
        messages=user("What is 1+1?"), tools=TOOLS, stream_options={"include_usage": False}
    )
    assert not any(isinstance(e, UsageEvent) for e in quiet)


def test_stream_validates_before_returning(model):
    with pytest.raises(BadRequestError):
        model.stream(messages=[])


def test_completion_chunks_shape(model):
    body = model.completion(messages=user("What is 1+1?"), tools=TOOLS)
    chunks = list(completion_chunks(body, include_usage=True))
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == body["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": None}
    first_call = chunks[1]["choices"][0]["delta"]["tool_calls"][0]
    assert first_call["index"] == 0 and first_call["function"]["arguments"] == ""
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"] == body["usage"]


# -- validation --------------------------------------------------------------------------

OK = user("hi")


@pytest.mark.parametrize(
    ("messages", "params", "param"),
    [
        ([], {}, "messages"),
        ("hi", {}, "messages"),
        ([{"role": "robot", "content": "x"}], {}, "messages[0].role"),
        ([{"role": "user"}], {}, "messages[0].content"),
        ([{"role": "user", "content": 5}], {}, "messages[0].content"),
        ([{"role": "tool", "content": "x", "tool_call_id": "a"}], {}, "messages[0].tool_call_id"),
        (
            [
                *OK,
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                *OK,
            ],
            {},
            "messages[2]",
        ),  # fmt: skip
        (OK, {"tools": "x"}, "tools"),
        (OK, {"tools": [{"type": "function", "function": {"name": "bad name"}}]}, "tools[0].function.name"),
        (OK, {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": 5}}}]}, "tools[0].function.parameters"),
        (OK, {"tool_choice": "required"}, "tool_choice"),
        (OK, {"tools": TOOLS, "tool_choice": "sometimes"}, "tool_choice"),
        (OK, {"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
        (OK, {"n": 0}, "n"),
        (OK, {"n": "2"}, "n"),
        (OK, {"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        (OK, {"max_tokens": 0}, "max_tokens"),
        (OK, {"temperature": 3}, "temperature"),
        (OK, {"response_format": {"type": "yaml"}}, "response_format"),
        (OK, {"response_format": {"type": "json_schema", "json_schema": {}}}, "response_format.json_schema.name"),
        (OK, {"frobnicate": True}, "frobnicate"),
        (OK, {"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ],
)  # fmt: skip
def test_bad_requests_are_rejected_like_a_server(model, messages, params, param):
    with pytest.raises(BadRequestError) as info:
        model.create(messages=messages, **params)
    assert info.value.status_code == 400
    error = info.value.body["error"]
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert set(error) == {"message", "type", "param", "code"}


def test_accepts_known_sampling_params(model):
    response = model.create(messages=OK, temperature=0.2, top_p=1, seed=1, user="u", stream=False)
    assert response.finish_reason == "stop"


# -- with the agent loop -------------------------------------------------------------------


def test_agent_answers_arithmetic_through_the_calculator():
    from agentloop import Agent, tool

    @tool
    def calculate(expression: str) -> str:
        """Evaluate an arithmetic expression.

        Args:
            expression: The expression to evaluate, e.g. ``2 * (3 + 4)``.
        """
        allowed = set("0123456789+-*/(). ")
        if not set(expression) <= allowed:
            raise ValueError("unsupported characters")
        return str(eval(expression, {"__builtins__": {}}))  # noqa: S307 - filtered above

    result = Agent(model="offline", tools=[calculate]).run("What is 12 * (3 + 4)?")
    assert "84" in result.output
    assert any(m.get("tool_calls") for m in result.messages)
