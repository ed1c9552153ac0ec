"""Record and replay, as a user holds them: ``record(path, agent)`` and ``replay(path)``.

Both put a transport from :mod:`agentloop.tracing.cassette` on the agent's
:class:`~agentloop.client.ChatClient` (``client.transport``) and take it off again when the
``with`` block ends, so the agent itself is unchanged::

    with record("odd.cassette.jsonl", agent):
        agent.run("what went wrong?")          # real traffic, written down

    with replay("odd.cassette.jsonl") as tape:  # later, offline, forever
        Agent(tape.model, tools=[...]).run("what went wrong?")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentloop.errors import ConfigurationError
from agentloop.tracing.cassette import RecordingTransport, ReplayTransport

__all__ = ["Recording", "Replay", "client_of", "record", "replay"]

# A replayed model needs a key to build; nothing is ever sent with it.
REPLAY_KEY = "replay-no-key"


def client_of(target: Any) -> Any:
    """The :class:`~agentloop.client.ChatClient` behind an agent, a model or a client.

    Raises:
        ConfigurationError: ``target``'s model does not talk HTTP (the offline or a scripted
            model), so there is no traffic to record or replay.
    """
    for _ in range(4):
        if target is None:
            break
        if hasattr(target, "transport") and hasattr(target, "base_url"):
            return target
        target = getattr(target, "client", None) or getattr(target, "model", None)
    raise ConfigurationError(
        "record/replay needs a model that talks HTTP (provider:model, or local:NAME with a "
        "base URL) or an agent on the offline model; this model sends no HTTP requests "
        "(record the agent: `with record(path, agent): agent.run(...)`, or "
        "`agentloop run TARGET PROMPT --record FILE`)"
    )


class _Attached:
    """A transport put on a client, and the one it replaced (restored by :meth:`detach`)."""

    def __init__(self) -> None:
        self._clients: list[tuple[Any, Any]] = []

    def _attach(self, target: Any, transport: Any) -> None:
        client = client_of(target)
        self._clients.append((client, client.transport))
        client.transport = transport

    def detach(self) -> None:
        """Give every attached client its previous transport back."""
        while self._clients:
            client, previous = self._clients.pop()
            client.transport = previous


class Recording(_Attached):
    """Every HTTP exchange of ``target``'s client, written to a cassette (see :func:`record`).

    An agent on the offline model is recorded through the offline model's HTTP adapter
    (:mod:`agentloop.offline.transport`): for the recording its model is a ``local:offline``
    HTTP model answered in-process, given back when the recording closes.
    """

    def __init__(self, path: str | Path, target: Any, *, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._models: list[tuple[Any, Any]] = []
        self._offline_over_http(target)
        client = client_of(target)
        model = getattr(target, "model", target)
        meta = {"model": getattr(model, "name", None), "base_url": client.base_url}
        self.transport = RecordingTransport(
            path, inner=client.transport, secrets=secrets, meta=meta
        )
        self.path = self.transport.path
        self._attach(client, self.transport)

    def _offline_over_http(self, target: Any) -> None:
        """Give an agent on the offline model an HTTP model that the offline model answers."""
        model = getattr(target, "model", None)
        adapter = getattr(model, "http_adapter", None)
        if not callable(adapter) or getattr(model, "client", None) is not None:
            return
        from agentloop.providers.registry import resolve_model

        transport = adapter()
        http = resolve_model(
            transport.spec, base_url=transport.base_url, api_key=REPLAY_KEY, max_retries=0, env={}
        )
        client_of(http).transport = transport
        self._models.append((target, model))
        target.model = http

    def close(self) -> None:
        """Stop recording: restore the real transport (and model) and close the file."""
        self.detach()
        while self._models:
            target, model = self._models.pop()
            target.model = model
        self.transport.close()

    def __enter__(self) -> Recording:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Replay(_Attached):
    """A cassette served back with no network (see :func:`replay`).

    Attributes:
        transport: The :class:`~agentloop.tracing.cassette.ReplayTransport`.
        header: The cassette's header (``model``, ``base_url``, ...).
    """

    def __init__(self, path: str | Path, target: Any = None, *, mode: str = "strict") -> None:
        super().__init__()
        self.transport = ReplayTransport(path, mode=mode)
        self.header = self.transport.header
        self._model: Any = None
        if target is not None:
            self._attach(target, self.transport)

    @property
    def model(self) -> Any:
        """A model like the recorded one (its name and base URL) whose requests are replayed."""
        if self._model is None:
            from agentloop.providers.registry import resolve_model

            name = self.header.get("model") or "local:replayed"
            base_url = self.header.get("base_url") or "http://replay.invalid/v1"
            self._model = resolve_model(
                name, base_url=base_url, api_key=REPLAY_KEY, max_retries=2, env={}
            )
            self._attach(self._model, self.transport)
        return self._model

    def attach(self, target: Any) -> Any:
        """Replay the requests of ``target`` (an agent, model or client) too; returns it."""
        self._attach(target, self.transport)
        return target

    def check_finished(self) -> None:
        """Strict mode: raise :class:`ReplayMismatch` if recorded requests were not sent."""
        self.transport.check_finished()

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self.detach()
        if exc_type is None:
            self.check_finished()


def record(path: str | Path, target: Any, *, secrets: tuple[str, ...] = ()) -> Recording:
    """Record every HTTP exchange of ``target`` (an agent, a model or a ChatClient) to ``path``.

    Use it as a context manager (or call ``.close()``); the cassette is complete when it ends.

    Raises:
        ConfigurationError: ``target`` sends no HTTP requests, or ``path`` cannot be written.
    """
    return Recording(path, target, secrets=secrets)


def replay(path: str | Path, target: Any = None, *, mode: str = "strict") -> Replay:
    """Serve the cassette at ``path`` back to ``target``, or to ``.model``, with no network.

    Strict mode (the default) fails a request that differs from the recording with
    :class:`~agentloop.tracing.cassette.ReplayMismatch` and its diff, and, when the ``with``
    block ends, a run that sent fewer requests than were recorded. ``mode="lenient"`` gives the
    n-th request the n-th response.

    Raises:
        CassetteError: The file is not a cassette.
        ConfigurationError: ``target`` sends no HTTP requests, or the mode is unknown.
    """
    return Replay(path, target, mode=mode)
