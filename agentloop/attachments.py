"""Images and files sent with a prompt: ``Agent.run(prompt, attachments=[Attachment(path=...)])``.

Attachments go out as chat-completions content parts of the user message
(the OpenAI content-part shapes): an image as ``{"type": "image_url", "image_url": {"url": ...}}`` with a
``data:`` URI (a file) or its URL, a PDF as ``{"type": "file", "file": {"filename", "file_data"}}``
where the model's profile allows them (``ModelProfile.supports_file_parts``). Without attachments nothing
changes: the prompt is sent as plain string content. A provider whose endpoint takes string
content only (its ``string_content_only`` flag) refuses attachments before anything is sent.

Everything is checked before the request: the file exists, is at most :data:`MAX_BYTES`, and
is a type a model can take (:data:`IMAGE_TYPES`, :data:`FILE_TYPES`), read from its first
bytes and not only from its name. Every mistake is a one-line
:class:`~agentloop.ConfigurationError` naming the attachment and the fix.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentloop.errors import ConfigurationError
from agentloop.messages import Message

__all__ = [
    "FILE_TYPES",
    "IMAGE_TYPES",
    "MAX_BYTES",
    "Attachment",
    "content_part",
    "with_attachments",
]

MAX_BYTES = 20 * 1024 * 1024
"""The largest attachment sent (20 MB, OpenAI's limit for one image)."""
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
"""Images sent as ``image_url`` parts."""
FILE_TYPES = ("application/pdf",)
"""Files sent as ``file`` parts, to models whose profile has ``supports_file_parts``."""
_KINDS = "png, jpeg, gif or webp images, or PDF files"
_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class Attachment:
    """An image or file sent with the prompt: exactly one of ``path`` and ``url``.

    Attributes:
        path: A local file; its content is sent (base64 in a ``data:`` URI).
        url: An ``http(s)://`` image URL (the provider fetches it) or a ``data:`` URI.
        mime_type: The content's type, when its bytes or name do not tell it.
    """

    path: str | os.PathLike[str] | None = None
    url: str | None = None
    mime_type: str | None = None

    def __post_init__(self) -> None:
        if (self.path is None) == (self.url is None):
            raise ConfigurationError("Attachment takes exactly one of path= and url=")

    @classmethod
    def from_text(cls, text: str) -> Attachment:
        """``-a`` text: an ``http(s)://`` or ``data:`` URL, else a file path."""
        if text.startswith(("http://", "https://", "data:")):
            return cls(url=text)
        return cls(path=text)

    @property
    def label(self) -> str:
        """The path or URL, shortened for messages."""
        text = str(self.path) if self.path is not None else str(self.url)
        return text if len(text) <= 80 else text[:77] + "..."


def content_part(attachment: Attachment, *, file_parts: bool = True) -> dict[str, Any]:
    """The content part that carries ``attachment``, every check done first.

    Args:
        attachment: The image or file.
        file_parts: Whether the model takes ``file`` parts (PDFs).

    Raises:
        ConfigurationError: Missing, empty or too large, or a type no model can take.
    """
    if attachment.url is not None:
        return _url_part(attachment)
    path = Path(attachment.path or "").expanduser()
    data = _read(path, attachment.label)
    kind = attachment.mime_type or _sniff(data) or _guessed(path)
    if kind in IMAGE_TYPES:
        if attachment.mime_type is None and _sniff(data) is None:
            raise ConfigurationError(
                f"attachment {attachment.label} is named like {kind} but its content is not; "
                "attach the image itself"
            )
        return _image(f"data:{kind};base64,{_b64(data)}")
    if kind in FILE_TYPES:
        if not file_parts:
            raise ConfigurationError(
                f"attachment {attachment.label} is a PDF, and this model's provider takes no "
                "file parts (ModelProfile.supports_file_parts); attach images, or use a provider "
                "that takes files (openai)"
            )
        return {
            "type": "file",
            "file": {"filename": path.name, "file_data": f"data:{kind};base64,{_b64(data)}"},
        }
    raise ConfigurationError(
        f"attachment {attachment.label} is {kind or 'of an unknown type'}; attachments are {_KINDS}"
    )


def with_attachments(prompt: Any, attachments: Sequence[Attachment], model: Any) -> Any:
    """The prompt with the attachments' parts added to its user message (unchanged without).

    Args:
        prompt: The run's prompt: text, a user message, or messages ending with one.
        attachments: The images and files to send.
        model: The run's model; its provider's flags decide what may be sent.

    Raises:
        ConfigurationError: The model takes string content only, the prompt has no user
            message last, or an attachment fails its checks.
    """
    if not attachments:
        return prompt
    provider = getattr(model, "provider", None)
    name = getattr(model, "name", type(model).__name__)
    if getattr(provider, "string_content_only", False):
        raise ConfigurationError(
            f"model {name!r} takes string content only (the string_content_only flag of "
            f"provider {getattr(provider, 'name', '?')!r}), so attachments cannot be sent; "
            "run without them, or use a model that takes images (local:MODEL for a "
            "multimodal server)"
        )
    # a provider's model says whether it takes file parts; the offline model and custom
    # models take any part (they read what they can)
    profile = getattr(model, "profile", None)
    file_parts = provider is None or bool(getattr(profile, "supports_file_parts", False))
    for item in attachments:
        if not isinstance(item, Attachment):
            raise ConfigurationError(
                f"attachments must be Attachment objects (from agentloop import Attachment), "
                f"got {type(item).__name__}"
            )
    parts = [content_part(a, file_parts=file_parts) for a in attachments]
    if isinstance(prompt, str):
        return {"role": "user", "content": [{"type": "text", "text": prompt}, *parts]}
    if isinstance(prompt, (Mapping, Message)):
        return _extended(prompt, parts)
    messages = list(prompt)
    if not messages:
        raise ConfigurationError("attachments need a prompt: the prompt has no messages")
    return [*messages[:-1], _extended(messages[-1], parts)]


def _extended(message: Mapping[str, Any] | Message, parts: list[dict[str, Any]]) -> dict[str, Any]:
    wire = message.to_dict() if isinstance(message, Message) else dict(message)
    if wire.get("role") != "user":
        raise ConfigurationError(
            "attachments go with the user's message: the prompt's last message has role "
            f"{wire.get('role')!r}"
        )
    content = wire.get("content")
    if isinstance(content, str):
        content = [{"type": "text", "text": content}]
    wire["content"] = [*(content or []), *parts]
    return wire


def _read(path: Path, label: str) -> bytes:
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ConfigurationError(f"attachment {label} is a folder; attach a file")
        if size > MAX_BYTES:
            raise ConfigurationError(
                f"attachment {label} is {size / 1e6:.1f} MB; the most is {MAX_BYTES // 2**20} MB "
                "(resize or compress it)"
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(
            f"attachment not found: {label} (check the path; URLs start with https://)"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read attachment {label}: {exc.strerror}") from None
    if not data:
        raise ConfigurationError(f"attachment {label} is empty")
    return data


def _url_part(attachment: Attachment) -> dict[str, Any]:
    url = str(attachment.url)
    if url.startswith("data:"):
        kind = url[5:].split(";", 1)[0].split(",", 1)[0].lower()
        if kind not in IMAGE_TYPES:
            raise ConfigurationError(
                f"attachment {attachment.label}: a data: URI must hold a png, jpeg, gif or webp "
                "image (attach other files by path)"
            )
        if len(url) > MAX_BYTES * 4 // 3 + 100:
            raise ConfigurationError(f"attachment {attachment.label} is larger than 20 MB")
        return _image(url)
    if not url.startswith(("http://", "https://")) or len(url) > 8192:
        raise ConfigurationError(
            f"attachment {attachment.label}: a URL must be http(s):// (at most 8192 characters)"
        )
    guess = attachment.mime_type or _guessed(Path(url.split("?", 1)[0].split("#", 1)[0]))
    if guess in FILE_TYPES:
        raise ConfigurationError(
            f"attachment {attachment.label}: a PDF cannot be sent by URL; download it and "
            "attach the file"
        )
    if guess is not None and guess not in IMAGE_TYPES:
        raise ConfigurationError(
            f"attachment {attachment.label} is {guess}; a URL attachment must be an image"
        )
    return _image(url)  # no extension: the provider fetches it and decides


def _image(url: str) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": url}}


def _sniff(data: bytes) -> str | None:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _guessed(path: Path) -> str | None:
    import mimetypes

    kind, _ = mimetypes.guess_type(path.name)
    return kind


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
