"""The version of agentloop (kept in step with ``pyproject.toml``; a test checks it)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
