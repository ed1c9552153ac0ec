"""What ``--trace``, ``--record`` and ``--replay`` add to a CLI run (nothing when not asked for).

* ``--trace FILE``: a :class:`~agentloop.tracing.TraceRecorder` writing the versioned JSONL trace
  (docs/seeing-runs.md) through :class:`~agentloop.tracing.jsonl.JsonlTrace`;
* ``--record FILE``: the run's HTTP exchanges written to a cassette;
* ``--replay FILE`` (``--replay-mode strict|lenient``): the run's HTTP answered from a cassette,
  with no network; an agent whose model sends no HTTP (unset or offline, and no ``--model``)
  gets the recorded model back.

This module imports only the standard library at load time.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["Observers", "add_run_options"]


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--record``, ``--replay`` and ``--replay-mode`` to the ``run`` parser."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--record", metavar="FILE", help="write every HTTP exchange of the run to a cassette"
    )
    group.add_argument(
        "--replay", metavar="FILE", help="answer the run's HTTP requests from a cassette"
    )
    parser.add_argument(
        "--replay-mode",
        choices=("strict", "lenient"),
        default="strict",
        help="strict: a request that differs from the recording fails with a diff (default); "
        "lenient: the n-th request gets the n-th recorded response",
    )


class Observers:
    """The trace, recording and replay of one CLI session (each only when asked for).

    Args:
        args: The parsed arguments (``trace``, and for ``run`` ``record``/``replay``).
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.trace: Any = None
        self.tape: Any = None
        self._recorded_model = False

    def model_override(self, model: Any, agent: Any) -> Any:
        """The model to use: under ``--replay`` the recorded one when the run's sends no HTTP."""
        if not getattr(self.args, "replay", None):
            return model
        from agentloop.tracing.tape import Replay

        chosen = model if model is not None else getattr(agent, "model", None)
        self.tape = Replay(self.args.replay, mode=self.args.replay_mode)
        if _talks_http(chosen):
            return model
        self._recorded_model = True
        return self.tape.model

    def attach(self, agent: Any) -> None:
        """Register the trace recorder and put the recording or replay on the agent's client."""
        if getattr(self.args, "trace", None):
            from agentloop.tracing import TraceRecorder
            from agentloop.tracing.jsonl import JsonlTrace

            self.trace = JsonlTrace(self.args.trace)
            agent.plugin_manager.register(TraceRecorder(self.trace), "agentloop-cli-trace")
        if getattr(self.args, "record", None):
            from agentloop.tracing.tape import Recording

            self.tape = Recording(self.args.record, agent)
        elif self.tape is not None and not self._recorded_model:
            self.tape.attach(agent)

    def finish(self, ok: bool) -> None:
        """Close the files; after a successful strict replay, check every request was sent."""
        tape, self.tape = self.tape, None
        if self.trace is not None:
            self.trace.close()
        if tape is None:
            return
        if hasattr(tape, "check_finished"):
            tape.detach()
            if ok:
                tape.check_finished()
        else:
            tape.close()


def _talks_http(model: Any) -> bool:
    client = getattr(model, "client", None)
    return hasattr(client, "transport") and hasattr(client, "base_url")
