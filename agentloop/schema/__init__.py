"""Python types <-> JSON Schema: hints, docstrings, dataclass-like classes, conversion, strict mode, validation."""

from __future__ import annotations

from .build import (
    FunctionSchema,
    TypeAdapter,
    function_schema,
    type_adapter,
)

__all__ = [
    "FunctionSchema",
    "TypeAdapter",
    "function_schema",
    "type_adapter",
]
