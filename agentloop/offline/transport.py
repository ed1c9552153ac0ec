"""The offline model behind an HTTP seam, so that its runs can be recorded and replayed.

:class:`OfflineAdapter` is a ``requests`` transport adapter that answers
``POST .../chat/completions`` in-process with :meth:`OfflineModel.completion
<agentloop.offline.model.OfflineModel.completion>`, as the local server would: a JSON body,
or, for ``"stream": true``, the ``chat.completion.chunk`` events of
:func:`agentloop.wire.build.completion_chunks` in SSE framing, ending with ``data: [DONE]``.
No socket is opened.

Put on a :class:`~agentloop.client.ChatClient` (``client.transport``), it makes an HTTP model
that *is* the offline model; a cassette recorder wraps it like any other transport, and the
cassette replays on a plain ``local:offline`` model (see :mod:`agentloop.tracing.tape`). The
answers are the offline model's own, byte for byte deterministic.

This module is imported only when a run is recorded (it imports ``requests``).
"""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlsplit

import requests
import requests.adapters
import urllib3

from agentloop.errors import BadRequestError
from agentloop.wire.build import completion_chunks, error_body

__all__ = ["OFFLINE_BASE_URL", "OFFLINE_SPEC", "OfflineAdapter"]

#: The base URL of the offline model over HTTP (``.invalid`` never resolves: nothing is sent).
OFFLINE_BASE_URL = "http://offline.invalid/v1"
#: The model string a recorded offline run is replayed with.
OFFLINE_SPEC = "local:offline"
_ARGUMENT_PIECE = 24
_BUILDER = requests.adapters.HTTPAdapter()


class OfflineAdapter(requests.adapters.BaseAdapter):
    """Answer chat-completions requests with an :class:`OfflineModel`, with no network.

    Args:
        model: The offline model that answers.

    Attributes:
        spec: The model string of an HTTP model to put this adapter on (``local:offline``).
        base_url: Its base URL (``http://offline.invalid/v1``).
    """

    spec = OFFLINE_SPEC
    base_url = OFFLINE_BASE_URL

    def __init__(self, model: Any) -> None:  # an OfflineModel (which imports this module)
        super().__init__()
        self.model = model

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Return the offline model's answer to ``request`` as an HTTP response."""
        path = urlsplit(request.url or "").path
        if request.method != "POST" or not path.endswith("/chat/completions"):
            message = f"the offline model serves POST /v1/chat/completions only, not {path}"
            return _json(request, 404, error_body(message=message, code="not_found"))
        try:
            raw = request.body or b"{}"
            body = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
            if not isinstance(body, dict):
                raise ValueError("the request body is not a JSON object")
        except ValueError as exc:
            return _json(request, 400, error_body(message=f"invalid JSON body: {exc}"))
        stream = bool(body.pop("stream", False))
        body.pop("model", None)
        messages = body.pop("messages", None)
        try:
            completion = self.model.completion(messages=messages, **body)  # type: ignore[arg-type]
        except BadRequestError as exc:
            detail = exc.body if isinstance(exc.body, dict) else error_body(message=str(exc))
            return _json(request, 400, detail)
        if not stream:
            return _json(request, 200, completion)
        options = body.get("stream_options") or {}
        chunks = completion_chunks(
            completion,
            include_usage=bool(options.get("include_usage")),
            argument_piece=_ARGUMENT_PIECE,
        )
        events = [f"data: {json.dumps(c, ensure_ascii=False)}\n\n" for c in chunks]
        events.append("data: [DONE]\n\n")
        return _response(request, 200, "text/event-stream; charset=utf-8", "".join(events))

    def close(self) -> None:
        """Nothing to release."""


def _json(request: requests.PreparedRequest, status: int, body: Any) -> requests.Response:
    text = json.dumps(body, ensure_ascii=False)
    return _response(request, status, "application/json", text)


def _response(
    request: requests.PreparedRequest, status: int, content_type: str, text: str
) -> requests.Response:
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(text.encode("utf-8")),
        headers={"content-type": content_type},
        status=status,
        preload_content=False,
        decode_content=False,
        request_method=request.method,
    )
    return _BUILDER.build_response(request, raw)
