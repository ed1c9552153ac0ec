"""What a callable says about itself: the function behind it, its docstring, its parameter
names and whether it is async (internal; used by :func:`agentloop.schema.function_schema`).

Functions, bound methods, ``functools.partial`` objects, classes and callable
instances are all accepted; each helper reads the one place that object keeps
the information.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import re
from collections.abc import Callable
from typing import Any

import docstring_parser
import docstring_parser.epydoc
import docstring_parser.google
import docstring_parser.numpydoc
import docstring_parser.rest

from agentloop.errors import ToolDefinitionError

__all__ = [
    "annotation_target",
    "check_documented",
    "doc_description",
    "is_async",
    "parse_docstring",
    "read_doc",
]


def annotation_target(fn: Callable[..., Any]) -> Any:
    """Return the function whose annotations, name and globals describe ``fn``."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    fn = inspect.unwrap(fn)
    if inspect.ismethod(fn):
        return fn.__func__
    if inspect.isfunction(fn) or inspect.isbuiltin(fn):
        return fn
    if isinstance(fn, type):
        return fn.__init__  # type: ignore[misc]
    return type(fn).__call__ if callable(fn) else fn


def read_doc(fn: Any, target: Any, owner: str) -> docstring_parser.Docstring:
    """Return the parsed docstring of ``fn`` (``target``: its :func:`annotation_target`).

    Raises:
        ToolDefinitionError: The docstring cannot be parsed.
    """
    try:
        return parse_docstring(_docstring(fn, target) or "")  # getdoc() cleans it
    except docstring_parser.ParseError as exc:
        raise ToolDefinitionError(f"{owner}: cannot parse its docstring: {exc}") from exc


_Style = docstring_parser.DocstringStyle
_GOOGLE_TITLES = "|".join(s.title for s in docstring_parser.google.DEFAULT_SECTIONS)
_GOOGLE_SECTION = re.compile(f"(?:{_GOOGLE_TITLES}):[ \t]*")
_MARKERS = {
    _Style.GOOGLE: re.compile(rf"^[ \t]*(?:{_GOOGLE_TITLES}):[ \t]*$", re.M),
    _Style.NUMPYDOC: re.compile(r"^[ \t]*-{3,}[ \t]*$", re.M),  # a section title's underline
    _Style.REST: re.compile(r"^[ \t]*:[a-z]+(?:[ \t][^:]*)?:", re.M),
    _Style.EPYDOC: re.compile(r"^[ \t]*@[a-z]+\b", re.M),
}


def parse_docstring(text: str) -> docstring_parser.Docstring:
    """Parse a cleaned docstring in whichever style it is written.

    The style is read from its section markers, so one parser runs instead of the
    four that ``docstring_parser``'s automatic mode tries (the slowest part of
    ``@tool``). The choice is the one the automatic mode makes: reST for text with
    no markers (every parser finds no sections; reST comes first), the marked style
    otherwise. Markers of several styles, or a parse error in the marked style,
    get the automatic mode.

    Raises:
        docstring_parser.ParseError: The docstring is malformed.
    """
    if _GOOGLE_SECTION.fullmatch(text.partition("\n")[0]):
        return _PARSERS[_Style.GOOGLE](_google_without_summary(text))
    styles = [style for style, marker in _MARKERS.items() if marker.search(text)]
    if len(styles) > 1:
        return docstring_parser.parse(text)
    try:
        return _PARSERS[styles[0] if styles else _Style.REST](text)
    except docstring_parser.ParseError:
        return docstring_parser.parse(text)


# One parser object per style, made once (docstring_parser.parse builds a new one per call).
_PARSERS: dict[Any, Callable[[str], docstring_parser.Docstring]] = {
    _Style.GOOGLE: docstring_parser.google.GoogleParser().parse,
    _Style.NUMPYDOC: docstring_parser.numpydoc.NumpydocParser().parse,
    _Style.REST: docstring_parser.rest.parse,
    _Style.EPYDOC: docstring_parser.epydoc.parse,
}


def _google_without_summary(text: str) -> str:
    """Make a docstring that opens with a Google section (``\"\"\"Args:``) parseable as Google.

    The automatic style choice would fall back to reST and keep "Args:" as the
    description. The Google parser needs a summary line (here: an empty one) and
    the section's entries indented under its title, which ``cleandoc`` undoes when
    the title sits on the line of the opening quotes.
    """
    title, *lines = text.split("\n")
    end = next((i for i, line in enumerate(lines) if _GOOGLE_SECTION.fullmatch(line)), len(lines))
    block = lines[:end]
    if any(line and not line[0].isspace() for line in block):
        block = [f"    {line}" if line else line for line in block]
    return "\n".join(["", title, *block, *lines[end:]])


def _docstring(fn: Any, target: Any) -> str | None:
    if inspect.isfunction(fn) or inspect.ismethod(fn):
        return inspect.getdoc(fn)
    if isinstance(fn, functools.partial):
        return inspect.getdoc(target)
    return inspect.getdoc(type(fn)) or inspect.getdoc(target)


def doc_description(doc: docstring_parser.Docstring) -> str:
    """Return the docstring's short and long description, a blank line apart."""
    parts = [p.strip() for p in (doc.short_description, doc.long_description) if p]
    return "\n\n".join(parts)


def check_documented(
    doc: docstring_parser.Docstring, signature: inspect.Signature, target: Any, owner: str
) -> None:
    """Reject a docstring that documents a parameter the callable does not have.

    Raises:
        ToolDefinitionError: Naming the parameter and the ones that exist.
    """
    names = set(signature.parameters)
    documented = [p.arg_name.lstrip("*") for p in doc.params if not p.args or p.args[0] == "param"]
    if not set(documented) <= names:  # the target may have more (a partial's bound ones, self)
        with contextlib.suppress(TypeError, ValueError):
            names.update(inspect.signature(target).parameters)
    for arg in documented:
        if arg not in names:
            raise ToolDefinitionError(
                f"{owner}: the docstring documents a parameter {arg!r} that the function does "
                f"not have (parameters: {', '.join(sorted(names)) or 'none'}); fix or remove that "
                "entry"
            )


def is_async(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` returns an awaitable (``async def``, or an async ``__call__``)."""
    if inspect.iscoroutinefunction(fn):
        return True
    if inspect.isfunction(fn) or inspect.ismethod(fn) or not callable(fn):
        return False
    return inspect.iscoroutinefunction(type(fn).__call__)
