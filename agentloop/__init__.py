"""agentloop: a small, fast, honest agent framework for OpenAI-compatible chat endpoints.

Every public name is importable from here. Names are loaded on first use, so
``import agentloop`` stays light: the HTTP stack and ``jsonschema`` are
imported only when the client or ``@tool`` is first touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from agentloop.version import __version__ as __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data
    "ChatResponse": "messages",
    "Choice": "messages",
    "FinishEvent": "deltas",
    "Message": "messages",
    "Model": "protocols",
    "ModelProfile": "messages",
    "RefusalDelta": "deltas",
    "TextDelta": "deltas",
    "ToolCall": "messages",
    "ToolCallDelta": "deltas",
    "ToolResult": "messages",
    "Usage": "messages",
    "UsageEvent": "deltas",
    "RunContext": "context",
    "Price": "pricing",
    # errors
    "APIConnectionError": "errors",
    "TraceError": "errors",
    "ReplayMismatch": "errors",
    "CassetteError": "errors",
    "APIError": "errors",
    "APIStatusError": "errors",
    "APITimeoutError": "errors",
    "AbortRun": "errors",
    "AgentloopError": "errors",
    "AgentloopWarning": "errors",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "BatchInputError": "errors",
    "ConfigurationError": "errors",
    "ContextWindowExceeded": "errors",
    "ConversationNotFoundError": "errors",
    "CostBudgetExceeded": "errors",
    "InternalServerError": "errors",
    "LoopDetected": "errors",
    "MaxStepsExceeded": "errors",
    "NotFoundError": "errors",
    "OutputValidationError": "errors",
    "PermissionDeniedError": "errors",
    "EngineError": "errors",
    "PluginError": "errors",
    "RateLimitError": "errors",
    "RunAborted": "errors",
    "RunCancelled": "errors",
    "RunError": "errors",
    "SessionConflictError": "errors",
    "StorageError": "errors",
    "StreamError": "errors",
    "TokenBudgetExceeded": "errors",
    "ToolArgumentError": "errors",
    "ToolDefinitionError": "errors",
    "ToolError": "errors",
    "ToolRetriesExceeded": "errors",
    # hooks
    "read_config_table": "config",
    "hookimpl": "hookspecs",
    "hookspec": "hookspecs",
    # tools
    "Tool": "tools",
    "ToolOption": "plugins.toolsets",
    "Toolset": "plugins.toolsets",
    "tool": "tools",
    # client
    "ChatClient": "client.chat",
    "ChatStream": "streaming",
    "OfflineModel": "offline.model",
    "ChatModel": "providers.registry",
    "resolve_model": "providers.registry",
    # agent and run events
    "Agent": "agent",
    "Attachment": "attachments",
    "RunLimits": "runspec",
    "RunSpec": "runspec",
    "RunEvent": "events",
    "RunFinished": "events",
    # durable runs: resume, approvals that wait (docs/durable-runs.md)
    "AgentChangedError": "errors",
    "Deny": "durable",
    "Edit": "durable",
    "PendingCall": "durable",
    "ResumeConflict": "errors",
    "ResumeError": "errors",
    "RunNotResumable": "errors",
    "UnknownCallError": "errors",
    # teams: handoffs between agents, guardrails on a run
    "Allow": "teams",
    "Block": "teams",
    "Guardrail": "teams",
    "GuardrailBlocked": "errors",
    "GuardrailError": "errors",
    "Handoff": "teams",
    "HandoffLimitExceeded": "errors",
    "HandoffLoopDetected": "errors",
    "Replace": "teams",
    "Retry": "teams",
    "handoff": "teams",
    "input_guardrail": "teams",
    "output_guardrail": "teams",
    "tool_guardrail": "teams",
    # sessions (where a run's history comes from)
    "InMemorySession": "sessions",
    "PostgresSession": "sessions",
    "SQLiteSession": "sessions",
    "Session": "sessions",
    "RunResult": "result",
    "Step": "result",
    "StepFinished": "events",
    "ToolCallFinished": "events",
    "ToolCallStarted": "events",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agentloop' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"agentloop.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # exactly the names of _EXPORTS (tests/test_meta.py compares them)
    from agentloop.agent import Agent as Agent
    from agentloop.attachments import Attachment as Attachment
    from agentloop.client.chat import ChatClient as ChatClient
    from agentloop.config import read_config_table as read_config_table
    from agentloop.context import RunContext as RunContext
    from agentloop.deltas import FinishEvent as FinishEvent
    from agentloop.deltas import RefusalDelta as RefusalDelta
    from agentloop.deltas import TextDelta as TextDelta
    from agentloop.deltas import ToolCallDelta as ToolCallDelta
    from agentloop.deltas import UsageEvent as UsageEvent
    from agentloop.durable import Deny as Deny
    from agentloop.durable import Edit as Edit
    from agentloop.durable import PendingCall as PendingCall
    from agentloop.errors import AbortRun as AbortRun
    from agentloop.errors import AgentChangedError as AgentChangedError
    from agentloop.errors import AgentloopError as AgentloopError
    from agentloop.errors import AgentloopWarning as AgentloopWarning
    from agentloop.errors import APIConnectionError as APIConnectionError
    from agentloop.errors import APIError as APIError
    from agentloop.errors import APIStatusError as APIStatusError
    from agentloop.errors import APITimeoutError as APITimeoutError
    from agentloop.errors import AuthenticationError as AuthenticationError
    from agentloop.errors import BadRequestError as BadRequestError
    from agentloop.errors import BatchInputError as BatchInputError
    from agentloop.errors import CassetteError as CassetteError
    from agentloop.errors import ConfigurationError as ConfigurationError
    from agentloop.errors import ContextWindowExceeded as ContextWindowExceeded
    from agentloop.errors import ConversationNotFoundError as ConversationNotFoundError
    from agentloop.errors import CostBudgetExceeded as CostBudgetExceeded
    from agentloop.errors import EngineError as EngineError
    from agentloop.errors import GuardrailBlocked as GuardrailBlocked
    from agentloop.errors import GuardrailError as GuardrailError
    from agentloop.errors import HandoffLimitExceeded as HandoffLimitExceeded
    from agentloop.errors import HandoffLoopDetected as HandoffLoopDetected
    from agentloop.errors import InternalServerError as InternalServerError
    from agentloop.errors import LoopDetected as LoopDetected
    from agentloop.errors import MaxStepsExceeded as MaxStepsExceeded
    from agentloop.errors import NotFoundError as NotFoundError
    from agentloop.errors import OutputValidationError as OutputValidationError
    from agentloop.errors import PermissionDeniedError as PermissionDeniedError
    from agentloop.errors import PluginError as PluginError
    from agentloop.errors import RateLimitError as RateLimitError
    from agentloop.errors import ReplayMismatch as ReplayMismatch
    from agentloop.errors import ResumeConflict as ResumeConflict
    from agentloop.errors import ResumeError as ResumeError
    from agentloop.errors import RunAborted as RunAborted
    from agentloop.errors import RunCancelled as RunCancelled
    from agentloop.errors import RunError as RunError
    from agentloop.errors import RunNotResumable as RunNotResumable
    from agentloop.errors import SessionConflictError as SessionConflictError
    from agentloop.errors import StorageError as StorageError
    from agentloop.errors import StreamError as StreamError
    from agentloop.errors import TokenBudgetExceeded as TokenBudgetExceeded
    from agentloop.errors import ToolArgumentError as ToolArgumentError
    from agentloop.errors import ToolDefinitionError as ToolDefinitionError
    from agentloop.errors import ToolError as ToolError
    from agentloop.errors import ToolRetriesExceeded as ToolRetriesExceeded
    from agentloop.errors import TraceError as TraceError
    from agentloop.errors import UnknownCallError as UnknownCallError
    from agentloop.events import RunEvent as RunEvent
    from agentloop.events import RunFinished as RunFinished
    from agentloop.events import StepFinished as StepFinished
    from agentloop.events import ToolCallFinished as ToolCallFinished
    from agentloop.events import ToolCallStarted as ToolCallStarted
    from agentloop.hookspecs import hookimpl as hookimpl
    from agentloop.hookspecs import hookspec as hookspec
    from agentloop.messages import ChatResponse as ChatResponse
    from agentloop.messages import Choice as Choice
    from agentloop.messages import Message as Message
    from agentloop.messages import ModelProfile as ModelProfile
    from agentloop.messages import ToolCall as ToolCall
    from agentloop.messages import ToolResult as ToolResult
    from agentloop.messages import Usage as Usage
    from agentloop.offline.model import OfflineModel as OfflineModel
    from agentloop.plugins.toolsets import ToolOption as ToolOption
    from agentloop.plugins.toolsets import Toolset as Toolset
    from agentloop.pricing import Price as Price
    from agentloop.protocols import Model as Model
    from agentloop.providers.registry import ChatModel as ChatModel
    from agentloop.providers.registry import resolve_model as resolve_model
    from agentloop.result import RunResult as RunResult
    from agentloop.result import Step as Step
    from agentloop.runspec import RunLimits as RunLimits
    from agentloop.runspec import RunSpec as RunSpec
    from agentloop.sessions import InMemorySession as InMemorySession
    from agentloop.sessions import PostgresSession as PostgresSession
    from agentloop.sessions import Session as Session
    from agentloop.sessions import SQLiteSession as SQLiteSession
    from agentloop.streaming import ChatStream as ChatStream
    from agentloop.teams import Allow as Allow
    from agentloop.teams import Block as Block
    from agentloop.teams import Guardrail as Guardrail
    from agentloop.teams import Handoff as Handoff
    from agentloop.teams import Replace as Replace
    from agentloop.teams import Retry as Retry
    from agentloop.teams import handoff as handoff
    from agentloop.teams import input_guardrail as input_guardrail
    from agentloop.teams import output_guardrail as output_guardrail
    from agentloop.teams import tool_guardrail as tool_guardrail
    from agentloop.tools import Tool as Tool
    from agentloop.tools import tool as tool
