"""Checks a schema must pass before agentloop validates anything with it (internal; used by
:mod:`agentloop.schema.validate`).

Schemas come from outside: an MCP server's ``inputSchema``, a hand-written
``Tool(parameters=...)``, a pydantic model's ``model_json_schema()``. Validation
with one must never reach the network and must end in bounded time, so a schema is
refused at definition (the message names the place and the fix) when it has:

- a ``$ref`` that does not resolve inside the schema itself (agentloop never
  fetches one: a server could make the user's machine request any URL);
- a ``$ref`` loop that consumes no part of the value (``{"$ref": "#"}``, two
  ``$defs`` that refer to each other through ``allOf``...): validation would
  recurse forever;
- a ``pattern`` (or ``patternProperties`` key) that can backtrack exponentially in
  Python's ``re``: a repeat inside a repeat (``(a+)+``, ``(\\w+\\s?)*``) or a repeated
  alternation (``(a|ab)*``), unless each round starts or ends with a character the
  inner repeat cannot match (``(-[a-z0-9]+)*``, ``(\\w+\\.)+`` are linear). ``re``
  holds the GIL, so a timeout around it could not stop it; refusing is the only
  bound. Polynomial patterns (``\\d+\\d+``) are accepted: the arguments are bounded.
"""

from __future__ import annotations

import functools
import re
import re._constants as sre  # noqa: PLC2701 - the parsed form of a pattern, stdlib since 3.11
import re._parser as sre_parse  # noqa: PLC2701
from collections.abc import Iterator
from typing import Any

import referencing
import referencing.exceptions
import referencing.jsonschema
from jsonschema_specifications import REGISTRY as SPECIFICATIONS

__all__ = ["REGISTRY", "schema_problem"]


def _refuse(uri: str) -> referencing.Resource[Any]:
    """The registry's retrieve: no schema is ever fetched (nor read from a file)."""
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg]


REGISTRY: referencing.Registry[Any] = referencing.Registry(retrieve=_refuse)  # type: ignore[call-arg]
"""The registry every validator uses: a remote ``$ref`` is unresolvable, never fetched."""

_KNOWN = REGISTRY.combine(SPECIFICATIONS)  # what validators see: the bundled meta-schemas too
_BASE = "urn:agentloop:schema"
_ONE = ("additionalProperties", "items", "contains", "propertyNames", "unevaluatedItems")
_ONE_MORE = ("unevaluatedProperties", "additionalItems", "not", "if", "then", "else")
_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_KINDS = {
    **dict.fromkeys((*_ONE, *_ONE_MORE), "one"),
    **dict.fromkeys(_LISTS, "list"),
    **dict.fromkeys(_MAPS, "map"),
}
# Keywords that apply their subschemas to the same value: a cycle through these never ends.
_IN_PLACE = frozenset({"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas"})
MAX_NODES = 100_000
"""Subschemas checked at most; a larger schema is refused (its check would be the cost)."""


def schema_problem(schema: Any) -> str | None:
    """Return why ``schema`` cannot be used safely (naming the place and the fix), or None."""
    edges: dict[int, list[int]] = {}
    places: dict[int, str] = {}
    pending: list[tuple[Any, str, Any]] = [(schema, "$", None)]
    refs = _Refs(schema)
    while pending:
        node, path, resolver = pending.pop()
        if not isinstance(node, dict) or id(node) in places:
            continue
        places[id(node)] = path
        if len(places) > MAX_NODES:
            return f"the schema has more than {MAX_NODES} subschemas; simplify it"
        out = edges.setdefault(id(node), [])
        if "$ref" in node or "$dynamicRef" in node or "$id" in node:
            resolver = refs.resolver(node, resolver)
            for key in ("$ref", "$dynamicRef"):
                ref = node.get(key)
                if not isinstance(ref, str):
                    continue
                try:
                    target = resolver.lookup(ref)
                except referencing.exceptions.Unresolvable:
                    return (
                        f"the {key} {ref!r} at {path} does not point inside the schema; "
                        "agentloop never fetches schemas (over the network or from files): put "
                        "the referenced schema in $defs and refer to it as #/$defs/<name>"
                    )
                if refs.owns(target.contents):  # not the bundled meta-schemas
                    out.append(id(target.contents))
                    pending.append((target.contents, f"{path}.{key}", target.resolver))
        for key, child, where in _children(node, path):
            if key in _IN_PLACE and isinstance(child, dict):
                out.append(id(child))
            pending.append((child, where, resolver))
        if "pattern" in node or "patternProperties" in node:
            problem = _pattern_problems(node, path)
            if problem:
                return problem
    loop = _cycle(edges)
    if loop is not None:
        return (
            f"the schema refers to itself without consuming any part of the value ($ref loop "
            f"through {' -> '.join(places.get(n, '?') for n in loop)}); validation would never "
            "end: break the loop"
        )
    return None


class _Refs:
    """``$ref`` resolution for one schema, set up at the first ``$ref`` (most have none)."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._root: Any = None
        self._own: set[int] | None = None

    def resolver(self, node: dict[str, Any], current: Any) -> Any:
        if current is None:
            if self._root is None:
                resource = referencing.jsonschema.DRAFT202012.create_resource(self.schema)
                registry = _KNOWN.with_resource(_BASE, resource)
                self._root = registry.resolver(base_uri=_BASE)
            current = self._root
        if isinstance(node.get("$id"), str):
            resource = referencing.jsonschema.DRAFT202012.create_resource(node)
            current = current.in_subresource(resource)
        return current

    def owns(self, value: Any) -> bool:
        if self._own is None:
            self._own = {id(node) for node, _ in _containers(self.schema)}
        return id(value) in self._own


def _containers(value: Any) -> Iterator[tuple[Any, None]]:
    """Every dict and list of a JSON value (iteratively: a schema may be deep)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item, None
            stack.extend(item.values())
        elif isinstance(item, list):
            yield item, None
            stack.extend(item)


def _children(node: dict[str, Any], path: str) -> Iterator[tuple[str, Any, str]]:
    for key, value in node.items():
        kind = _KINDS.get(key)
        if kind is None:
            continue
        if kind == "one":
            yield key, value, f"{path}.{key}"
        elif kind == "list" and isinstance(value, list):
            for i, child in enumerate(value):
                yield key, child, f"{path}.{key}[{i}]"
        elif kind == "map" and isinstance(value, dict):
            for name, child in value.items():
                yield key, child, f"{path}.{key}.{name}"


def _cycle(edges: dict[int, list[int]]) -> list[int] | None:
    """A cycle of the in-place graph, as its nodes, or None (iterative DFS)."""
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    for start in edges:
        if start in state:
            continue
        path, stack = [start], [iter(edges.get(start, ()))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(edges.get(nxt, ())))
    return None


def _pattern_problems(node: dict[str, Any], path: str) -> str | None:
    patterns = (
        [(node["pattern"], f"{path}.pattern")] if isinstance(node.get("pattern"), str) else []
    )
    if isinstance(node.get("patternProperties"), dict):
        patterns += [(p, f"{path}.patternProperties") for p in node["patternProperties"]]
    for pattern, where in patterns:
        if _is_explosive(pattern):
            return (
                f"the pattern {pattern!r} at {where} can take exponential time to match (a "
                "repeated group that itself repeats or branches, like (a+)+ or (a|ab)*); "
                "rewrite it so each repetition starts or ends with a character the inner part "
                "cannot match, e.g. ([a-z]+-)* or (-[a-z]+)*"
            )
    return None


@functools.lru_cache(maxsize=1024)
def _is_explosive(pattern: str) -> bool:
    try:
        parsed = sre_parse.parse(pattern)
    except (re.error, OverflowError, RecursionError):
        return False  # the meta-schema check reports an invalid regex
    return _explosive(list(parsed))


_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_SINGLE = (sre.LITERAL, sre.NOT_LITERAL, sre.IN, sre.ANY, sre.CATEGORY)


def _explosive(items: list[Any]) -> bool:
    """Whether a parsed pattern has a repeat whose rounds can split the text many ways."""
    for op, av in items:
        if op in _REPEATS:
            _low, high, body = av
            if high > 1 and _ambiguous(_unwrap(list(body))):
                return True
            if _explosive(list(body)):
                return True
        else:
            if any(_explosive(sub) for sub in _subpatterns(op, av)):
                return True
    return False


def _subpatterns(op: Any, av: Any) -> list[list[Any]]:
    if op is sre.SUBPATTERN:
        return [list(av[3])]
    if op is sre.BRANCH:
        return [list(b) for b in av[1]]
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [list(av[1])]
    if op is sre.ATOMIC_GROUP:
        return [list(av)]
    if op is sre.GROUPREF_EXISTS:
        return [list(b) for b in av[1:] if b is not None]
    return []


def _unwrap(items: list[Any]) -> list[Any]:
    while len(items) == 1 and items[0][0] is sre.SUBPATTERN:
        items = list(items[0][1][3])
    return items


def _variable(items: list[Any]) -> bool:
    """Whether a sequence contains a choice: a repeat of varying count, or an alternation."""
    for op, av in items:
        if op in _REPEATS and (av[0] != av[1] or _variable(list(av[2]))):
            return True
        if op is sre.BRANCH or any(_variable(sub) for sub in _subpatterns(op, av)):
            return True
    return False


def _ambiguous(body: list[Any]) -> bool:
    """Whether the body of a repeat can match one text in several ways per round.

    Safe: no choice at all, or exactly one repeat of a single character class with a
    fixed single character that the class cannot match at the start or the end.
    """
    if not _variable(body):
        return False
    if len(body) == 1 and body[0][0] is sre.BRANCH:  # (foo|bar)*: the first char picks one
        branches = [list(b) for b in body[0][1][1]]
        firsts = [b[0][1] for b in branches if b and b[0][0] is sre.LITERAL]
        fixed = not any(_variable(b) for b in branches)
        return not (fixed and len(firsts) == len(branches) == len(set(firsts)))
    inner = [(op, av) for op, av in body if op in _REPEATS]
    if len(inner) != 1 or any(op not in _SINGLE and op not in _REPEATS for op, _ in body):
        return True
    repeated = list(inner[0][1][2])
    if len(repeated) != 1 or repeated[0][0] not in _SINGLE:
        return True
    edges = [body[0], body[-1]]
    return not any(
        op in _SINGLE and op not in _REPEATS and _disjoint((op, av), repeated[0])
        for op, av in edges
    )


_CATEGORY_RE = {
    sre.CATEGORY_DIGIT: re.compile(r"\d"),
    sre.CATEGORY_NOT_DIGIT: re.compile(r"\D"),
    sre.CATEGORY_WORD: re.compile(r"\w"),
    sre.CATEGORY_NOT_WORD: re.compile(r"\W"),
    sre.CATEGORY_SPACE: re.compile(r"\s"),
    sre.CATEGORY_NOT_SPACE: re.compile(r"\S"),
}


def _chars(item: tuple[Any, Any]) -> list[str] | None:
    """The characters a fixed single-character item matches, when few; else None."""
    op, av = item
    if op is sre.LITERAL:
        return [chr(av)]
    if op is sre.IN and all(o in (sre.LITERAL, sre.RANGE) for o, _ in av):
        out = []
        for o, v in av:
            low, high = (v, v) if o is sre.LITERAL else v
            if high - low > 256:
                return None
            out += [chr(c) for c in range(low, high + 1)]
        return out
    return None


def _matches(item: tuple[Any, Any], char: str) -> bool:
    """Whether a single-character item matches ``char`` (conservatively True if unsure)."""
    op, av = item
    if op is sre.LITERAL:
        return ord(char) == av
    if op is sre.NOT_LITERAL:
        return ord(char) != av
    if op is sre.ANY:
        return char != "\n"
    if op is sre.CATEGORY:
        found = _CATEGORY_RE.get(av)
        return found is None or bool(found.match(char))
    if op is sre.IN:
        negate = bool(av) and av[0][0] is sre.NEGATE
        hit = any(
            v[0] <= ord(char) <= v[1] if o is sre.RANGE else _matches((o, v), char)
            for o, v in av[negate:]
        )
        return hit != negate
    return True


def _disjoint(edge: tuple[Any, Any], repeated: tuple[Any, Any]) -> bool:
    chars = _chars(edge)
    return chars is not None and not any(_matches(repeated, c) for c in chars)
