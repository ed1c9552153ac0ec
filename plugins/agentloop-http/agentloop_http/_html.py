"""Reduce an HTML page to readable text with the standard library's ``html.parser``.

Scripts, styles and other non-content elements are dropped; headings become
``#`` lines, list items ``-`` lines, paragraphs and block elements are
separated by blank lines, ``<pre>`` keeps its whitespace, and links keep
their absolute http(s) target in parentheses.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin

__all__ = ["html_to_text"]

_SKIP = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object"}
)
_BLOCK = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "nav", "aside",
        "blockquote", "pre", "table", "tr", "ul", "ol", "dl", "dt", "dd", "form",
        "fieldset", "figure", "figcaption", "details", "summary", "address", "hr",
    }
)  # fmt: skip
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_SPACE = re.compile(r"\s+")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
# "<" not starting a complete tag (quoted values without "<"), declaration or processing
# instruction. The lookahead never scans past the next "<", so the substitution is linear.
_STRAY_LT = re.compile(
    r"""<(?!/?[A-Za-z][^<>"']*(?:(?:"[^"<]*"|'[^'<]*')[^<>"']*)*>|![A-Za-z][^<>]*>|\?[^<>]*>)"""
)


class _TextExtractor(HTMLParser):
    """Collects the title and the readable text of a page."""

    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.title = ""
        self.parts: list[str] = []
        self._skip_depth = 0
        self._in_title = False
        self._pre_depth = 0
        self._links: list[str | None] = []
        self._trailing = 0  # newlines at the end of the output so far

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and not self._skip_depth and not self.title:
            self._in_title = True
        elif tag in _SKIP:
            self._skip_depth += 1
        elif self._skip_depth:
            return
        elif tag in _HEADINGS:
            self._newlines(2)
            self._emit("#" * _HEADINGS[tag] + " ")
        elif tag == "li":
            self._newlines(1)
            self._emit("- ")
        elif tag == "br":
            self._emit("\n")
        elif tag in _BLOCK:
            self._newlines(2 if tag in {"p", "pre", "blockquote", "table", "ul", "ol"} else 1)
            if tag == "pre":
                self._pre_depth += 1
        elif tag == "a":
            self._links.append(self._link_target(dict(attrs).get("href")))
        elif tag in {"td", "th"}:
            self._emit(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif self._skip_depth:
            return
        elif tag in _HEADINGS or tag in _BLOCK:
            if tag == "pre":
                self._pre_depth = max(0, self._pre_depth - 1)
            self._newlines(2 if tag in _HEADINGS or tag == "p" else 1)
        elif tag == "a" and self._links:
            href = self._links.pop()
            if href:
                self._emit(f" ({href})")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title = _SPACE.sub(" ", f"{self.title} {data}").strip()
            return
        if self._skip_depth:
            return
        if self._pre_depth:
            self._emit(data)
            return
        text = _SPACE.sub(" ", data)
        if not self.parts or self._trailing:
            text = text.lstrip()
        if text:
            self._emit(text)

    def _emit(self, text: str) -> None:
        self.parts.append(text)
        stripped = text.rstrip("\n")
        self._trailing = self._trailing + len(text) if not stripped else len(text) - len(stripped)

    def _newlines(self, count: int) -> None:
        """End the output with at least ``count`` newlines (none at the very start)."""
        if self.parts and count > self._trailing:
            self._emit("\n" * (count - self._trailing))

    def _link_target(self, href: str | None) -> str | None:
        if not href or href.startswith("#"):
            return None
        absolute = urljoin(self.base_url, href.strip())
        return absolute if absolute.startswith(("http://", "https://")) else None


def html_to_text(html: str, *, base_url: str = "") -> tuple[str, str]:
    """Return the title and the readable text of an HTML document.

    Args:
        html: The document (possibly truncated; the parser tolerates broken markup).
        base_url: The page's URL, to make relative links absolute.

    Returns:
        ``(title, text)``; the title is ``""`` when the page has none.
    """
    parser = _TextExtractor(base_url)
    parser.feed(defuse(html))
    parser.close()
    text = "".join(parser.parts)
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return parser.title, text.strip()


def defuse(html: str) -> str:
    """Drop comments and escape every ``<`` that does not start a complete tag.

    ``html.parser`` rescans to the end of the input for each incomplete
    construct (``<a<a<a...``, an unclosed quote or comment), which makes a
    hostile page cost quadratic time on many Python versions (CPython
    gh-135462 / CVE-2025-6069, and unterminated declarations, CVE-2026-15308). After this pass every remaining ``<`` starts a
    tag or declaration that ends before the next ``<``, so parsing stays
    linear. Visible text is unchanged: ``&lt;`` is decoded back to ``<``.

    Args:
        html: The document.

    Returns:
        The document without comments and with stray ``<`` written as ``&lt;``.
    """
    # comments can only close before the last "-->": searching beyond it would
    # rescan the tail once per unclosed "<!--"
    last_close = html.rfind("-->") + 3 if "-->" in html else 0
    head = _COMMENT.sub(" ", html[:last_close])
    return _STRAY_LT.sub("&lt;", head + html[last_close:])
