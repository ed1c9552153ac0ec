"""Which value in a message belongs to which parameter, for the offline model.

A parameter's *cue words* are the words of its name (and, more weakly, of its
description). A value next to a cue word belongs to that parameter:

* :func:`claim_numbers`: ``a 25 percent discount to a price of 80`` gives
  ``discount=25, price=80`` whatever the order of the parameters.
* :func:`enum_hits` / :func:`pick_enum`: enum values matched case-insensitively,
  and by unambiguous prefix or abbreviation (``Celsius`` -> ``"C"`` for
  ``["C", "F"]``); ``to celsius`` fills a parameter named ``to`` (or ``to_unit``).
* :func:`labelled_word`: ``the orders table`` or ``table orders`` gives
  ``table="orders"``.

Pure functions of their inputs, so the offline model stays deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agentloop.offline.text import STOPWORDS, in_vocabulary, number_spans, stem, words

__all__ = ["EnumHit", "claim_numbers", "enum_hits", "labelled_word", "name_parts", "pick_enum"]

_TOKEN_RE = re.compile(r"[A-Za-z][\w'’-]*|\d+(?:\.\d+)?|%")
#: Words just before a value that point to a parameter named for a direction,
#: strongest first (``to celsius``, then ``in celsius``).
_DIRECTIONS = {"to": (("to", "into", "as"), ("in",)), "from": (("from",),), "in": (("in",),)}
#: Words too generic to tie a value to a parameter.
_GENERIC = frozenset(
    words("value values number numbers amount given the a an of for string text integer float")
)
#: Words between a label and its value (``table named orders``).
_LINKS = frozenset(("named", "called", "of", "the", "a", "an", "is", "=", ":"))
#: Parameters that hold free text, never a single labelled word.
_FREE_TEXT = frozenset(
    words("query text message content prompt topic question body description note comment input")
    + words("sql expression statement search instructions instruction title summary subject")
)
_WINDOW = 4
#: A word that may name a thing: ``orders``, ``notes.txt``, ``src/app.py``, ``order_items``.
_LABELLED_RE = re.compile(r"[\w][\w./\\:'’-]*")
_CLAUSE_END_RE = re.compile(r"[,;!?]|\.(?!\d)")


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: int
    end: int


def _tokens(text: str) -> list[_Token]:
    return [_Token(m.group(), m.start(), m.end()) for m in _TOKEN_RE.finditer(text)]


def name_parts(name: str) -> list[str]:
    """The lower-case words of a parameter name, stop words kept (``to_unit`` -> to, unit)."""
    return [p.lower() for p in re.findall(r"[A-Za-z]+", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name))]


def _is_cue(token: str, stems: Sequence[str]) -> bool:
    low = "percent" if token == "%" else token.lower()
    return in_vocabulary(low, stems) if low not in STOPWORDS else low in stems


# -- numbers ------------------------------------------------------------------------------


def claim_numbers(text: str, params: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Give numbers to the numeric parameters whose cue words stand next to them.

    Args:
        text: The message.
        params: ``(name, description)`` of each numeric parameter, in order.

    Returns:
        For each parameter with a cue next to a number, the index of that number
        in :func:`~agentloop.offline.text.number_spans` order. A cue before the
        number beats one after it at the same distance; name words weigh 1,
        description words 0.5, divided by the distance in words (at most 4).
    """
    numbers = number_spans(text)
    if not numbers or not params:
        return {}
    tokens = _tokens(text)
    scored: list[tuple[float, int, int]] = []
    for p, (name, description) in enumerate(params):
        own = [s for s in words(name) if s not in _GENERIC] or name_parts(name)
        desc = [s for s in words(description) if s not in _GENERIC]
        for n, (start, _end, _value) in enumerate(numbers):
            best = _number_score(text, tokens, start, own, desc)
            if best > 0:
                scored.append((best, -p, -n))
    claims: dict[str, int] = {}
    taken: set[int] = set()
    for _score, neg_p, neg_n in sorted(scored, reverse=True):
        name = params[-neg_p][0]
        if name not in claims and -neg_n not in taken:
            claims[name] = -neg_n
            taken.add(-neg_n)
    return claims


def _number_score(
    text: str, tokens: list[_Token], start: int, own: list[str], desc: list[str]
) -> float:
    """How strongly cue words near the number at ``start`` point to one parameter.

    Cues do not reach across ``,``, ``;`` or a sentence end (``8 people, 2 hours``).
    """
    at = next((i for i, t in enumerate(tokens) if t.start <= start < t.end or t.start >= start), 0)
    best = 0.0
    for i, token in enumerate(tokens):
        distance = i - at
        if distance == 0 or abs(distance) > _WINDOW or token.text[0].isdigit():
            continue
        low, high = sorted((token.start, start))
        if _CLAUSE_END_RE.search(text, low, high):
            continue
        weight = 1.0 if _is_cue(token.text, own) else 0.5 if _is_cue(token.text, desc) else 0.0
        best = max(best, weight / (abs(distance) + (0.5 if distance > 0 else 0.0)))
    return best


# -- enums --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnumHit:
    """An enum value found in the text.

    Attributes:
        start: Where its words start in the text.
        option: The enum value.
        before: The lower-case words just before it (two).
        after: The lower-case word just after it (one).
        exact: Whether the words were the value itself (not a prefix or abbreviation).
        word: The words as written.
    """

    start: int
    option: object
    before: tuple[str, ...]
    after: tuple[str, ...]
    exact: bool
    word: str


def enum_hits(text: str, options: Sequence[object], vocabulary: Sequence[str]) -> list[EnumHit]:
    """Every place the text names one of the string ``options``, in text order.

    A word names an option when it is the option (any case, ``_`` or space),
    or when exactly one option is a prefix of it or it is a prefix of exactly
    one option (``Celsius`` for ``C``, ``fahr`` for ``fahrenheit``). Words of
    the tool itself and stop words only count when spelled exactly.
    """
    low = text.lower()
    tokens = _tokens(text)
    labels = [(o, str(o).lower()) for o in options if isinstance(o, str) and o]
    hits: dict[int, EnumHit] = {}
    for option, label in labels:
        pattern = re.escape(label).replace("_", "[_ ]").replace(r"\ ", "[_ ]")
        for match in re.finditer(rf"(?<![\w]){pattern}(?![\w])", low):
            hit = _hit(tokens, match.start(), option, text[match.start() : match.end()])
            hits.setdefault(match.start(), hit)
    for token in tokens:
        word = token.text.lower()
        if token.start in hits or not word[0].isalpha():
            continue
        fits = [o for o, label in labels if word.startswith(label) or label.startswith(word)]
        if len(fits) != 1 or word in STOPWORDS or in_vocabulary(word, vocabulary):
            continue
        hits[token.start] = _hit(tokens, token.start, fits[0], token.text)
    return [hits[k] for k in sorted(hits)]


def _hit(tokens: list[_Token], start: int, option: object, word: str) -> EnumHit:
    at = next((i for i, t in enumerate(tokens) if t.start >= start), len(tokens))
    end = next((i for i, t in enumerate(tokens) if t.start >= start + len(word)), len(tokens))
    before = tuple(t.text.lower() for t in tokens[max(0, at - 2) : at])
    after = tuple(t.text.lower() for t in tokens[end : end + 1])
    exact = word.lower().replace(" ", "_") == str(option).lower().replace(" ", "_")
    return EnumHit(start=start, option=option, before=before, after=after, exact=exact,
                   word=word)  # fmt: skip


def pick_enum(hits: Sequence[EnumHit], name: str, used: set[int]) -> EnumHit | None:
    """The hit for parameter ``name``: one next to a cue word of the name, else the first unused.

    Cue words are the name's words (before or after the value: ``unit
    celsius``, ``celsius units``) and, for a name with a direction (``to``,
    ``from``, ``in``), that word just before the value (``to celsius``). A
    short abbreviation (one or two letters either way) only counts next to a
    cue word, so ``convert`` is never taken for ``"C"``.
    """
    tiers = [tier for p in name_parts(name) for tier in _DIRECTIONS.get(p, ())]
    stems = [s for s in words(name) if s not in _GENERIC]
    free = [h for h in hits if h.start not in used]
    for hit in free:
        if stems and any(_is_cue(w, stems) for w in (*hit.before, *hit.after)):
            return hit
    for tier in tiers:
        for hit in free:
            if hit.before[-1:] and hit.before[-1] in tier:
                return hit
    return next((h for h in free if _stands_alone(h)), None)


def _stands_alone(hit: EnumHit) -> bool:
    """Whether a hit counts without a cue: not one letter, not a short abbreviation."""
    if hit.exact:
        return len(hit.word) > 1 or hit.word.lower() not in STOPWORDS
    return min(len(hit.word), len(str(hit.option))) >= 3


# -- labelled words -----------------------------------------------------------------------


def labelled_word(text: str, name: str, vocabulary: Sequence[str]) -> str | None:
    """The word a parameter's own name labels in the text: ``the orders table`` -> ``orders``.

    Only for parameters named for a thing with a name (a table, a file, a
    column), never for free-text ones (``query``, ``text``, ...). The word
    before the label wins (``the orders table``); else the word after it,
    past ``named``/``called``/``of`` (``table named orders``).
    """
    stems = words(name)
    if len(stems) != 1 or stems[0] in _FREE_TEXT or len(stems[0]) < 3:
        return None
    tokens = [m.group().rstrip(".,:;'’") for m in _LABELLED_RE.finditer(text)]
    for i, token in enumerate(tokens):
        if stem(token.lower()) != stems[0]:
            continue
        before = tokens[i - 1] if i else ""
        if _usable(before, vocabulary):
            return before
        after = tokens[i + 1 :]
        while after and after[0].lower() in _LINKS:
            after = after[1:]
        if after and _usable(after[0], vocabulary):
            return after[0]
    return None


def _usable(word: str, vocabulary: Sequence[str]) -> bool:
    low = word.lower()
    if not word or not word[0].isalpha() or low in STOPWORDS or low in _COMMON_VERBS:
        return False
    return not in_vocabulary(low, vocabulary)


_COMMON_VERBS = frozenset(
    re.split(
        r"\s+",
        """describe show list run get find open read write delete create make check explain
        display print fetch inspect look see tell give count query select""",
    )
)
