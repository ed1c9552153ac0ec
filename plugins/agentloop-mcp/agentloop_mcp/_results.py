"""Turn an MCP ``CallToolResult`` into what the model reads (internal).

Text blocks are joined; images, audio and binary resources become a clear
placeholder (a chat-completions tool message carries text only); resource
links and text resources are named. Structured content is the result's
value, and its compact JSON is the text when the server sent no text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["MappedResult", "map_result"]


@dataclass(frozen=True, kw_only=True, slots=True)
class MappedResult:
    """A tool result in agentloop's terms.

    Attributes:
        text: The text the model sees.
        value: The structured content, else the text.
        is_error: The server flagged the result with ``isError``.
    """

    text: str
    value: Any
    is_error: bool


def map_result(result: Any) -> MappedResult:
    """Map an ``mcp_types.CallToolResult`` (the SDK's pydantic model)."""
    parts = [_block_text(block) for block in result.content or ()]
    text = "\n".join(p for p in parts if p)
    structured = result.structured_content
    if not text and structured is not None:
        text = json.dumps(structured, ensure_ascii=False, separators=(",", ":"))
    value = structured if structured is not None else text
    return MappedResult(text=text, value=value, is_error=bool(result.is_error))


def _block_text(block: Any) -> str:
    kind = getattr(block, "type", "")
    if kind == "text":
        return str(block.text)
    if kind in ("image", "audio"):
        size = _decoded_size(block.data)
        return f"[{kind} {block.mime_type}, {size} bytes: returned by the tool, not shown to the model]"
    if kind == "resource_link":
        title = f" ({block.name})" if getattr(block, "name", None) else ""
        return f"[resource link: {block.uri}{title}]"
    if kind == "resource":
        resource = block.resource
        text = getattr(resource, "text", None)
        if text is not None:
            return f"[resource {resource.uri}]\n{text}"
        size = _decoded_size(getattr(resource, "blob", ""))
        mime = getattr(resource, "mime_type", None) or "application/octet-stream"
        return f"[resource {resource.uri}: {mime}, {size} bytes, not shown to the model]"
    return f"[{kind or 'unknown'} content, not shown to the model]"


def _decoded_size(data: str | None) -> int:
    """Bytes in a base64 text, without decoding it."""
    text = (data or "").strip()
    return len(text) * 3 // 4 - len(text) + len(text.rstrip("="))
