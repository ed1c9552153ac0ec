"""What changed between a recorded HTTP request and the one a replayed run sends."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = ["request_diff", "value_diff"]


def request_diff(recorded: Mapping[str, Any], request: requests.PreparedRequest) -> list[str]:
    """How ``request`` differs from a recorded request (method, path and body), one line each."""
    now = urlsplit(request.url or "")
    diff = []
    if recorded.get("method") != request.method:
        diff.append(f"method: recorded {recorded.get('method')}, now {request.method}")
    if recorded.get("path") != now.path:
        diff.append(f"path: recorded {recorded.get('path')}, now {now.path}")
    body = request.body
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body or ""
    try:
        value: Any = json.loads(text) if text else None
        key = "json"
    except ValueError:
        value, key = text, "text"
    diff.extend(value_diff(recorded.get(key), value, "body"))
    return diff[:20]


def value_diff(old: Any, new: Any, path: str) -> Iterator[str]:
    """Yield ``path: recorded X, now Y`` for every place two JSON values differ.

    A ``[REDACTED]`` string in the recording matches any value (a secret was removed there).
    """
    if old == new or old == "[REDACTED]":
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key not in new:
                yield f"{path}.{key}: recorded {_short(old[key])}, now absent"
            elif key not in old:
                yield f"{path}.{key}: not recorded, now {_short(new[key])}"
            else:
                yield from value_diff(old[key], new[key], f"{path}.{key}")
        return
    if isinstance(old, list) and isinstance(new, list):
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            yield from value_diff(a, b, f"{path}[{i}]")
        if len(old) != len(new):
            yield f"{path}: recorded {len(old)} items, now {len(new)}"
        return
    if isinstance(old, str) and isinstance(new, str) and "[REDACTED]" in old:
        head, _, tail = old.partition("[REDACTED]")
        if new.startswith(head) and new.endswith(tail.split("[REDACTED]")[-1]):
            return
    yield f"{path}: recorded {_short(old)}, now {_short(new)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."
