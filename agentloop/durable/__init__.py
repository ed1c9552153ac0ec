"""Runs that survive: the tool-effect ledger, resume after a crash, approvals that wait.

* :class:`Ledger`: the plugin that records ``started`` before each tool call and
  ``completed``/``failed`` after it, in the run's store (registered by ``Agent(store=...)``
  and by the CLI's run log);
* :func:`prepare_resume` / :func:`resume_events`: what ``Agent.resume`` and
  ``agentloop resume`` run;
* :class:`Deny`, :class:`Edit`, :data:`Decision`: what a person decides about a waiting call;
  :class:`PendingCall`: such a call, as ``agentloop logs --pending`` lists it.

See ``docs/durable-runs.md`` for what is exactly-once and what is not.
"""

from __future__ import annotations

from agentloop.durable.decisions import Decision, Deny, Edit, PendingCall
from agentloop.durable.ledger import Ledger
from agentloop.durable.resume import (
    PreparedResume,
    find_ledger,
    pending_calls,
    prepare_resume,
    resume_events,
)

__all__ = [
    "Decision",
    "Deny",
    "Edit",
    "Ledger",
    "PendingCall",
    "PreparedResume",
    "find_ledger",
    "pending_calls",
    "prepare_resume",
    "resume_events",
]
