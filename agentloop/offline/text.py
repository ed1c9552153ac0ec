"""Text analysis for the offline model: words, stems, values found in a message.

Everything here is a pure function of its input (no clock, no randomness), so
the offline model stays deterministic. The rules are deliberately simple and
documented in :mod:`agentloop.offline.model`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from agentloop.offline.mathexpr import arithmetic_spans
from agentloop.offline.numbers import find_numbers

__all__ = [
    "TextValues",
    "capitalized_spans",
    "find_dates",
    "find_datetimes",
    "find_sql",
    "in_vocabulary",
    "matches",
    "number_spans",
    "unreadable_numbers",
    "split_parts",
    "stem",
    "strip_filler",
    "words",
]


def _wordset(text: str) -> frozenset[str]:
    return frozenset(re.split(r"\s+", text.strip()))


STOPWORDS = _wordset(
    """a an the is are was were be been being am i me my mine you your yours we our us it its
    this that these those of to in on at for from by with about as and or but if then than so
    do does did done can could would should will shall may might must please what whats which
    who whom whose where when why how tell give show find get gets let lets need want like just
    also some any all there here into onto up out over under again more most very too not no
    yes ok okay hi hello hey thanks thank use using via per each every s t"""
)

_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twenty": 20, "hundred": 100,
}  # fmt: skip
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ers", "er", "es", "ed", "ly", "s", "e")

_WORD_RE = re.compile(r"[A-Za-z]+|\d+")
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_WORDISH = re.compile(r"[\w.]")
_QUOTED_RE = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)|`([^`]+)`")
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL_RE = re.compile(r"https?://[^\s\"'<>]+[^\s\"'<>.,;:!?)]")
_UUID_RE = re.compile(r"\b[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\b")
_ISO_DT_RE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_ISO_DATE_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_MONTH_DAY_RE = re.compile(r"\b([A-Za-z]{3,9})\.? (\d{1,2})(?:st|nd|rd|th)?,? (\d{4})\b")
_DAY_MONTH_RE = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)? ([A-Za-z]{3,9})\.?,? (\d{4})\b")
_CAPS_RE = re.compile(r"\b[A-Z][\w'’-]*(?:\s+(?:[A-Z][\w'’-]*|de|van|von|of|da|la))*")
_SPLIT_RE = re.compile(
    r"(?<=[.?!])\s+(?=\S)|\s*;\s*|\s+(?:and then|and also|then|also|and)\s+|,\s+(?:and\s+)?then\s+",
    re.I,
)
_SQL_KEYWORDS = "SELECT|WITH|PRAGMA|EXPLAIN|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|REPLACE|VALUES"
_SQL_START_RE = re.compile(rf"\s*(?:{_SQL_KEYWORDS})\b", re.I)
_SQL_RE = re.compile(rf"\b(?:{_SQL_KEYWORDS})\b|\b(?i:select)\b(?=.*\b(?i:from)\b)")
_LEAD_RE = re.compile(r"^(?:(?:and|then|also)\s+)+", re.I)


@functools.lru_cache(maxsize=4096)
def stem(word: str) -> str:
    """Return a crude stem: lower-cased, with one common English suffix removed.

    Cached: scoring and filling stem the same tool and message words many times per request.
    """
    word = word.lower()
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """Split text (camelCase and snake_case too) into lower-case content stems.

    Stop words are dropped; numbers are kept as they are.
    """
    out = []
    for raw in _WORD_RE.findall(_CAMEL_RE.sub(" ", text)):
        low = raw.lower()
        if low not in STOPWORDS:
            out.append(stem(low))
    return out


def matches(a: str, b: str) -> bool:
    """Whether two stems match: equal, or one extends the other and both have 4+ letters."""
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    return a.startswith(b) or b.startswith(a)


def in_vocabulary(word: str, vocabulary: Iterable[str]) -> bool:
    """Whether the stem of ``word`` matches a stem of ``vocabulary`` (stemmed once)."""
    stemmed = stem(word)
    return any(matches(stemmed, v) for v in vocabulary)


def split_parts(text: str) -> list[str]:
    """Split a request into the parts that may each ask for something.

    Splits on sentence ends, ``;``, and the connectives ``and``, ``then``,
    ``also``; empty parts are dropped.
    """
    parts = (_LEAD_RE.sub("", p.strip(" ,")) for p in _SPLIT_RE.split(text) if p)
    return [p for p in parts if p]


def capitalized_spans(text: str) -> list[str]:
    """Return runs of capitalized words that look like names (``Alice Smith``, ``New York``).

    Leading question words, stop words and month names are trimmed from each run.
    """
    spans = []
    for match in _CAPS_RE.finditer(text):
        parts = match.group().rstrip(".").split()
        while parts and _is_common(parts[0]):
            parts.pop(0)
        while parts and (_is_common(parts[-1]) or parts[-1].islower()):
            parts.pop()
        if parts:
            spans.append(" ".join(parts))
    return spans


def _is_common(word: str) -> bool:
    base = re.split(r"['’]", word.lower())[0]
    return base in STOPWORDS or base in _MONTHS or base in _WEEKDAYS or base in _COMMANDS


_WEEKDAYS = _wordset("monday tuesday wednesday thursday friday saturday sunday")
_COMMANDS = _wordset(
    """extract search compute calculate evaluate convert list create make send add check look
    return summarize summarise translate write read say answer call run fetch"""
)


def find_datetimes(text: str) -> list[str]:
    """Return ISO 8601 date-times found in ``text`` (normalized to ``T`` and a zone)."""
    out = []
    for match in _ISO_DT_RE.finditer(text):
        value = match.group().replace(" ", "T", 1)
        if len(value) == 16:
            value += ":00"
        if not re.search(r"(Z|[+-]\d{2}:?\d{2})$", value):
            value += "Z"
        out.append(value)
    return out


def find_dates(text: str) -> list[str]:
    """Return dates found in ``text`` as ``YYYY-MM-DD`` (ISO or ``March 5, 2024`` forms)."""
    found: list[tuple[int, str]] = []
    for match in _ISO_DATE_RE.finditer(text):
        if _valid_date(match.group()):
            found.append((match.start(), match.group()))
    for regex, order in ((_MONTH_DAY_RE, (1, 2)), (_DAY_MONTH_RE, (2, 1))):
        for match in regex.finditer(text):
            month = _MONTHS.get(match.group(order[0]).lower())
            day = int(match.group(order[1]))
            value = f"{int(match.group(3)):04d}-{month or 0:02d}-{day:02d}"
            if month and _valid_date(value):
                found.append((match.start(), value))
    return [value for _, value in sorted(found)]


def _valid_date(value: str) -> bool:
    try:
        _dt.date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def strip_filler(text: str, vocabulary: list[str]) -> str:
    """Drop leading request words (stop words, words of the tool) and end punctuation.

    ``Search the web for python packaging?`` with a search tool's vocabulary
    gives ``python packaging``; when nothing is left, the stripped text is returned.
    """
    tokens = text.strip().rstrip("?.!").split()
    while tokens:
        low = re.sub(r"[^\w]", "", tokens[0].lower())
        droppable = low in STOPWORDS or low in _COMMANDS or not low
        if not (droppable or in_vocabulary(low, vocabulary)):
            break
        tokens.pop(0)
    return " ".join(tokens) or text.strip().rstrip("?.!")


@dataclass
class TextValues:
    """The values found in a text, handed out in order so each is used once.

    Attributes:
        text: The text searched.
        vocabulary: Stems of the tool's own words, never taken for names.
    """

    text: str
    vocabulary: tuple[str, ...] = ()
    _taken: dict[str, int] = field(default_factory=dict)
    _cache: dict[str, list[object]] = field(default_factory=dict)

    def take(self, kind: str) -> object | None:
        """Return the next unused value of a kind, or None when there is none left.

        Kinds: ``number``, ``quoted``, ``email``, ``url``, ``uuid``, ``date``,
        ``datetime``, ``name``, ``expression``, ``sql``.
        """
        values = self.all(kind)
        index = self._taken.get(kind, 0)
        if index >= len(values):
            return None
        self._taken[kind] = index + 1
        return values[index]

    def all(self, kind: str) -> list[object]:
        """Every value of a kind, in text order."""
        if kind not in self._cache:
            self._cache[kind] = self._find(kind)
        return self._cache[kind]

    def _find(self, kind: str) -> list[object]:
        text = self.text
        if kind == "number":
            return _numbers(text)
        if kind == "quoted":
            return [_group(m) for m in _QUOTED_RE.finditer(text)]
        if kind == "email":
            return _EMAIL_RE.findall(text)
        if kind == "url":
            return _URL_RE.findall(text)
        if kind == "uuid":
            return _UUID_RE.findall(text)
        if kind == "date":
            return list(find_dates(text))
        if kind == "datetime":
            return list(find_datetimes(text))
        if kind == "name":
            spans = (_trim(s, self.vocabulary) for s in capitalized_spans(_EMAIL_RE.sub(" ", text)))
            return [s for s in spans if s]
        if kind == "expression":
            return list(arithmetic_spans(text))
        if kind == "sql":
            return list(find_sql(text))
        raise ValueError(f"unknown value kind {kind!r}")


def _trim(span: str, vocabulary: tuple[str, ...]) -> str:
    """Drop the words of a tool's own vocabulary from the ends of a name span."""
    parts = span.split()
    while parts and in_vocabulary(parts[0], vocabulary):
        parts.pop(0)
    while parts and in_vocabulary(parts[-1], vocabulary):
        parts.pop()
    return " ".join(parts)


def _numbers(text: str) -> list[object]:
    """Numbers in text order, skipping those inside dates, times, ids and addresses."""
    return [value for _, _, value in number_spans(text)]


def number_spans(text: str) -> list[tuple[int, int, object]]:
    """``(start, end, value)`` of each number in ``text`` (digits or a number word), in order.

    Digits are read as people write them (``1,000``, ``1e3``, ``3.5k``, ``1.5 million``,
    by :func:`~agentloop.offline.numbers.find_numbers`); a number that cannot be read
    whole (``1,5``, ``5kg``) is skipped, never read in part. Numbers inside dates,
    times, UUIDs, emails and URLs are skipped.
    """
    for regex in (_ISO_DT_RE, _ISO_DATE_RE, _UUID_RE, _EMAIL_RE, _URL_RE, _MONTH_DAY_RE):
        text = regex.sub(lambda m: " " * len(m.group()), text)  # keep the positions
    found: list[tuple[int, int, object]] = []
    for token in find_numbers(text):  # read whole (1,000 / 1e3 / 3.5k) or skipped, never in part
        if token.value is None:
            continue
        start, value = token.start, token.value
        if start and text[start - 1] == "-" and (start < 2 or not _WORDISH.match(text[start - 2])):
            start, value = start - 1, -value
        found.append((start, token.end, value))
    for match in re.finditer(r"\b[a-z]+\b", text.lower()):
        if match.group() in _NUMBER_WORDS:
            found.append((match.start(), match.end(), _NUMBER_WORDS[match.group()]))
    return sorted(found, key=lambda item: item[0])


def unreadable_numbers(text: str) -> list[str]:
    """Why each number of ``text`` that cannot be read whole cannot be (``1,5``, ``5kg``).

    Dates, times, UUIDs, emails and URLs are not numbers and are never reported.
    """
    for regex in (_ISO_DT_RE, _ISO_DATE_RE, _UUID_RE, _EMAIL_RE, _URL_RE, _MONTH_DAY_RE):
        text = regex.sub(lambda m: " " * len(m.group()), text)
    return [token.problem for token in find_numbers(text) if token.problem is not None]


def find_sql(text: str) -> list[str]:
    """SQL statements in ``text``: quoted ones, else the text from an SQL keyword to the end.

    ``Run SELECT name FROM customers`` gives ``SELECT name FROM customers``; an
    unquoted keyword counts when written in capitals, or ``select`` when a
    ``from`` follows.
    """
    quoted = [q for m in _QUOTED_RE.finditer(text) if _SQL_START_RE.match(q := _group(m))]
    if quoted:
        return quoted
    match = _SQL_RE.search(text)
    if match is None:
        return []
    statement = text[match.start() :].rstrip()
    return [statement.rstrip("?!.").rstrip() if not statement.endswith("'") else statement]


def _group(match: re.Match[str]) -> str:
    return next(g for g in match.groups() if g)
