"""``python -m agentloop``: the same as the ``agentloop`` command."""

from __future__ import annotations

from agentloop.cli.entry import main

if __name__ == "__main__":
    raise SystemExit(main())
