"""What a person (or a program) decides about a call that waits: approve, deny, edit, rerun.

A decision is ``True`` (run it), ``False`` (deny it), :class:`Deny` (deny it, with the reason
the model reads) or :class:`Edit` (run it with other arguments). The same decisions answer a
call awaiting approval and a call whose outcome a crash left unknown (``True`` reruns it;
``False`` or :class:`Deny` tells the model it was not rerun).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

__all__ = ["Decision", "Deny", "Edit", "PendingCall", "decision_to_json"]


@dataclass(frozen=True, slots=True)  # positional on purpose: Deny("reason")
class Deny:
    """Do not run the call; the model reads ``reason``.

    Attributes:
        reason: Why, for the model (``"denied: <reason>"``).
    """

    reason: str = "the user did not approve this call"


@dataclass(frozen=True, slots=True)  # positional on purpose: Edit({...})
class Edit:
    """Run the call with these arguments instead of the model's (validated like the model's).

    Attributes:
        arguments: The arguments, a JSON object.
    """

    arguments: Mapping[str, Any] = field(default_factory=dict)


Decision = Union[bool, Deny, Edit]  # noqa: UP007 - a runtime alias, read by isinstance checks


@dataclass(frozen=True, kw_only=True, slots=True)
class PendingCall:
    """A call of a stored run that has no result: it awaits approval, or a crash hid its outcome.

    Attributes:
        run_id: The run it belongs to (the last of its lineage).
        call_id: The call's id (the key of ``decisions``).
        name: The tool called.
        arguments: The model's arguments, as JSON text.
        state: ``deferred`` (awaiting approval), ``unknown`` (started, never finished) or
            ``not_started`` (the process stopped before the call began).
    """

    run_id: str
    call_id: str
    name: str
    arguments: str
    state: str

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``agentloop logs --pending --json``)."""
        return {
            "run_id": self.run_id,
            "call_id": self.call_id,
            "name": self.name,
            "arguments": self.arguments,
            "state": self.state,
        }


def decision_to_json(decision: Decision) -> Any:
    """A decision as plain JSON, for the record of who decided what."""
    if isinstance(decision, Deny):
        return {"deny": decision.reason}
    if isinstance(decision, Edit):
        return {"edit": json.loads(json.dumps(dict(decision.arguments), default=str))}
    return bool(decision)
