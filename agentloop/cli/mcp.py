"""``agentloop mcp serve`` and the ``--mcp`` servers of ``run``/``chat``/``tools``.

MCP support lives in the ``agentloop-mcp`` distribution (it brings the
``mcp`` SDK); this module only parses arguments and calls it, and says how
to install it when it is missing. It imports only the standard library at
load time.

::

    agentloop mcp serve -T calculate -T read_file      # stdio, for an MCP client
    agentloop mcp serve agent.py --http --port 8765    # streamable HTTP on 127.0.0.1
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

__all__ = ["add_parser", "add_plugins", "collect_tools", "mcp_servers", "serve_command"]

INSTALL_HINT = "MCP support needs the agentloop-mcp plugin: pip install -e ./plugins/agentloop-mcp"


def add_parser(sub: Any, shared: Any) -> None:
    """Add ``agentloop mcp serve``, and ``--mcp`` to ``run``, ``chat`` and ``tools``."""
    _add_mcp_option(sub)
    mcp = sub.add_parser("mcp", help="serve agentloop tools over MCP")
    commands = mcp.add_subparsers(dest="mcp_command", metavar="COMMAND")
    commands.required = True
    serve = commands.add_parser(
        "serve",
        parents=[shared.common],
        help="expose agentloop tools to MCP clients (stdio, or --http)",
        description="Expose tools to any MCP client. Each call runs through the agent loop: "
        "the same argument validation, approval hooks, timeouts and result limits as in a run. "
        "Tools that require approval are denied unless named with --approve.",
    )
    serve.add_argument(
        "target", metavar="TARGET", nargs="?", help="file.py or module:name whose tools to serve"
    )  # with -T NAME: tools offered by installed plugins (see `agentloop tools`)
    from agentloop.cli.agents import add_agent_options  # -T, --tool-option, --block

    add_agent_options(serve, system=False)
    serve.add_argument(
        "--approve", action="append", default=[], metavar="NAME",
        help="allow calls of this approval-requiring tool ('*' for all)",
    )  # fmt: skip
    serve.add_argument("--http", action="store_true", help="serve streamable HTTP, not stdio")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000; 0 = any)")
    serve.add_argument("--path", default="/mcp", help="HTTP endpoint path (default /mcp)")
    serve.set_defaults(handler="agentloop.cli.mcp:serve_command")


def _add_mcp_option(sub: Any) -> None:
    """``--mcp SERVER`` on the commands that run or list an agent's tools (TARGET optional)."""
    for command in ("run", "chat", "tools"):
        parser = sub.choices.get(command)
        if parser is None:
            continue
        parser.add_argument(
            "--mcp", action="append", default=[], metavar="SERVER",
            help="use the tools of this MCP server: a command line ('python server.py') or an "
            "http(s) URL (repeatable; [mcp.servers.NAME] in agentloop.toml adds more)",
        )  # fmt: skip


def add_plugins(agent: Any, plugins: Sequence[object]) -> None:
    """Register plugins on an already built agent as if it had been given them.

    An agent offers tools only from the plugins it was given (not from
    installed ones), so they are marked as chosen too.
    """
    pm = agent.plugin_manager
    for plugin in plugins:
        pm.register(plugin)
        chosen = getattr(pm, "chosen", None)
        if chosen is not None:
            chosen.add(id(plugin))


def _plugin() -> Any:
    """The ``agentloop_mcp`` module, or a one-line ConfigurationError saying how to install it."""
    from agentloop.errors import ConfigurationError

    try:
        import agentloop_mcp
    except ImportError as exc:
        raise ConfigurationError(f"{INSTALL_HINT} ({exc})") from None
    return agentloop_mcp


def mcp_servers(specs: Sequence[str] | None) -> list[Any]:
    """The MCP server plugins of ``--mcp`` values (none: the plugin is not even imported).

    Each is ``required``: when it cannot start, the command fails with one line.

    Servers of ``[mcp.servers.NAME]`` in the config file are not added here: the
    plugin offers them by name in the tool registry (``-T NAME``, ``tools = [...]``).

    Raises:
        ConfigurationError: A bad ``--mcp`` value, or the plugin is missing.
    """
    if not specs:
        return []
    servers = list(_plugin().servers_from_specs(specs))
    for server in servers:
        # named on the command line: a server that cannot start fails the command (exit 1);
        # a configured one ([mcp.servers.NAME]) only warns and the run goes on without it
        server.required = True
    return servers


def collect_tools(agent: Any) -> dict[str, Any]:
    """The agent's tools; a ``--mcp`` server that cannot start fails with its own one line.

    The plugin manager wraps a hook's error as "plugin ... failed in agentloop_tools"; for an
    MCP server the server's error already names it and the fix, so it is raised as it is.
    """
    from agentloop.config import name_config_file
    from agentloop.errors import AgentloopError, ConfigurationError, PluginError
    from agentloop.plugins.manager import collect_tools as collect

    try:
        return collect(agent)
    except ConfigurationError as exc:  # a name from agentloop.toml's tools: say so
        raise name_config_file(exc) from None
    except PluginError as exc:
        cause = exc.__cause__
        if isinstance(cause, AgentloopError) and type(cause).__module__.startswith("agentloop_mcp"):
            raise cause from None
        raise


def serve_command(args: argparse.Namespace) -> int:
    """``agentloop mcp serve``: serve tools until the client disconnects or Ctrl-C."""
    from agentloop.cli.agents import build_agent
    from agentloop.errors import ConfigurationError
    from agentloop.plugins.manager import collect_tools

    plugin = _plugin()
    if args.target is None and not args.tools:
        raise ConfigurationError(
            "name the tools to serve (-T NAME) or a TARGET file whose tools to serve"
        )
    agent = build_agent(args)
    add_plugins(agent, [_approver(args.approve)])
    tools = collect_tools(agent)  # what a run of this agent offers: TARGET's and -T's
    if not tools:
        raise ConfigurationError(f"{args.target} has no tools to serve")
    if args.http and args.host not in ("127.0.0.1", "localhost", "::1"):
        import sys

        sys.stderr.write(
            f"agentloop: warning: serving tools on {args.host}, reachable from other machines\n"
        )
    try:
        plugin.serve(agent, tools, http=args.http, host=args.host, port=args.port, path=args.path)
    finally:
        agent.close()
    return 0


def _approver(names: Sequence[str]) -> object:
    """Plugin: allow the approval-requiring tools named with ``--approve`` (``*``: all)."""
    from agentloop.hookspecs import hookimpl

    allowed = frozenset(names)

    class Approve:
        @hookimpl
        def agentloop_approve_tool_call(self, call: Any) -> bool | None:
            return True if "*" in allowed or call.name in allowed else None

    return Approve()
