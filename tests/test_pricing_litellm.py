"""Cost from a real LiteLLM proxy (``litellm --config``, offline: a mock response, the price
map bundled with LiteLLM), started as a subprocess on 127.0.0.1.

LiteLLM sends a call's cost in the ``x-litellm-response-cost`` header of an unstreamed
response; a streamed one has no such header (its headers leave before the cost is known) but
carries ``usage.cost`` in its last chunk, as OpenRouter does: both are read, neither by host.

The ``test`` extra installs ``litellm[proxy]``; without it these tests fail, unless
``AGENTLOOP_ALLOW_SKIP=1``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from agentloop import Agent, Price

KEY = "sk-litellm-test-0123456789abcdef0123456789abcdef"
CONFIG = """model_list:
  - model_name: gpt-4o-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: sk-not-used
      mock_response: "Hello from the mock"
"""
# gpt-4o-mini in the price map LiteLLM ships: 0.15 and 0.60 US dollars per million tokens
INPUT, OUTPUT = Decimal("0.15"), Decimal("0.60")


def _litellm() -> str:
    found = Path(sys.executable).with_name("litellm")
    if found.exists():
        return str(found)
    on_path = shutil.which("litellm")
    if on_path:
        return on_path
    message = "the LiteLLM tests need litellm[proxy] (pip install 'litellm[proxy]')"
    if os.environ.get("AGENTLOOP_ALLOW_SKIP") == "1":
        pytest.skip(message)
    pytest.fail(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a LiteLLM proxy running offline."""
    folder = tmp_path_factory.mktemp("litellm")
    (folder / "config.yaml").write_text(CONFIG)
    port = _free_port()
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # the bundled price map: no download
        "LITELLM_TELEMETRY": "False",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    log = (folder / "proxy.log").open("wb")
    command = [_litellm(), "--config", "config.yaml", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a bound on start-up, not a timing assertion
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"litellm exited ({process.returncode}): {(folder / 'proxy.log').read_text()[-2000:]}"
                )
            try:
                if requests.get(f"{url}/health/liveliness", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"litellm did not start: {(folder / 'proxy.log').read_text()[-2000:]}")
            time.sleep(0.25)
        yield f"{url}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _agent(proxy: str, **kw: object) -> Agent:
    return Agent("local:gpt-4o-mini", base_url=proxy, api_key=KEY, load_plugins=False, **kw)  # type: ignore[arg-type]


def test_an_unstreamed_call_has_the_proxys_cost(proxy: str) -> None:
    result = _agent(proxy, stream=False).run("hi")
    assert result.output == "Hello from the mock"
    usage = result.usage
    assert usage.cost is not None and usage.cost > 0
    expected = (usage.prompt_tokens * INPUT + usage.completion_tokens * OUTPUT) / 1_000_000
    assert float(usage.cost) == pytest.approx(float(expected))


def test_the_proxys_figure_wins_over_the_price_table(proxy: str) -> None:
    usage = (
        _agent(proxy, stream=False, price=Price(input=Decimal(1000), output=Decimal(1000)))
        .run("hi")
        .usage
    )
    assert usage.cost is not None and usage.cost < Decimal("0.001")  # not 1000 per million


def test_a_streamed_call_has_the_cost_of_its_last_chunk(proxy: str) -> None:
    result = _agent(proxy, stream=True).run("hi")
    assert result.output == "Hello from the mock"
    usage = result.usage
    assert usage.cost is not None and usage.cost > 0
    expected = (usage.prompt_tokens * INPUT + usage.completion_tokens * OUTPUT) / 1_000_000
    assert float(usage.cost) == pytest.approx(float(expected))
