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
import warnings
from collections.abc import Callable
from typing import Any

import docstring_parser
import docstring_parser.epydoc
import docstring_parser.google
import docstring_parser.numpydoc
import docstring_parser.rest

from agentloop.errors import AgentloopWarning, ToolDefinitionError

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

    Warns:
        AgentloopWarning: The docstring has a parameter section whose entries could not
            be read (the model then gets no parameter descriptions).

    Raises:
        ToolDefinitionError: The docstring cannot be parsed.
    """
    text = _docstring(fn, target) or ""  # getdoc() cleans it
    try:
        doc = parse_docstring(text)
    except docstring_parser.ParseError as exc:
        raise ToolDefinitionError(f"{owner}: cannot parse its docstring: {exc}") from exc
    if text and not any(p.args and p.args[0] == "param" for p in doc.params):
        _warn_unread_params(text, doc, owner)
    return doc


# A section that documents parameters, in any style: its entries should become params.
_PARAM_SECTION = re.compile(
    r"^[ \t]*(?:(?:Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other "
    r"Parameters):[ \t]*$|Parameters[ \t]*\n[ \t]*-{3,}[ \t]*$|:param\b|@param\b)",
    re.M,
)


def _warn_unread_params(text: str, doc: docstring_parser.Docstring, owner: str) -> None:
    found = _PARAM_SECTION.search(text)
    if found is None:
        return
    title = found.group().strip().partition("\n")[0]
    warnings.warn(
        AgentloopWarning(
            f"{owner}: the docstring's {title!r} section documents parameters that agentloop "
            "could not read, so the model gets no parameter descriptions (the section stays in "
            "the tool's description); write each entry as `name: description` (Google style, "
            "on its own line under the section title)"
        ),
        stacklevel=4,
    )


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
    if _MARKERS[_Style.GOOGLE].search(text):
        text = _indent_sections(text)
    if _GOOGLE_SECTION.fullmatch(text.partition("\n")[0]):
        # the parser needs a summary line (here: an empty one); the automatic style choice
        # would fall back to reST and keep "Args:" as the description
        return _PARSERS[_Style.GOOGLE]("\n" + text)
    styles = [style for style, marker in _MARKERS.items() if marker.search(text)]
    if len(styles) > 1:
        return docstring_parser.parse(text)
    try:
        return _PARSERS[styles[0] if styles else _Style.REST](text)
    except docstring_parser.ParseError:
        return docstring_parser.parse(text)


class _GoogleParser(docstring_parser.google.GoogleParser):
    """Google style, splitting an entry at the colon after its balanced ``(type)``.

    docstring-parser splits at the first colon, so ``image (Literal['a:1']): The image.``
    would document a parameter named ``image (Literal['a``.
    """

    def _build_meta(self, text: str, title: str) -> Any:
        split = _type_end(text)
        if split is None:
            return super()._build_meta(text, title)
        # Let the parser split at a colon-free stand-in, then put the real type back.
        head = text[:split]
        meta = super()._build_meta("_" * len(head) + text[split:], title)
        name, _, kind = head.partition("(")
        kind = kind.strip().removesuffix(")").strip()
        meta.args = [meta.args[0], head.strip()]
        if hasattr(meta, "arg_name"):
            meta.arg_name = name.strip()
        if hasattr(meta, "type_name"):
            optional = kind.endswith(", optional")
            meta.type_name = kind.removesuffix(", optional") if kind else None
            if hasattr(meta, "is_optional"):
                meta.is_optional = optional
        return meta


_QUOTES = "'\""


def _type_end(text: str) -> int | None:
    """Where ``name (type)`` ends when its type holds a colon, else None (the usual split)."""
    first = text.find(":")
    opened = text.find("(")
    if opened < 0 or first < opened or not _ENTRY_NAME.match(text[:opened]):
        return None
    depth, quote = 0, ""
    for i in range(opened, len(text)):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in _QUOTES:
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                rest = text[i + 1 :]
                colon_inside = first < i
                return i + 1 if colon_inside and rest.lstrip(" \t").startswith(":") else None
    return None


_ENTRY_NAME = re.compile(r"[ \t]*\*{0,2}[A-Za-z_][A-Za-z0-9_]*[ \t]*$")

# One parser object per style, made once (docstring_parser.parse builds a new one per call).
_PARSERS: dict[Any, Callable[[str], docstring_parser.Docstring]] = {
    _Style.GOOGLE: _GoogleParser().parse,
    _Style.NUMPYDOC: docstring_parser.numpydoc.NumpydocParser().parse,
    _Style.REST: docstring_parser.rest.parse,
    _Style.EPYDOC: docstring_parser.epydoc.parse,
}


_ENTRY = re.compile(r"\*{0,2}[A-Za-z_][A-Za-z0-9_]*[ \t]*(?:\(.*\))?[ \t]*:")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _indent_sections(text: str) -> str:
    """Indent the entries of Google sections written at their title's indent.

    ``Args:`` followed by ``x: The x.`` at the same indent is a common layout (and
    what ``cleandoc`` makes of a docstring opening with ``\"\"\"Args:``), but the
    Google parser reads entries only when they sit deeper than the title. A section
    ends at the next title, at a line less indented than its title, or at a paragraph
    (after a blank line) that does not start like an entry.
    """
    lines = text.split("\n")
    inside: int | None = None  # the indent of the section being re-indented
    blank = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            blank = True
            continue
        if _GOOGLE_SECTION.fullmatch(stripped):
            following = next((n for n in lines[i + 1 :] if n.strip()), "")
            flat = bool(following) and _indent(following) <= _indent(line)
            title = _GOOGLE_SECTION.fullmatch(following.strip())
            inside = _indent(line) if flat and not title else None
        elif inside is not None:
            depth = _indent(line)
            if depth < inside or (blank and depth == inside and not _ENTRY.match(stripped)):
                inside = None
            else:
                lines[i] = "    " + line
        blank = False
    return "\n".join(lines)


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
