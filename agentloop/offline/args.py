"""JSON values for a JSON Schema, filled from a message: the offline model's argument maker.

:func:`fill` walks a schema (``type``, ``enum``, ``const``, ``anyOf``/``oneOf``/
``allOf``, ``$ref``/``$defs``, ``prefixItems``, ``format``, nested objects and
arrays), takes values from the text where it can and from the schema (defaults,
a valid example) where it cannot, and checks the result with ``jsonschema``
so that what it returns always validates when the schema can be satisfied.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentloop.offline.cues import claim_numbers, enum_hits, labelled_word, pick_enum
from agentloop.offline.schemas import example, is_valid, merge_all, resolve, type_of, with_defs
from agentloop.offline.text import TextValues, in_vocabulary, matches, strip_filler, words

__all__ = ["Filled", "fill"]

# How a value was found: from a specific kind of value in the text, from the free
# text, or from the schema alone.
STRONG, WEAK, SCHEMA = 2, 1, 0

_EXPRESSION_HINTS = ("expression", "formula", "equation", "math", "calcul", "arithmet")
_NAME_HINTS = (
    "name", "city", "location", "place", "country", "person", "town", "region",
    "destination", "origin", "author", "company", "user", "who", "state", "first", "last",
    "surname",
)  # fmt: skip
_FORMAT_KINDS = {"date": "date", "date-time": "datetime", "email": "email", "uri": "url",
                 "url": "url", "uuid": "uuid"}  # fmt: skip
_NEGATIONS = ("no", "not", "without", "don't", "dont", "never", "disable", "exclude")


@dataclass(frozen=True, kw_only=True, slots=True)
class Filled:
    """A filled instance and where its top-level values came from.

    Attributes:
        value: The JSON instance.
        from_text: Top-level properties filled from a specific value in the text
            (a number, a quoted string, an enum value, a date, a name, ...).
    """

    value: Any
    from_text: frozenset[str]


def fill(
    schema: Mapping[str, Any] | None, text: str, *, vocabulary: list[str] | tuple[str, ...] = ()
) -> Filled:
    """Return an instance of ``schema`` filled from ``text``.

    Args:
        schema: A JSON Schema (tool ``parameters`` or a response schema); None means ``{}``.
        text: The message the values come from.
        vocabulary: Stems of the tool's own words, dropped from the front of free text.

    Returns:
        The instance (valid whenever the schema is satisfiable by the rules here)
        and the names of the top-level properties found in the text.
    """
    if not schema:
        return Filled(value={}, from_text=frozenset())
    filler = _Filler(schema, TextValues(text, tuple(vocabulary)), list(vocabulary))
    strength, value = filler.value(schema, "", "")
    if not is_valid(schema, value):
        value = _repair(schema, value, example(schema))
    found = frozenset(filler.from_text) if strength else frozenset()
    return Filled(value=value, from_text=found)


def _repair(schema: Mapping[str, Any], value: Any, fallback: Any) -> Any:
    """Keep each found property that is valid on its own; use the example for the rest."""
    if not (isinstance(value, dict) and isinstance(fallback, dict)):
        return fallback
    props = resolve(schema, schema).get("properties") or {}
    result = dict(fallback)
    for key, item in value.items():
        sub = with_defs(props.get(key, {}), schema)
        if is_valid(sub, item) or (key in result and not is_valid(sub, result[key])):
            result[key] = item
    return result


class _Filler:
    """Fills values from one text; values of each kind are handed out once."""

    def __init__(self, root: Mapping[str, Any], values: TextValues, vocabulary: list[str]):
        self.root = root
        self.values = values
        self.vocabulary = vocabulary
        self.from_text: set[str] = set()
        self.depth = 0
        #: Numbers (by index) tied to a parameter by a cue word, per object level.
        self.claims: dict[str, int] = {}
        self.used_numbers: set[int] = set()
        self.used_enums: set[int] = set()

    def value(self, schema: Any, name: str, description: str) -> tuple[int, Any]:
        """Return (strength, value) for one schema position."""
        schema = resolve(schema, self.root)
        description = str(schema.get("description") or description)
        if "const" in schema:
            return SCHEMA, copy.deepcopy(schema["const"])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._enum(schema, name)
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return self._union(schema, schema[key], name, description)
        if isinstance(schema.get("allOf"), list):
            return self.value(merge_all(schema, self.root), name, description)
        kind = type_of(schema)
        if isinstance(schema.get("type"), list) and "null" in schema["type"] and kind != "null":
            strength, value = self._typed(schema, kind, name, description)
            return (strength, value) if strength == STRONG else (SCHEMA, None)
        return self._typed(schema, kind, name, description)

    def _typed(
        self, schema: Mapping[str, Any], kind: str | None, name: str, description: str
    ) -> tuple[int, Any]:
        if kind == "object" or (kind is None and "properties" in schema):
            return self._object(schema)
        if kind == "array":
            return self._array(schema, name, description)
        if kind == "string":
            return self._string(schema, name, description)
        if kind in ("integer", "number"):
            return self._number(schema, name, integer=kind == "integer")
        if kind == "boolean":
            return self._boolean(schema, name)
        return SCHEMA, example(schema, self.root)

    def _union(
        self, schema: Mapping[str, Any], branches: list[Any], name: str, description: str
    ) -> tuple[int, Any]:
        nullable = any(type_of(resolve(b, self.root)) == "null" for b in branches)
        for branch in branches:
            if type_of(resolve(branch, self.root)) == "null":
                continue
            strength, value = self.value(branch, name, description)
            if strength == STRONG and is_valid(with_defs(branch, self.root), value):
                return strength, value
            if strength == WEAK and not nullable:
                return strength, value
        return SCHEMA, None if nullable else example(schema, self.root)

    def _enum(self, schema: Mapping[str, Any], name: str) -> tuple[int, Any]:
        hits = enum_hits(self.values.text, schema["enum"], self.vocabulary)
        hit = pick_enum(hits, name, self.used_enums)
        if hit is not None:
            self.used_enums.add(hit.start)
            return STRONG, hit.option
        return SCHEMA, example(schema, self.root)

    def _object(self, schema: Mapping[str, Any]) -> tuple[int, Any]:
        props = schema.get("properties") or {}
        required = [n for n in schema.get("required") or () if n in props]
        out: dict[str, Any] = {}
        best = SCHEMA
        self.depth += 1
        outer, self.claims = self.claims, self._claims(props)
        for name, sub in props.items():
            strength, value = self.value(sub, name, "")
            if strength == STRONG and self.depth == 1:
                self.from_text.add(name)
            if name in required or strength == STRONG:
                if strength == SCHEMA and name not in required:
                    continue
                out[name] = value
                best = max(best, strength)
        self.depth -= 1
        self.claims = outer
        return best, out

    def _claims(self, props: Mapping[str, Any]) -> dict[str, int]:
        """Tie numbers to the numeric properties whose names stand next to them."""
        numeric = []
        for name, sub in props.items():
            sub = resolve(sub, self.root)
            if type_of(sub) in ("integer", "number") and "enum" not in sub:
                numeric.append((str(name), str(sub.get("description") or "")))
        return claim_numbers(self.values.text, numeric) if len(numeric) > 1 else {}

    def _array(self, schema: Mapping[str, Any], name: str, description: str) -> tuple[int, Any]:
        if schema.get("prefixItems"):
            pairs = [self.value(s, name, description) for s in schema["prefixItems"]]
            return max(p[0] for p in pairs), [p[1] for p in pairs]
        items = resolve(schema.get("items") or {}, self.root)
        kind = type_of(items)
        found: list[Any] = []
        if kind in ("integer", "number"):
            found = [n for n in self.values.all("number") if kind == "number" or _integral(n)]
            found = [int(n) if kind == "integer" else n for n in found]  # type: ignore[call-overload]
        elif isinstance(items.get("enum"), list):
            low = self.values.text.lower()
            found = [o for o in items["enum"] if str(o).lower() in low]
        elif kind == "string":
            found = list(self.values.all("quoted")) or (
                list(self.values.all("name")) if _hinted(name, description, _NAME_HINTS) else []
            )
        if found and "maxItems" in schema:
            found = found[: schema["maxItems"]]
        if found and len(found) >= int(schema.get("minItems") or 0):
            return STRONG, found
        return SCHEMA, example(schema, self.root)

    def _number(self, schema: Mapping[str, Any], name: str, *, integer: bool) -> tuple[int, Any]:
        numbers = self.values.all("number")
        claimed = self.claims.get(name)
        order = [claimed] if claimed is not None else []
        order += [i for i in range(len(numbers)) if i not in self.claims.values()]
        for index in order:
            number = numbers[index]
            if index in self.used_numbers or (integer and not _integral(number)):
                continue
            value = int(number) if integer else number  # type: ignore[call-overload]
            if is_valid(schema, value):
                self.used_numbers.add(index)
                return STRONG, value
        return SCHEMA, example(schema, self.root)

    def _boolean(self, schema: Mapping[str, Any], name: str) -> tuple[int, Any]:
        tokens = self.values.text.lower().replace(",", " ").split()
        stems = words(name)
        for i, token in enumerate(tokens):
            if stems and any(matches(s, w) for s in stems for w in words(token)):
                negated = any(t in _NEGATIONS for t in tokens[max(0, i - 3) : i])
                return STRONG, not negated
        return SCHEMA, example(schema, self.root)

    def _string(self, schema: Mapping[str, Any], name: str, description: str) -> tuple[int, Any]:
        fmt = str(schema.get("format") or "")
        kind = _FORMAT_KINDS.get(fmt) or _string_kind(name, description)
        candidates: list[tuple[int, Any]] = []
        if kind in ("date", "datetime"):
            candidates.append((STRONG, self._date(kind)))
        elif kind in ("email", "url", "uuid", "expression", "sql"):
            candidates.append((STRONG, self.values.take(kind)))
        if not fmt:
            candidates.append((STRONG, self.values.take("quoted")))
        if kind == "name":
            candidates.append((STRONG, self._name(name)))
        if kind in ("name", "text"):
            candidates.append((STRONG, labelled_word(self.values.text, name, self.vocabulary)))
        if isinstance(schema.get("pattern"), str):  # a code or id: the first word that fits
            tokens = re.findall(r"[\w@.+:/-]+", self.values.text)
            candidates.append((STRONG, next((t for t in tokens if is_valid(schema, t)), None)))
        if not fmt and kind not in ("email", "url", "uuid", "date", "datetime", "sql"):
            candidates.append((WEAK, strip_filler(self.values.text, self.vocabulary)))
        for strength, value in candidates:
            if isinstance(value, str) and value:
                value = value[: schema["maxLength"]] if "maxLength" in schema else value
                if is_valid(schema, value):
                    return strength, value
        return SCHEMA, example(schema, self.root)

    def _date(self, kind: str) -> str | None:
        if kind == "datetime":
            found = self.values.take("datetime")
            if found is None and (day := self.values.take("date")) is not None:
                found = f"{day}T00:00:00Z"
            return found  # type: ignore[return-value]
        return self.values.take("date")  # type: ignore[return-value]

    def _name(self, name: str) -> str | None:
        stems = words(name)
        spans = self.values.all("name")
        if spans and "first" in stems:
            return str(spans[0]).split()[0]
        if spans and any(s in ("last", "surnam", "family") for s in stems):
            return str(spans[0]).split()[-1]
        return self.values.take("name")  # type: ignore[return-value]


def _string_kind(name: str, description: str) -> str:
    if _hinted(name, "", ("email", "mail")):
        return "email"
    if _hinted(name, "", ("url", "link", "uri", "href", "website")):
        return "url"
    if _hinted(name, "", ("date", "day", "birthday", "dob", "deadline")):
        return "date"
    if re.search(r"sql", f"{name} {description}", re.I):
        return "sql"
    if _hinted(name, "", _EXPRESSION_HINTS) or _hinted("", description, _EXPRESSION_HINTS[:1]):
        return "expression"
    if _hinted(name, "", _NAME_HINTS):
        return "name"
    return "text"


def _hinted(name: str, description: str, hints: tuple[str, ...]) -> bool:
    stems = words(name) + words(description)
    return any(in_vocabulary(h, stems) for h in hints)


def _integral(number: object) -> bool:
    return isinstance(number, int) or (isinstance(number, float) and number.is_integer())
