"""One home for turning values into JSON data: copying wire data and a lenient conversion.

Two contracts, two names (never one name for both):

* :func:`copy_json` copies wire-format data (nested dicts and lists of JSON values);
* :func:`plain_json` turns anything into plain JSON values for display and records
  (``to_dict()``, dataclasses, mappings, sequences; anything else becomes its ``str``).

The strict conversion of tool results, which refuses what has no JSON form, is
:func:`agentloop.schema.jsonable.to_jsonable`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = ["copy_json", "plain_json"]

_MAX_DEPTH = 30


def copy_json(value: Any) -> Any:
    """Copy nested dicts and lists (faster than ``copy.deepcopy`` for wire-format data).

    Leaves (str, numbers, None, anything not a dict or list) are shared, not copied.
    """
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value


def plain_json(value: Any, *, fallback: Any = str, _depth: int = 0) -> Any:
    """``value`` as plain JSON values (dict, list, str, int, float, bool, None); never raises.

    Objects with ``to_dict()`` use it; dataclasses become dicts of their fields, mappings
    dicts with text keys, lists/tuples/sets lists; anything else (and anything nested deeper
    than 30 levels) becomes ``fallback(value)`` (``str`` unless given, e.g. ``repr``).
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if _depth > _MAX_DEPTH:
        return fallback(value)
    deeper = _depth + 1
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        try:
            return plain_json(to_dict(), fallback=fallback, _depth=deeper)
        except Exception:  # a user object's to_dict may fail; a record of it must not
            return fallback(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain_json(getattr(value, f.name), fallback=fallback, _depth=deeper)
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(k): plain_json(v, fallback=fallback, _depth=deeper) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain_json(v, fallback=fallback, _depth=deeper) for v in value]
    return fallback(value)
