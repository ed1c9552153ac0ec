"""Structured output for the loop: the ``response_format`` an ``output_type`` asks for,
and validation of the final answer against it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from agentloop.messages import ModelProfile

__all__ = ["OutputSpec", "wire_name"]

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """How to ask for, and check, a final answer of type ``output_type``.

    Attributes:
        adapter: The ``schema.type_adapter`` of the type (``.json_schema``, ``.validate``).
        schema: The JSON Schema sent (non-object types wrapped in ``{"response": ...}``,
            because strict structured output needs an object at the top).
        wrapped: Whether the answer is unwrapped from ``{"response": ...}``.
        response_format: The ``response_format`` request field.
        instructions: A system message describing the schema, for endpoints
            without ``json_schema`` support (sent as ``json_object`` plus this text).
    """

    adapter: Any
    schema: dict[str, Any]
    wrapped: bool
    response_format: dict[str, Any]
    instructions: str | None

    @classmethod
    def for_type(cls, output_type: Any, profile: ModelProfile) -> OutputSpec | None:
        """Return the spec for ``output_type``, or None for plain text (None or ``str``)."""
        if output_type is None or output_type is str:
            return None
        from agentloop.schema.build import type_adapter

        strict = profile.supports_json_schema and profile.supports_strict
        adapter = type_adapter(output_type, strict=strict)
        schema = dict(adapter.json_schema)
        wrapped = schema.get("type") != "object"
        if wrapped:
            defs = schema.pop("$defs", None)
            schema = {
                "type": "object",
                "properties": {"response": schema},
                "required": ["response"],
                "additionalProperties": False,
                **({"$defs": defs} if defs else {}),
            }
        name = wire_name(getattr(output_type, "__name__", "output"), "output")
        if profile.supports_json_schema:
            response_format: dict[str, Any] = {
                "type": "json_schema",
                "json_schema": {"name": name, "schema": schema, "strict": strict},
            }
            instructions = None
        else:
            response_format = {"type": "json_object"}
            instructions = (
                "Answer with only a JSON object matching this JSON Schema:\n"
                + json.dumps(schema, separators=(",", ":"))
            )
        return cls(adapter, schema, wrapped, response_format, instructions)

    def add_instructions(self, messages: list[dict[str, Any]]) -> None:
        """Add the schema instructions to a request's messages (not to the transcript)."""
        if self.instructions is not None:
            # after the leading system messages: some endpoints accept system text only there
            at = next((i for i, m in enumerate(messages) if m.get("role") != "system"), 0)
            messages.insert(at, {"role": "system", "content": self.instructions})

    def parse(self, text: str) -> Any:
        """Decode and validate the final answer.

        Raises:
            ValueError: The text is not JSON, or does not match the schema
                (:class:`~agentloop.ToolArgumentError` lists each violation).
        """
        match = _FENCE.match(text)
        data = json.loads(match.group(1) if match else text)
        if self.wrapped:
            if not isinstance(data, dict) or "response" not in data:
                raise ValueError('expected a JSON object {"response": ...}')
            data = data["response"]
        return self.adapter.validate(data)

    def retry_prompt(self, error: Exception) -> str:
        """The message sent back to the model after an answer failed validation."""
        return (
            f"Your answer did not match the required JSON schema: {str(error).rstrip('.')}. "
            "Reply again with only the corrected JSON."
        )


def wire_name(text: str, default: str) -> str:
    """``text`` as a tool or schema name (``^[a-zA-Z0-9_-]{1,64}$``), ``default`` if empty."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", text)[:64] or default
