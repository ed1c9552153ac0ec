"""Gemini's request quirks and JSON Schema sanitizer (internal; docs/providers.md, Gemini).

Used by :class:`agentloop.providers.registry.ChatModel` for ``gemini:`` models (and
``gemini*`` models behind relays such as ``kkiai:``).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["GEMINI_PARAMS", "gemini_params", "gemini_tool", "sanitize_schema_for_gemini"]

# Google's endpoint rejects unknown top-level fields, so Gemini requests are
# built from this allow-list (docs/providers.md, Gemini) rather than a deny-list.
GEMINI_PARAMS = frozenset(
    {
        "temperature", "top_p", "stream", "stream_options", "stop", "max_tokens", "tools",
        "tool_choice", "response_format", "reasoning_effort", "google", "service_tier",
    }
)  # fmt: skip


def gemini_params(params: dict[str, Any]) -> dict[str, Any]:
    """Apply Gemini's parameter quirks: ``max_tokens``, no ``strict``, sanitized schemas."""
    out = dict(params)
    if "max_completion_tokens" in out:
        value = out.pop("max_completion_tokens")
        out.setdefault("max_tokens", value)
    if out.get("tools"):
        out["tools"] = [gemini_tool(t) for t in out["tools"]]
    fmt = out.get("response_format")
    if isinstance(fmt, Mapping) and isinstance(fmt.get("json_schema"), Mapping):
        json_schema = {k: v for k, v in fmt["json_schema"].items() if k != "strict"}
        if isinstance(json_schema.get("schema"), Mapping):
            json_schema["schema"] = sanitize_schema_for_gemini(json_schema["schema"])
        out["response_format"] = {**fmt, "json_schema": json_schema}
    return out


def gemini_tool(tool: Any) -> Any:
    """Return a tool definition without ``strict`` and with a sanitized ``parameters`` schema."""
    if not isinstance(tool, Mapping) or not isinstance(tool.get("function"), Mapping):
        return tool
    function = {k: v for k, v in tool["function"].items() if k != "strict"}
    if isinstance(function.get("parameters"), Mapping):
        function["parameters"] = sanitize_schema_for_gemini(function["parameters"])
    return {**tool, "function": function}


# -- Gemini JSON Schema sanitizer (Gemini refuses a request on its first unknown keyword) ---

_KEEP = frozenset(
    {
        "type", "description", "enum", "properties", "required", "items", "anyOf", "nullable",
        "minimum", "maximum", "minItems", "maxItems", "minLength", "maxLength", "pattern", "format",
    }
)  # fmt: skip
_STRING_FORMATS = frozenset({"enum", "date-time"})
_MAX_DEPTH = 40


def sanitize_schema_for_gemini(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Rewrite a JSON Schema into the subset Gemini's function declarations accept.

    Inlines ``$ref`` to ``$defs``/``definitions`` (a recursive reference
    becomes a plain object), turns ``const`` into a one-value ``enum``,
    ``oneOf`` into ``anyOf``, merges ``allOf``, turns ``"type": [T, "null"]``
    and ``anyOf`` null branches into ``nullable``, keeps string ``format`` only
    for ``enum``/``date-time`` (others move into the description) and drops
    every other keyword (``$schema``, ``title``, ``default``,
    ``additionalProperties``, ``exclusiveMinimum``, ``uniqueItems``, ...).

    Args:
        schema: The schema; it is not changed.

    Returns:
        A new, sanitized schema.
    """
    defs: dict[str, Any] = {}
    for key in ("definitions", "$defs"):
        if isinstance(schema.get(key), Mapping):
            defs.update({f"#/{key}/{name}": s for name, s in schema[key].items()})
    return _clean(copy.deepcopy(dict(schema)), defs, (), 0)


def _clean(node: Any, defs: Mapping[str, Any], seen: tuple[str, ...], depth: int) -> Any:
    if not isinstance(node, Mapping):
        return node
    if depth > _MAX_DEPTH:
        return {"type": "object"}
    node = _resolve_ref(node, defs, seen)
    if "$ref" in node:  # unresolvable or recursive
        return {"type": "object", **_described(node)}
    seen = (*seen, *node.pop("__refs__", ()))
    node = _merge_all_of(node, defs, seen)
    if "const" in node:
        node.setdefault("enum", [node["const"]])
    if "oneOf" in node:
        node["anyOf"] = [*node.get("anyOf", ()), *node["oneOf"]]

    def clean(child: Any) -> Any:
        return _clean(child, defs, seen, depth + 1)

    out: dict[str, Any] = {k: v for k, v in node.items() if k in _KEEP}
    if isinstance(out.get("properties"), Mapping):
        out["properties"] = {k: clean(v) for k, v in out["properties"].items()}
        if isinstance(out.get("required"), list):
            out["required"] = [r for r in out["required"] if r in out["properties"]]
    if "items" in out:
        out["items"] = clean(out["items"]) if isinstance(out["items"], Mapping) else {}
    if isinstance(out.get("anyOf"), list):
        out["anyOf"] = [clean(s) for s in out["anyOf"]]
    _fix_nullable(out)
    _fix_format(out)
    return out


def _resolve_ref(node: Mapping[str, Any], defs: Mapping[str, Any], seen: tuple[str, ...]) -> dict:
    node = dict(node)
    refs: list[str] = []
    while isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        target = defs.get(ref)
        if target is None or ref in seen or ref in refs:
            return node
        refs.append(ref)
        rest = {k: v for k, v in node.items() if k != "$ref"}
        node = {**copy.deepcopy(dict(target)), **rest}
    if refs:
        node["__refs__"] = tuple(refs)
    return node


def _merge_all_of(node: dict[str, Any], defs: Mapping[str, Any], seen: tuple[str, ...]) -> dict:
    parts = node.pop("allOf", None)
    if not isinstance(parts, list):
        return node
    merged: dict[str, Any] = {}
    for part in parts:
        if not isinstance(part, Mapping):
            continue
        part = _resolve_ref(part, defs, seen)
        part.pop("__refs__", None)
        part = _merge_all_of(part, defs, seen)
        props = {**merged.get("properties", {}), **part.get("properties", {})}
        required = [*merged.get("required", ()), *part.get("required", ())]
        merged.update(part)
        if props:
            merged["properties"] = props
        if required:
            merged["required"] = list(dict.fromkeys(required))
    return {**merged, **node}


def _described(node: Mapping[str, Any]) -> dict[str, Any]:
    desc = node.get("description")
    return {"description": desc} if isinstance(desc, str) else {}


def _fix_nullable(out: dict[str, Any]) -> None:
    kind = out.get("type")
    if isinstance(kind, list):
        types = [t for t in kind if t != "null"]
        if len(types) < len(kind):
            out["nullable"] = True
        if len(types) == 1:
            out["type"] = types[0]
        else:
            del out["type"]
            if types:
                out["anyOf"] = [{"type": t} for t in types]
    branches = out.get("anyOf")
    if isinstance(branches, list):
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) < len(branches):
            out["nullable"] = True
        if len(kept) == 1 and isinstance(kept[0], Mapping):
            del out["anyOf"]
            for key, value in kept[0].items():
                out.setdefault(key, value)
        else:
            out["anyOf"] = kept


def _fix_format(out: dict[str, Any]) -> None:
    fmt = out.get("format")
    if fmt is None or (out.get("type") == "string" and fmt in _STRING_FORMATS):
        return
    del out["format"]
    if out.get("type") == "string" and isinstance(fmt, str):
        desc = out.get("description")
        out["description"] = f"{desc} (format: {fmt})" if desc else f"format: {fmt}"
