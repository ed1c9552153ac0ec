"""Python values to plain JSON data, for tool results and recorded defaults (internal)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import json
import math
import pathlib
import sys
import uuid
from collections.abc import Mapping
from typing import Any

__all__ = ["to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """Return ``value`` as plain JSON data (dict, list, str, int, float, bool, None).

    Dataclasses and NamedTuples become objects, Enums their values, dates and
    times ISO 8601 text, UUID/Path/Decimal text, sets sorted lists (when
    sortable), pydantic models their ``model_dump(mode="json")``. Non-finite
    floats become the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.

    Raises:
        TypeError: ``value`` (or something inside it) is bytes or has no JSON form.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, float):
        return (
            value
            if math.isfinite(value)
            else ("NaN" if value != value else ("Infinity" if value > 0 else "-Infinity"))
        )
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Mapping):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {k: to_jsonable(v) for k, v in zip(value._fields, value, strict=True)}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [to_jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return _special(value)


def _special(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.time)):  # datetime is a date
        return value.isoformat()
    if isinstance(value, (uuid.UUID, pathlib.PurePath, decimal.Decimal)):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"{type(value).__name__} cannot be sent to a model; decode it to str "
            "(or base64-encode it) in the tool"
        )
    dump = getattr(value, "model_dump", None)
    if callable(dump) and "pydantic" in sys.modules:
        return dump(mode="json")
    raise TypeError(
        f"a {type(value).__qualname__} has no JSON form; return str, a dict/list, a dataclass, "
        "or convert it in the tool"
    )


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    key = to_jsonable(key)
    return key if isinstance(key, str) else json.dumps(key)
