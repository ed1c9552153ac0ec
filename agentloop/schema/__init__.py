"""Python types <-> JSON Schema: hints, docstrings, dataclass-like classes, conversion, strict mode, validation.

The names below load on first use, so importing a light module of this package (such as
:mod:`agentloop.schema.jsonable`) does not import ``jsonschema`` or ``docstring_parser``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "FunctionSchema",
    "TypeAdapter",
    "function_schema",
    "type_adapter",
]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'agentloop.schema' has no attribute {name!r}")
    return getattr(importlib.import_module("agentloop.schema.build"), name)


if TYPE_CHECKING:
    from agentloop.schema.build import FunctionSchema as FunctionSchema
    from agentloop.schema.build import TypeAdapter as TypeAdapter
    from agentloop.schema.build import function_schema as function_schema
    from agentloop.schema.build import type_adapter as type_adapter
