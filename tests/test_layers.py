"""Imports run one way: every subpackage and top-level module against the layers it may import.

Type-only imports (under ``TYPE_CHECKING``) and imports inside functions count as much as
module-level ones: a cycle through a type annotation is still a cycle a reader must untangle.
"""

from __future__ import annotations

import layers
import pytest

DATA = {
    "errors",
    "messages",
    "deltas",
    "context",
    "result",
    "events",
    "protocols",
    "version",
    "userdirs",
    "tokens",
    "secrets",
    "jsondata",
    "runspec",
    "pricing",
}
# unit (a top-level module or a subpackage of agentloop) -> the units it may import
LAYERS: dict[str, set[str]] = {
    "version": set(),
    "userdirs": set(),
    # the one redaction rule: every writer and every error message uses it
    "secrets": set(),
    "tokens": set(),
    # copying wire data, and the lenient conversion to plain JSON values
    "jsondata": set(),
    "messages": set(),
    # prices, the cost of a usage, the cost budget (max_cost)
    "pricing": {"errors", "messages"},
    "deltas": {"messages"},
    "result": {"messages", "jsondata"},
    # a RunError carries the partial RunResult (a type-only import)
    "errors": {"result", "messages", "secrets"},
    "protocols": {"messages", "deltas"},
    # the run seam: the frozen RunSpec and RunLimits every driver of runs takes
    "runspec": {"errors", "protocols", "tools", "pricing"},
    "context": {"messages", "errors"},
    "events": {"messages", "deltas", "result", "errors"},
    "schema": {"errors", "context", "messages"},
    "tools": {"schema", "errors", "context", "messages"},
    "hookspecs": {
        "context",
        "messages",
        "tools",
        "errors",
        "events",
        "result",
        "protocols",
        "teams",
    },
    # handoffs and guardrails: their configuration and outcomes (the loop applies them)
    "teams": {"errors", "tools", "context", "messages"},
    "wire": {"errors", "messages", "deltas", "secrets"},
    "streaming": {"wire", "errors", "messages", "deltas"},
    "client": {
        "wire",
        "streaming",
        "errors",
        "messages",
        "deltas",
        "version",
        "protocols",
        "secrets",
    },
    # the offline model validates requests (and `serve` clients' schemas) with schema
    "offline": {"wire", "streaming", "messages", "deltas", "errors", "protocols", "schema"},
    "providers": {
        "client",
        "offline",
        "wire",
        "streaming",
        "messages",
        "deltas",
        "errors",
        "protocols",
        "userdirs",
        "secrets",
    },
    # agentloop probe: its own bounded HTTP, failures' diagnoses, the providers' profile type
    "probe": {
        "client",
        "providers",
        "wire",
        "streaming",
        "messages",
        "deltas",
        "errors",
        "protocols",
        "userdirs",
    },
    "server": {"wire", "streaming", "messages", "deltas", "errors", "protocols"},
    # testing.replay hands over to tracing.tape
    "testing": {"wire", "streaming", "messages", "deltas", "errors", "protocols", "tracing"},
    "plugins": {
        *DATA,
        "hookspecs",
        "tools",
    },
    "loop": {*DATA, "hookspecs", "tools", "schema", "plugins", "teams"},
    # what Agent(...) accepts, checked before any run (and the deprecated old name)
    "agent_options": {*DATA, "tools", "providers"},
    "arguments": {"agent_options", "runspec"},
    # images and files sent with a prompt (content parts), checked before any request
    "attachments": {"errors", "messages"},
    "agent": {
        *DATA,
        "attachments",
        "agent_options",
        "hookspecs",
        "tools",
        "loop",
        "plugins",
        "providers",
        "sessions",
        "batch",
        "aio",
        "logs",  # Agent(store=...): the run log is a recorder plugin
        "teams",  # Agent(handoffs=..., guardrails=...)
        "config",  # the price of the agent's model ([prices] in agentloop.toml)
        "durable",  # Agent(store=...): the tool-effect ledger; Agent.resume
    },
    # arun/astream: a run driven on a worker thread under a CancelScope (batch.scope)
    "aio": {*DATA, "batch"},
    # many runs (async, batch, Ray): drivers of Agent.run that never import the agent
    "batch": {*DATA, "aio"},  # only the deprecated batch.aio shim imports aio
    # agentloop eval: datasets, evaluators, chaos; runs cases on batch, reads runs from logs
    "evals": {
        *DATA,
        "batch",
        "hookspecs",
        "logs",
        "tracing",
        "providers",
        "streaming",
        "testing",
        "schema",
    },
    "config": {"errors", "providers", "secrets", "postgres", "pricing"},
    # SQLite files (run log, sessions): open, migrate, one-line errors
    "storage": {"errors", "secrets", "postgres"},
    # the PostgreSQL backend of the store (psycopg imported only when a URL is opened)
    "postgres": {"errors", "secrets"},
    # sessions and the context window (a built-in plugin, registered by the agent)
    "sessions": {*DATA, "hookspecs", "storage", "postgres"},
    # runs that survive: the tool-effect ledger (a plugin), resume (a spec on stored messages)
    "durable": {*DATA, "hookspecs", "storage", "loop", "plugins", "tools"},
    # the run log: a sink of the trace recorder
    "logs": {*DATA, "hookspecs", "storage", "tracing"},
    # cassette/tape: replay rebuilds the recorded model (providers) on a ChatClient (client)
    "tracing": {*DATA, "hookspecs", "providers", "client"},
}
# The top: the CLI may use everything; the package root re-exports everything but the CLI.
TOP = {"cli", "__main__", "agentloop"}
EDGES = layers.graph()


def unit(module: str) -> str:
    """``agentloop.client.sse`` -> ``client``; the package itself is ``agentloop``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "agentloop"


def test_every_module_belongs_to_a_known_layer() -> None:
    unknown = sorted(m for m in EDGES if unit(m) not in LAYERS and unit(m) not in TOP)
    assert not unknown, f"add these to LAYERS in tests/test_layers.py: {unknown}"


@pytest.mark.parametrize("module", sorted(m for m in EDGES if unit(m) in LAYERS))
def test_module_imports_only_lower_layers(module: str) -> None:
    own = unit(module)
    bad = sorted(d for d in EDGES[module] if unit(d) != own and unit(d) not in LAYERS[own])
    assert not bad, f"{module} ({own}) may not import {bad}; allowed: {sorted(LAYERS[own])}"


def test_nothing_below_the_top_imports_the_cli_or_the_package_root() -> None:
    for module, deps in EDGES.items():
        if unit(module) in TOP:
            continue
        assert not {unit(d) for d in deps} & TOP, f"{module} imports {sorted(deps)}"


def test_no_import_cycles() -> None:
    assert layers.cycles(EDGES) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert layers.cycles(edges) == [["a", "b", "c"]]


def test_the_graph_sees_type_only_and_function_level_imports(tmp_path: object) -> None:
    # errors.py names RunResult only under TYPE_CHECKING; the graph must still see it.
    assert "agentloop.result" in EDGES["agentloop.errors"]
    # cli/entry.py imports its subcommands inside functions.
    assert "agentloop.cli.run" in EDGES["agentloop.cli.entry"]
