"""``python -m agentloop``: the same as the ``agentloop`` command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
