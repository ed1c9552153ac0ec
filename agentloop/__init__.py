"""agentloop: a small, fast, honest agent framework for OpenAI-compatible chat endpoints.

Every public name is importable from here. Names are loaded on first use, so
``import agentloop`` stays light: the HTTP stack and ``jsonschema`` are
imported only when the client or ``@tool`` is first touched.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data
    "ChatResponse": "messages",
    "Choice": "messages",
    "FinishEvent": "messages",
    "Message": "messages",
    "Model": "messages",
    "ModelProfile": "messages",
    "RefusalDelta": "messages",
    "TextDelta": "messages",
    "ToolCall": "messages",
    "ToolCallDelta": "messages",
    "ToolResult": "messages",
    "Usage": "messages",
    "UsageEvent": "messages",
    "RunContext": "context",
    # errors
    "APIConnectionError": "errors",
    "APIError": "errors",
    "APIStatusError": "errors",
    "APITimeoutError": "errors",
    "AbortRun": "errors",
    "AgentloopError": "errors",
    "AgentloopWarning": "errors",
    "AuthenticationError": "errors",
    "BadRequestError": "errors",
    "ConfigurationError": "errors",
    "InternalServerError": "errors",
    "LoopDetected": "errors",
    "MaxStepsExceeded": "errors",
    "NotFoundError": "errors",
    "OutputValidationError": "errors",
    "PermissionDeniedError": "errors",
    "PluginError": "errors",
    "RateLimitError": "errors",
    "RunAborted": "errors",
    "RunError": "errors",
    "StreamError": "errors",
    "TokenBudgetExceeded": "errors",
    "ToolArgumentError": "errors",
    "ToolDefinitionError": "errors",
    "ToolError": "errors",
    "ToolRetriesExceeded": "errors",
    # hooks
    "hookimpl": "hookspecs",
    "hookspec": "hookspecs",
    # tools
    "Tool": "tools",
    "tool": "tools",
    # client
    "ChatClient": "client",
    "ChatStream": "streaming",
    "OfflineModel": "offline",
    "ChatModel": "providers",
    "resolve_model": "providers",
    # agent and run events
    "Agent": "agent",
    "RunEvent": "events",
    "RunFinished": "events",
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


if TYPE_CHECKING:
    from .agent import Agent as Agent
    from .client import ChatClient as ChatClient
    from .context import RunContext as RunContext
    from .errors import *  # noqa: F403
    from .events import RunEvent as RunEvent
    from .events import RunFinished as RunFinished
    from .events import StepFinished as StepFinished
    from .events import ToolCallFinished as ToolCallFinished
    from .events import ToolCallStarted as ToolCallStarted
    from .hookspecs import hookimpl as hookimpl
    from .hookspecs import hookspec as hookspec
    from .messages import *  # noqa: F403
    from .offline import OfflineModel as OfflineModel
    from .providers import ChatModel as ChatModel
    from .providers import resolve_model as resolve_model
    from .result import RunResult as RunResult
    from .result import Step as Step
    from .streaming import ChatStream as ChatStream
    from .tools import Tool as Tool
    from .tools import tool as tool
