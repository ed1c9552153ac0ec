"""A worker process for the durable-run tests, and helpers to drive it.

``python durable_support.py run|resume STORE BASE_URL EFFECTS [RUN_ID] [DECISIONS_JSON]`` runs
an agent whose model is the test's :class:`fakeserver.FakeServer` and whose tools write one
line to EFFECTS per effect (the side effects the tests count). ``KILL_AT`` in the environment
makes the worker SIGKILL itself at one point of a tool call:

* ``before_started``: in ``agentloop_before_tool_call`` (before the ledger's ``started``);
* ``in_tool``: inside the tool, after its effect, before it returns;
* ``after_result``: in ``agentloop_after_tool_call`` (the ledger's ``completed`` is in).

(The fourth point, during the next model call, is the test's server killing the worker.)
The worker prints its RunResult as one JSON line (and exits 3 on an agentloop error, printing
``ERROR <type>: <message>``).
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()

KILL_AT = os.environ.get("KILL_AT", "")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def build_agent(store: str, base_url: str, effects: str, **kwargs: Any) -> Any:
    """The agent under test: ``charge`` (not idempotent), ``put`` (idempotent), ``refund``."""
    from agentloop import Agent, ChatClient, ChatModel, hookimpl, tool

    def effect(text: str) -> None:
        with open(effects, "a", encoding="utf-8") as f:
            f.write(text + "\n")
            f.flush()
            os.fsync(f.fileno())

    @tool
    def charge(amount: int) -> str:
        """Charge the card.

        Args:
            amount: How much.
        """
        effect(f"charge {amount}")
        if KILL_AT == "in_tool":
            _die()
        return f"charged {amount}"

    @tool(idempotent=True)
    def put(key: str, value: str) -> str:
        """Store a value under a key (again: the same value).

        Args:
            key: The key.
            value: The value.
        """
        effect(f"put {key}={value}")
        if KILL_AT == "in_tool":
            _die()
        return f"stored {key}"

    @tool(requires_approval=True)
    def refund(amount: int) -> str:
        """Refund money.

        Args:
            amount: How much.
        """
        effect(f"refund {amount}")
        return f"refunded {amount}"

    class Killer:
        @hookimpl(tryfirst=True)
        def agentloop_before_tool_call(self) -> None:
            if KILL_AT == "before_started":
                _die()

        @hookimpl
        def agentloop_after_tool_call(self) -> None:
            if KILL_AT == "after_result":
                _die()

    model = ChatModel(ChatClient(base_url=base_url, api_key="sk-test", max_retries=0), "fake")
    return Agent(
        model,
        tools=[charge, put, refund],
        plugins=[Killer()],
        load_plugins=False,
        store=store,
        **kwargs,
    )


def main(argv: list[str]) -> int:
    from agentloop.errors import AgentloopError

    mode, store, base_url, effects = argv[:4]
    defer = os.environ.get("DEFER") == "1"
    agent = build_agent(store, base_url, effects, approval="defer" if defer else None)
    try:
        if mode == "run":
            result = agent.run("do the thing")
        else:
            from agentloop.durable import Deny, Edit

            raw = json.loads(argv[5]) if len(argv) > 5 else {}
            decisions: dict[str, Any] = {}
            for key, value in raw.items():
                if isinstance(value, dict) and "deny" in value:
                    decisions[key] = Deny(value["deny"])
                elif isinstance(value, dict) and "edit" in value:
                    decisions[key] = Edit(value["edit"])
                else:
                    decisions[key] = value
            result = agent.resume(argv[4], decisions, force=os.environ.get("FORCE") == "1")
    except AgentloopError as exc:
        print(f"ERROR {type(exc).__name__}: {exc}", flush=True)
        return 3
    print(json.dumps(result.to_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parent.parent))
    sys.exit(main(sys.argv[1:]))
