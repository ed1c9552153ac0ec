"""The documentation cannot drift: every code block in ``docs/`` is run here.

The same checks cover the other Markdown a user reads first: the top-level
``README.md``, each first-party plugin's ``README.md`` and ``examples/README.md``.

* Every fenced ``python`` block of a page runs, in order, in one shared
  namespace (a fresh module per page), in a temporary working directory, with
  plugin autoloading off, no API keys in the environment and no network
  (only loopback connections are allowed, for the local test server).
  Tracebacks point at the Markdown file and line.
* Every fenced ``console`` block is a terminal session: each ``$ agentloop ...``
  line is run from the repository root on the offline model (plugin autoloading
  off) and its stdout must match the lines below it (a line ``...`` matches any
  number of lines).
* Every ``agentloop`` command shown in a ``bash`` block (not run: they need a
  key or a server) must at least parse with the real CLI parser.
* Relative links between pages resolve.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import shlex
import socket
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
# Markdown outside docs/ that users read and copy from: held to the same rules.
READMES = [
    ROOT / "README.md",
    *sorted((ROOT / "plugins").glob("agentloop-*/README.md")),
    ROOT / "examples" / "README.md",
]
ALL_PAGES = PAGES + READMES

REQUIRED_PAGES = [
    "getting-started.md",
    "tools.md",
    "agents.md",
    "plugins.md",
    "cli.md",
    "providers.md",
    "testing.md",
    "security.md",
]

# Settings a developer's shell may hold; docs blocks must not depend on them.
USER_SETTINGS = (
    "AGENTLOOP_API_KEY",
    "AGENTLOOP_BASE_URL",
    "AGENTLOOP_MODEL",
    "AGENTLOOP_MAX_STEPS",
    "AGENTLOOP_TIMEOUT",
    "AGENTLOOP_MAX_RETRIES",
    "VLLM_API_KEY",
    "OPENAI_BASE_URL",
)

# Docs show agents for real providers (built, never run): they get keys that work nowhere.
FAKE_KEYS = {
    "OPENAI_API_KEY": "sk-docs-test-not-a-key",
    "GEMINI_API_KEY": "docs-test-not-a-key",
    "KKIAI_API_KEY": "docs-test-not-a-key",
}

FENCE = re.compile(r"^```([\w+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks(page: Path, lang: str) -> list[tuple[int, str]]:
    """Return ``(first line number, code)`` for every fenced block of ``lang`` in ``page``."""
    text = page.read_text(encoding="utf-8")
    out = []
    for match in FENCE.finditer(text):
        if match.group(1) == lang:
            line = text.count("\n", 0, match.start(2)) + 1
            out.append((line, match.group(2)))
    return out


def _ids(pages: list[Path]) -> list[str]:
    return [p.relative_to(ROOT).as_posix() if p.parent != DOCS else p.name for p in pages]


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Refuse every socket connection except to loopback addresses."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host != "localhost":
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                raise OSError(f"docs tests may not use the network (tried {address!r})")
        return real_connect(self, address)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]


@pytest.fixture
def docs_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp working dir, no plugin autoload, no keys, nothing from the user's settings.

    No key is added here: a block that needs one sets it itself, where the reader sees it.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTLOOP_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name in FAKE_KEYS:
        # touched first, so that a key a block sets itself is gone again after the page
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return tmp_path


def test_required_pages_exist() -> None:
    names = {p.name for p in PAGES}
    missing = [name for name in REQUIRED_PAGES if name not in names]
    assert not missing, f"docs pages missing: {missing}"


PYTHON_PAGES = [page for page in ALL_PAGES if code_blocks(page, "python")]


def test_readmes_are_checked() -> None:
    """The README of every plugin distribution, and the top-level one, have runnable blocks."""
    plugins = sorted((ROOT / "plugins").glob("agentloop-*/"))
    assert len(plugins) >= 5
    for folder in plugins:
        assert folder / "README.md" in PYTHON_PAGES, f"{folder.name}/README.md has no python block"
    assert ROOT / "README.md" in PYTHON_PAGES


def test_every_topic_page_has_python_blocks() -> None:
    without = [name for name in REQUIRED_PAGES if not code_blocks(DOCS / name, "python")]
    assert not without, f"pages without a runnable python block: {without}"


@pytest.mark.parametrize("page", PYTHON_PAGES, ids=_ids(PYTHON_PAGES))
def test_python_blocks_run(page: Path, docs_env: Path) -> None:
    blocks = code_blocks(page, "python")
    slug = re.sub(r"\W", "_", page.relative_to(ROOT).with_suffix("").as_posix())
    name = f"docs_{slug}"
    module = types.ModuleType(name)
    module.__file__ = str(page)
    sys.modules[name] = module
    saved_path = list(sys.path)
    try:
        with loopback_only():
            for line, code in blocks:
                # Pad so that tracebacks name the Markdown line of the failing statement.
                compiled = compile("\n" * (line - 1) + code, str(page), "exec")
                exec(compiled, module.__dict__)
    finally:
        # the CLI imports TARGET files as modules and puts their folder on sys.path
        sys.path[:] = saved_path
        for loaded in [m for m in sys.modules if m == name or m.startswith("agentloop_target_")]:
            del sys.modules[loaded]


# ``console`` blocks (commands with the output they print) are run as written, in a fresh
# install made by the README's set-up command, by tests/docs/test_shell_blocks.py.


def _agentloop_argvs(line: str) -> list[list[str]]:
    """The argument lists of every ``agentloop`` command on a shell line (pipes, env prefixes)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    segments: list[list[str]] = [[]]
    try:
        tokens = list(lexer)
    except ValueError:
        # a quote that spans lines (a heredoc, a multi-line string): the whole block is run as
        # written by tests/docs/test_shell_blocks.py, which is the stronger check
        return []
    for token in tokens:
        if token in ("|", ";", "&&", "||"):
            segments.append([])
        else:
            segments[-1].append(token)
    argvs = []
    for words in segments:
        while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
            words = words[1:]  # VAR=value prefixes
        if words[:1] != ["agentloop"]:
            continue
        cut = next((i for i, w in enumerate(words) if w in ("<", ">", ">>", "2>")), len(words))
        argvs.append(words[1:cut])
    return argvs


def _shown_commands() -> list[tuple[Path, int, list[str]]]:
    out = []
    for page in ALL_PAGES:
        for first, code in code_blocks(page, "bash"):
            lines = code.replace("\\\n", "  ").splitlines()
            for offset, raw in enumerate(lines):
                for argv in _agentloop_argvs(raw.strip().removeprefix("$ ")):
                    out.append((page, first + offset, argv))
    return out


SHOWN = _shown_commands()


@pytest.mark.parametrize(
    "page, line, argv",
    SHOWN,
    ids=[f"{p.relative_to(ROOT).as_posix()}:{line}" for p, line, _ in SHOWN],
)
def test_shown_commands_parse(page: Path, line: int, argv: list[str]) -> None:
    from agentloop import cli

    try:
        cli.build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse exits for errors, and for --help / --version
        if exc.code not in (0, None):
            pytest.fail(f"{page.name}:{line}: `agentloop {shlex.join(argv)}` does not parse")


LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


@pytest.mark.parametrize("page", ALL_PAGES, ids=_ids(ALL_PAGES))
def test_relative_links_resolve(page: Path) -> None:
    for target, _anchor in LINK.findall(page.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def _sections(page: Path) -> dict[str, str]:
    """Map each ``#`` heading line of ``page`` to the text under it (up to the next heading)."""
    sections: dict[str, str] = {}
    current = ""
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("#"):
            current = line
            sections[current] = ""
        elif current:
            sections[current] += line + "\n"
    return sections


def test_every_hook_section_has_a_runnable_example() -> None:
    """docs/plugins.md: each hook's section has a python block, and some block implements it."""
    from agentloop import hookspecs

    hooks = [name for name in vars(hookspecs) if name.startswith("agentloop_")]
    assert len(hooks) >= 10
    page = DOCS / "plugins.md"
    sections = _sections(page)
    code = "\n".join(block for _, block in code_blocks(page, "python"))
    for hook in hooks:
        [heading] = [h for h in sections if h.startswith(f"### `{hook}(")]
        assert "```python" in sections[heading], f"no example under {heading}"
        assert f"def {hook}(" in code, f"no example implements {hook}"


def test_publishing_a_plugin_is_documented() -> None:
    import tomllib

    [(_, toml)] = [b for b in code_blocks(DOCS / "plugins.md", "toml")]
    project = tomllib.loads(toml)
    assert project["project"]["entry-points"]["agentloop"]
    assert "agentloop" in project["project"]["dependencies"]


@pytest.mark.parametrize("page", ALL_PAGES, ids=_ids(ALL_PAGES))
def test_toml_blocks_parse(page: Path) -> None:
    import tomllib

    for line, block in code_blocks(page, "toml"):
        try:
            tomllib.loads(block)
        except tomllib.TOMLDecodeError as exc:
            pytest.fail(f"{page.name}:{line}: {exc}")


@pytest.mark.parametrize(
    ("page", "topics"),
    [
        ("tools.md", ["Supported types", "docstring styles", "Strict mode", "The run context"]),
        ("agents.md", ["The loop", "Limits", "Errors", "Streaming", "Approval"]),
        ("plugins.md", ["The hooks", "Publishing a plugin"]),
        ("providers.md", ["kkiai", "Gemini", "OpenAI", "Ollama", "vLLM"]),
        ("testing.md", ["The offline model", "Scripted models", "The local server"]),
        (
            "security.md",
            [f"agentloop-{p}" for p in ("calculator", "files", "sqlite", "http", "shell")],
        ),
    ],
)
def test_required_topics_have_sections(page: str, topics: list[str]) -> None:
    headings = [h.lower() for h in _sections(DOCS / page)]
    for topic in topics:
        assert any(topic.lower() in h for h in headings), f"{page}: no section on {topic!r}"


def test_cli_approval_prompt_is_the_real_one() -> None:
    """docs/cli.md shows the terminal approval prompt exactly as the CLI writes it."""
    from agentloop.cli.output import format_call

    [shown] = [code for _, code in code_blocks(DOCS / "cli.md", "text") if "[y/N]" in code]
    real = f"Allow {format_call('run_command', json.dumps({'command': 'rm -rf build'}))}? [y/N]"
    assert shown.strip() == real
