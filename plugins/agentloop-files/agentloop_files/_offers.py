"""What the installed distribution offers by name: the ``files`` toolset.

``Agent(tools=["files"], tool_options={"files": {"root": "./src"}})`` or
``agentloop run -T files --tool-option files.root=./src`` gives the agent
``list_files``, ``read_file`` and ``search_files`` confined to ``root`` (the
current directory when not given); ``allow_write=true`` adds ``write_file``,
which then needs approval for every call unless ``approve_writes=false``.
One tool alone is chosen by its name (``-T read_file``).
"""

from __future__ import annotations

from typing import Any

from agentloop import Tool, ToolOption, Toolset, hookimpl


def build(**options: Any) -> list[Tool]:
    """Build the file tools with these settings."""
    from . import FilesPlugin

    root = options.pop("root", ".")
    return list(FilesPlugin(root, **options).tools)


FILES = Toolset(
    name="files",
    description="List, read and search files in one folder (write with allow_write).",
    build=build,
    options={
        "root": ToolOption(type=str, help="the folder the tools may use", default="."),
        "allow_write": ToolOption(type=bool, help="also offer write_file", default=False),
        "approve_writes": ToolOption(
            type=bool, help="write_file asks for approval on every call", default=True
        ),
        "max_read_bytes": ToolOption(type=int, help="most bytes read_file returns"),
        "max_write_bytes": ToolOption(type=int, help="largest content write_file accepts"),
        "max_entries": ToolOption(type=int, help="most entries list_files returns"),
        "max_results": ToolOption(type=int, help="most matches search_files returns"),
    },
    tools=("list_files", "read_file", "search_files", "write_file"),
)


@hookimpl
def agentloop_register_tools() -> list[Any]:
    """Offer the ``files`` toolset by name."""
    return [FILES]
