"""The Ray engine: the same batch, its items run by actors on a Ray cluster.

The driver (this process) reads the input, skips what the output already
has, writes every result as it streams back and prints the progress, exactly
as with the local engine. On the cluster:

* one :class:`_Worker` actor per CPU slot (at most ``workers``) builds the agent
  once by calling the picklable ``make_agent`` it was given, then runs up to
  ``ceil(workers / actors)`` items at once on its own threads, each through
  :func:`agentloop.batch.local.run_item`, the local engine's item runner;
* one :class:`_Limiter` actor holds the batch's :class:`RateLimiter`, so
  ``rpm``/``tpm`` are global to the cluster: every model request on every
  node asks it first, then sleeps on its own node.

``ray`` is imported only here, and only when the engine starts.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Callable, Iterator
from typing import Any

from agentloop.batch.items import BatchItem, ItemResult
from agentloop.errors import EngineError

__all__ = ["RayEngine", "import_ray"]

INSTALL_HINT = "the Ray engine needs Ray: pip install -e '.[ray]'"


def import_ray() -> Any:
    """Import ``ray``, or raise :class:`EngineError` naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise EngineError(INSTALL_HINT) from None
    return ray


class RayEngine:
    """Run items on Ray actors; :meth:`results` yields them as they finish.

    Args:
        make_agent: A picklable function returning the agent (called on each actor).
        items: The items to run.
        workers: Items running at once across the cluster.
        retries: Per-item retry budget for transient API errors.
        rpm: Cluster-wide requests per minute (None: no limit).
        tpm: Cluster-wide tokens per minute (None: no limit).
        address: The cluster (``"auto"``, ``"ray://head:10001"``); None starts
            a local Ray instance (or uses the one this process already has).

    Raises:
        EngineError: Ray is not installed, or the cluster cannot be reached.
    """

    def __init__(
        self,
        make_agent: Callable[[], Any],
        items: list[BatchItem],
        *,
        workers: int = 4,
        retries: int = 2,
        rpm: float | None = None,
        tpm: float | None = None,
        address: str | None = None,
    ) -> None:
        self._ray = ray = import_ray()
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            _connect(ray, address)
        self._items = items
        self._workers = workers
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        count = max(1, min(workers, cpus, len(items) or 1))
        per_actor = math.ceil(workers / count)
        limiter = None
        if rpm or tpm:
            limiter = ray.remote(num_cpus=0)(_Limiter).remote(rpm, tpm)
        worker_cls = ray.remote(
            num_cpus=min(1.0, cpus / count),
            max_concurrency=per_actor + 1,  # +1: a stop() call gets through while items run
        )(_Worker)
        self._actors = [worker_cls.remote(make_agent, retries, limiter) for _ in range(count)]
        self._limiter = limiter
        self._pending: dict[Any, BatchItem] = {}
        self._stopping = False

    @property
    def running(self) -> int:
        """Items submitted and not back yet."""
        return len(self._pending)

    def results(self) -> Iterator[ItemResult]:
        """Submit items (at most ``workers`` in flight) and yield results as they arrive."""
        ray = self._ray
        queue = iter(self._items)
        turn = 0
        while True:
            while not self._stopping and len(self._pending) < self._workers:
                item = next(queue, None)
                if item is None:
                    break
                actor = self._actors[turn % len(self._actors)]
                turn += 1
                self._pending[actor.run.remote(_item_dict(item))] = item
            if not self._pending:
                return
            ready, _ = ray.wait(list(self._pending), num_returns=1)
            for ref in ready:
                item = self._pending.pop(ref)
                result = self._result(ref, item)
                if result is not None:
                    yield result

    def stop(self) -> list[ItemResult]:
        """Start no new item, cancel the running ones, collect what finished meanwhile."""
        self._stopping = True
        ray = self._ray
        for actor in self._actors:
            actor.stop.remote()
        left = []
        if self._pending:
            ready, _ = ray.wait(list(self._pending), num_returns=len(self._pending), timeout=30)
            for ref in ready:
                result = self._result(ref, self._pending.pop(ref))
                if result is not None:
                    left.append(result)
        return left

    def close(self) -> None:
        """Release the actors (and the local Ray instance this engine started)."""
        ray = self._ray
        for actor in [*self._actors, *([self._limiter] if self._limiter is not None else [])]:
            try:
                ray.kill(actor)
            except Exception:  # noqa: S112 - an actor that is gone is released
                continue
        self._actors = []
        if self._owns_ray:
            ray.shutdown()

    def _result(self, ref: Any, item: BatchItem) -> ItemResult | None:
        try:
            data = self._ray.get(ref)
        except Exception as exc:  # the actor died (node lost, out of memory): the item failed
            return ItemResult(
                id=item.id,
                index=item.index,
                stop_reason="error",
                error={"type": type(exc).__name__, "message": str(exc)[:2000]},
            )
        if data is None:  # cancelled by stop(): runs again on resume
            return None
        return ItemResult.from_dict(data, index=item.index)


def _connect(ray: Any, address: str | None) -> None:
    """Join the cluster at ``address``, or start a local instance without a dashboard."""
    where = f"at {address!r}" if address else "(local)"
    try:
        if address:
            _probe(address)
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(include_dashboard=False, log_to_driver=False)
    except Exception as exc:
        raise EngineError(
            f"cannot reach the Ray cluster {where}: {type(exc).__name__}: {str(exc)[:300]}; "
            "start one with `ray start --head`, check --address, or leave --address out "
            "for a local Ray instance"
        ) from None


def _probe(address: str, timeout: float = 5.0) -> None:
    """Fail fast when ``host:port`` does not accept connections (Ray itself waits minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto", "local" and the like: Ray answers those quickly itself
    with socket.create_connection((host, int(port)), timeout=timeout):
        pass


def _item_dict(item: BatchItem) -> dict[str, Any]:
    return {"id": item.id, "prompt": item.prompt, "history": item.history, "deps": item.deps}


class _Limiter:
    """Ray actor holding the batch's one :class:`RateLimiter`."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        from agentloop.batch.limiter import RateLimiter

        self._limiter = RateLimiter(rpm=rpm, tpm=tpm)

    def reserve(self) -> float:
        return self._limiter.reserve()

    def charge(self, tokens: int) -> None:
        self._limiter.charge(tokens)

    def counts(self) -> dict[str, int]:
        return {"requests": self._limiter.requests, "tokens": self._limiter.tokens}


class _Worker:
    """Ray actor: builds the agent once, then runs items with the local item runner."""

    def __init__(self, make_agent: Callable[[], Any], retries: int, limiter: Any) -> None:
        from agentloop.batch.limiter import RemoteLimiter
        from agentloop.batch.scope import CancelScope

        self._agent = make_agent()
        self._retries = retries
        self._scope = CancelScope("the batch was stopped")
        self._limiter = None
        if limiter is not None:
            import ray

            self._limiter = RemoteLimiter(
                lambda: ray.get(limiter.reserve.remote()),
                lambda tokens: ray.get(limiter.charge.remote(tokens)),
            )

    def run(self, data: dict[str, Any]) -> dict[str, Any] | None:
        from agentloop.batch.local import run_item
        from agentloop.errors import RunCancelled

        item = BatchItem(
            id=data["id"], prompt=data["prompt"], history=data["history"], deps=data["deps"]
        )
        try:
            result = run_item(
                self._agent, item, scope=self._scope, limiter=self._limiter, retries=self._retries
            )
        except RunCancelled:
            return None
        return result.to_dict()

    def stop(self) -> None:
        self._scope.cancel()
