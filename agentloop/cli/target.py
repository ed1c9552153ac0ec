"""Load the agent a CLI TARGET names: ``path/to/file.py``, ``file.py:name``, ``module:name``.

A file is imported as a module named after it (never ``__main__``, so its
``if __name__ == "__main__":`` block does not run), with its directory put
first on ``sys.path`` so it can import its neighbours. In the module the
agent is, in order: the attribute ``agent`` when it is an
:class:`~agentloop.Agent`; the only Agent instance; of several agents with handoffs, the
one that hands off and that none hands off to (the team's entry); else an Agent built from
every :class:`~agentloop.Tool` in the module, with the module's
``INSTRUCTIONS`` (or its docstring) as instructions. ``TARGET:name`` picks
an attribute: an Agent, a Tool, a list of Tools, or a function returning one
of these.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from agentloop.errors import ConfigurationError

__all__ = ["TargetError", "TargetImportError", "load_target", "split_target"]


class TargetError(ConfigurationError):
    """The TARGET does not exist or defines no agent (a usage error, exit code 2)."""


class TargetImportError(TargetError):
    """Importing the TARGET's code raised an exception (exit code 1)."""


def load_target(target: str) -> Any:
    """Return the Agent a TARGET names (building one from tools if needed).

    Args:
        target: ``file.py``, ``file.py:name``, ``package.module`` or ``package.module:name``.

    Returns:
        An :class:`~agentloop.Agent`.

    Raises:
        TargetError: The file or module does not exist, or it has no agent or tools.
        TargetImportError: The target's own code raised while importing.
    """
    where, _, attr = split_target(target)
    module = _import(where)
    if attr:
        obj: Any = module
        for part in attr.split("."):
            if not hasattr(obj, part):
                raise TargetError(f"{where} has no attribute {part!r} (TARGET {target!r})")
            obj = getattr(obj, part)
        return _to_agent(obj, target, module)
    return _find_agent(module, target)


def split_target(target: str) -> tuple[str, str, str]:
    """``"file.py:name"`` as ``("file.py", ":", "name")``; no ``:name``: ``(target, "", "")``."""
    # "C:\\x.py" on Windows and "file.py" without ":name" both mean: no attribute
    match = re.fullmatch(r"(.+?):([A-Za-z_][\w.]*)", target)
    if match and not re.fullmatch(r"[A-Za-z]", match.group(1)):
        return match.group(1), ":", match.group(2)
    return target, "", ""


def _import(where: str) -> ModuleType:
    path = Path(where)
    if where.endswith(".py") or path.is_file():
        if not path.is_file():
            raise TargetError(f"no such file: {where}")
        return _import_file(path)
    if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", where):
        raise TargetError(
            f"TARGET {where!r} is neither a .py file nor a module name; "
            "use path/to/agent.py or package.module[:name]"
        )
    if str(Path.cwd()) not in sys.path and "" not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(where)
    except ModuleNotFoundError as exc:
        if exc.name and where.startswith(exc.name):
            raise TargetError(f"no module named {exc.name!r} (TARGET {where!r})") from exc
        raise TargetImportError(f"importing {where} failed: {_describe(exc)}") from exc
    except ConfigurationError as exc:
        raise TargetError(f"{where}: {exc}") from exc
    except Exception as exc:
        raise TargetImportError(f"importing {where} failed: {_describe(exc)}") from exc


def _import_file(path: Path) -> ModuleType:
    path = path.resolve()
    name = "agentloop_target_" + re.sub(r"\W", "_", path.stem)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    try:
        spec.loader.exec_module(module)
    except ConfigurationError as exc:
        sys.modules.pop(name, None)
        raise TargetError(f"{path.name}: {exc}") from exc
    except Exception as exc:
        sys.modules.pop(name, None)
        raise TargetImportError(f"importing {path.name} failed: {_describe(exc)}") from exc
    return module


def _find_agent(module: ModuleType, target: str) -> Any:
    from agentloop.agent import Agent
    from agentloop.tools import Tool

    namespace = vars(module)
    if isinstance(namespace.get("agent"), Agent):
        return namespace["agent"]
    agents = {k: v for k, v in namespace.items() if isinstance(v, Agent) and not k.startswith("_")}
    unique = list({id(a): a for a in agents.values()}.values())
    if len(unique) == 1:
        return unique[0]
    root = _handoff_root(unique) if len(unique) > 1 else None
    if root is not None:
        return root
    if len(unique) > 1:
        names = ", ".join(sorted(agents))
        raise TargetError(f"{target} defines several agents ({names}); pick one: {target}:NAME")
    tools = [v for k, v in namespace.items() if isinstance(v, Tool) and not k.startswith("_")]
    if not tools:
        raise TargetError(
            f"{target} defines no Agent and no @tool functions; define `agent = Agent(...)` "
            "or some @tool functions"
        )
    return Agent(tools=tools, instructions=_instructions(module))


def _handoff_root(agents: list[Any]) -> Any:
    """Of several agents, the one entry of a team: it hands off, and nobody hands off to it."""
    targets = {id(h.agent) for a in agents for h in getattr(a, "handoffs", ())}
    roots = [a for a in agents if getattr(a, "handoffs", ()) and id(a) not in targets]
    return roots[0] if len(roots) == 1 else None


def _to_agent(obj: Any, target: str, module: ModuleType) -> Any:
    from agentloop.agent import Agent
    from agentloop.tools import Tool

    if isinstance(obj, Agent):
        return obj
    if isinstance(obj, Tool):
        return Agent(tools=[obj], instructions=_instructions(module))
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(t, Tool) for t in obj):
        return Agent(tools=list(obj), instructions=_instructions(module))
    if isinstance(obj, ModuleType):
        return _find_agent(obj, target)
    if callable(obj):
        try:
            made = obj()
        except Exception as exc:
            raise TargetImportError(f"calling {target}() failed: {_describe(exc)}") from exc
        if isinstance(made, (Agent, Tool, list, tuple)):
            return _to_agent(made, target, module)
        raise TargetError(f"{target}() returned a {type(made).__name__}, not an Agent")
    raise TargetError(
        f"{target} is a {type(obj).__name__}, not an Agent, a Tool or a list of Tools"
    )


def _instructions(module: ModuleType) -> str | None:
    text = getattr(module, "INSTRUCTIONS", None) or module.__doc__
    return text.strip() if isinstance(text, str) and text.strip() else None


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
