"""Helpers shared by the offline model tests: tool definitions, a user turn, the calls made."""

from __future__ import annotations

import json
from typing import Any


def fn_tool(name: str, description: str, properties: dict[str, Any], required=None) -> dict:
    params = {"type": "object", "properties": properties, "required": required or []}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": params},
    }


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def calls_of(response) -> list[tuple[str, dict]]:
    return [(c.name, json.loads(c.arguments)) for c in response.tool_calls]
