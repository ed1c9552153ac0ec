"""``agentloop serve`` (``tools`` and ``plugins`` are in :mod:`agentloop.cli.catalog`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

__all__ = ["serve_command"]


def serve_command(args: argparse.Namespace) -> int:
    """Serve a model over the chat-completions API until Ctrl-C (which exits 0).

    A port that is already in use is a one-line error naming ``--port`` (exit 2),
    raised by :func:`agentloop.server.app.make_server`.
    """
    from agentloop.config import load_settings
    from agentloop.providers.registry import resolve_model

    settings = load_settings(
        {"model": args.model, "base_url": args.base_url}, os.environ, Path.cwd()
    )
    spec = settings.model or "offline"
    model = resolve_model(
        spec,
        base_url=settings.base_url,
        api_key=settings.api_key,
        timeout=settings.timeout,
        max_retries=settings.max_retries,
    )
    from agentloop.server.app import serve

    serve(
        model,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        model_name=args.model_name,
        accept_any_model=args.any_model,
    )
    return 0
