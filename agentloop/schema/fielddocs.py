"""Descriptions of classes and their fields, from docstrings (internal; used by
:mod:`agentloop.schema.classes`).

A field's description comes from the class docstring's ``Attributes:`` section
or, winning over it, from an attribute docstring: a string literal right under
the field in the class body, as pydantic reads them. Attribute docstrings are
read from the module's source, which is parsed once per module (not once per
class, as ``inspect.getsource`` does on Python 3.11/3.12).
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import linecache
import sys
import weakref

import docstring_parser

from agentloop.schema.callables import parse_docstring

__all__ = ["class_description", "field_docs"]

_SKIPPED_MODULES = ("builtins", "typing", "typing_extensions", "enum")
_FIELD_DOCS: weakref.WeakKeyDictionary[type, dict[str, str]] = weakref.WeakKeyDictionary()


def class_description(cls: type) -> str | None:
    """The summary and body of the docstring written in ``cls`` itself, or None."""
    parsed = _class_doc(cls)
    if parsed is None:
        return None
    parts = [p for p in (parsed.short_description, parsed.long_description) if p]
    return "\n\n".join(parts) or None


def field_docs(cls: type) -> dict[str, str]:
    """``{field: description}`` from ``cls`` and its bases (base classes first)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass.__module__ not in _SKIPPED_MODULES:
            docs.update(_own_field_docs(klass))
    return docs


def _class_doc(cls: type) -> docstring_parser.Docstring | None:
    """The parsed docstring written in ``cls`` itself (not dataclass's generated one)."""
    doc = cls.__dict__.get("__doc__")
    if not doc or not isinstance(doc, str) or doc.startswith(f"{cls.__name__}("):
        return None
    try:
        return parse_docstring(inspect.cleandoc(doc))
    except docstring_parser.ParseError:
        return None


def _own_field_docs(cls: type) -> dict[str, str]:
    """The field descriptions written in ``cls`` itself; read once per class."""
    cached = _FIELD_DOCS.get(cls)
    if cached is None:
        parsed = _class_doc(cls)
        cached = (
            {p.arg_name: p.description for p in parsed.params if p.description} if parsed else {}
        )
        cached.update(_attribute_docstrings(cls))
        _FIELD_DOCS[cls] = cached
    return cached


def _attribute_docstrings(cls: type) -> dict[str, str]:
    module = sys.modules.get(cls.__module__)
    try:
        filename = inspect.getsourcefile(cls)
    except (TypeError, OSError):  # built-in or generated: no source
        return {}
    if not filename:
        return {}
    source = "".join(linecache.getlines(filename, vars(module) if module else None))
    return _module_attribute_docstrings(source).get(cls.__qualname__, {})


@functools.lru_cache(maxsize=32)
def _module_attribute_docstrings(source: str) -> dict[str, dict[str, str]]:
    """``{class qualname: {field: docstring}}`` for every class in a module's source."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return {}
    found: dict[str, dict[str, str]] = {}
    _walk(tree.body, "", found)
    return found


def _walk(body: list[ast.stmt], prefix: str, found: dict[str, dict[str, str]]) -> None:
    for stmt in body:
        if isinstance(stmt, ast.ClassDef):
            qualname = prefix + stmt.name
            found.setdefault(qualname, _docstrings_under_fields(stmt.body))
            _walk(stmt.body, qualname + ".", found)
        elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _walk(stmt.body, f"{prefix}{stmt.name}.<locals>.", found)


def _docstrings_under_fields(body: list[ast.stmt]) -> dict[str, str]:
    """``{field: text}`` for each ``name: type`` (or ``name = ...``) followed by a string."""
    docs: dict[str, str] = {}
    for stmt, after in itertools.pairwise(body):
        target: ast.expr | None = stmt.target if isinstance(stmt, ast.AnnAssign) else None
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
        literal = after.value if isinstance(after, ast.Expr) else None
        if (
            isinstance(target, ast.Name)
            and isinstance(literal, ast.Constant)
            and isinstance(literal.value, str)
        ):
            docs[target.id] = inspect.cleandoc(literal.value)
    return docs
