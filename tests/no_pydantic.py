"""Make pydantic (and pydantic_core) unimportable in this process, for the "without pydantic"
runs of test_without_pydantic.py: ``import no_pydantic`` before anything else."""

from __future__ import annotations

import importlib.abc
import sys
from typing import Any

BLOCKED = ("pydantic", "pydantic_core")


class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname.partition(".")[0] in BLOCKED:
            raise ImportError(f"{fullname} is blocked for this test run")
        return None


for _name in [m for m in sys.modules if m.partition(".")[0] in BLOCKED]:
    del sys.modules[_name]
sys.meta_path.insert(0, _Blocker())
