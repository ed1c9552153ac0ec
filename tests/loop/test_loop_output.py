"""output_type: response_format, validation of the final answer, bounded retries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TypedDict

import pytest
from loop_support import make_agent

from agentloop import ModelProfile, OutputValidationError
from agentloop.testing import ScriptedModel


@dataclass
class City:
    """A city.

    Attributes:
        name: The name.
        population: How many people live there.
    """

    name: str
    population: int


class Point(TypedDict):
    x: int
    y: int


def test_dataclass_output_parsed_and_strict_schema_requested():
    agent, model = make_agent(['{"name": "Paris", "population": 2100000}'], output_type=City)
    result = agent.run("biggest city?")
    assert result.output == City(name="Paris", population=2100000)
    fmt = model.requests[0]["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "City" and fmt["json_schema"]["strict"] is True
    schema = fmt["json_schema"]["schema"]
    assert schema["type"] == "object" and set(schema["required"]) == {"name", "population"}


def test_typeddict_output_and_json_in_code_fence():
    agent, _ = make_agent(['```json\n{"x": 1, "y": 2}\n```'], output_type=Point)
    assert agent.run("p").output == {"x": 1, "y": 2}


def test_non_object_output_is_wrapped_and_unwrapped():
    agent, model = make_agent(['{"response": [1, 2, 3]}'], output_type=list[int])
    assert agent.run("numbers").output == [1, 2, 3]
    schema = model.requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["required"] == ["response"]


def test_validation_error_is_sent_back_then_succeeds():
    agent, model = make_agent(
        ['{"name": "Paris"}', "not json", '{"name": "Paris", "population": 1}'], output_type=City
    )
    result = agent.run("x")
    assert result.output.population == 1
    retry = model.requests[1]["messages"][-1]
    assert retry["role"] == "user" and "population" in retry["content"]
    assert result.usage.requests == 3


def test_validation_retries_are_bounded():
    agent, _ = make_agent(['{"name": 1}'] * 2, output_type=City, output_retries=1)
    with pytest.raises(OutputValidationError) as info:
        agent.run("x")
    assert info.value.result.stop_reason == "output_validation"
    assert info.value.result.output is None


def test_endpoint_without_json_schema_gets_json_object_and_instructions():
    model = ScriptedModel(['{"x": 3, "y": 4}'], profile=ModelProfile(supports_json_schema=False))
    from agentloop import Agent

    result = Agent(model, output_type=Point, load_plugins=False).run("p")
    assert result.output == {"x": 3, "y": 4}
    request = model.requests[0]
    assert request["response_format"] == {"type": "json_object"}
    assert request["messages"][0]["role"] == "system"
    assert "JSON Schema" in request["messages"][0]["content"]
    assert request["messages"][1] == {"role": "user", "content": "p"}
    # the instructions are part of the request only, not of the transcript
    assert all("JSON Schema" not in str(m.get("content")) for m in result.messages)


def test_no_strict_when_profile_says_so():
    model = ScriptedModel(['{"x": 3, "y": 4}'], profile=ModelProfile(supports_strict=False))
    from agentloop import Agent

    Agent(model, output_type=Point, load_plugins=False).run("p")
    assert model.requests[0]["response_format"]["json_schema"]["strict"] is False


def test_output_result_to_dict_is_json():
    agent, _ = make_agent(['{"name": "Oslo", "population": 700000}'], output_type=City)
    data = agent.run("x").to_dict()
    assert json.loads(json.dumps(data))["output"] == {"name": "Oslo", "population": 700000}
