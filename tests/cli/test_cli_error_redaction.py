"""The CLI's one error line never shows a key the process knows, whatever raised the error.

Each case puts the key into the error's own message (a server echoing it, a target failing with
it), so only the redaction of the error line stands between the key and the terminal. The keys
have no credential shape: only "the value of a key-like variable" can identify them.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from cli_support import agentloop

FAILING_RUN = textwrap.dedent(
    """
    import os

    from agentloop import Agent, AgentloopError
    from agentloop.testing import FunctionModel


    def model(request):
        secret = os.environ["SECRET_VALUE_HOLDER"]
        if os.environ["BOOM_KIND"] == "agentloop":
            raise AgentloopError(f"the server said: bad key {os.environ[secret]}")
        raise RuntimeError(f"the server said: bad key {os.environ[secret]}")


    agent = Agent(FunctionModel(model), load_plugins=False)
    """
)
FAILING_IMPORT = textwrap.dedent(
    """
    import os

    raise RuntimeError("cannot start with " + os.environ[os.environ["SECRET_VALUE_HOLDER"]])
    """
)


def _error_line(stderr: str) -> str:
    (line,) = [x for x in stderr.splitlines() if x.startswith("agentloop: error:")]
    return line


@pytest.mark.parametrize("variable", ["ACME_TOKEN", "ACME_API_KEY", "ACME_SECRET"])
@pytest.mark.parametrize(
    ("script", "kind", "shown"),
    [
        (FAILING_RUN, "agentloop", "agentloop: error: the server said: bad key [REDACTED]"),
        (
            FAILING_RUN,
            "internal",
            "internal error: RuntimeError: the server said: bad key [REDACTED]",
        ),
        (FAILING_IMPORT, "import", "RuntimeError: cannot start with [REDACTED]"),
    ],
    ids=["agentloop-error", "internal-error", "import-error"],
)
def test_the_error_line_redacts_every_key_variable(
    tmp_path: Path, variable: str, script: str, kind: str, shown: str
) -> None:
    secret = "plain" + uuid.uuid4().hex[:16]
    (tmp_path / "target.py").write_text(script)
    proc = agentloop(
        "run", "target.py", "hi", cwd=tmp_path,
        SECRET_VALUE_HOLDER=variable, BOOM_KIND=kind, **{variable: secret},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert secret not in proc.stdout + proc.stderr
    assert shown in _error_line(proc.stderr)
    assert "Traceback" not in proc.stderr
