"""agentloop-shell: no process outlives its command, and the command has resource limits (issue 10).

Every bound is hit on purpose with a small limit. The processes a command leaves
behind would sleep for 600 s; the tests check they are gone (and kill them before
failing if not).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest
from agentloop_shell import DEFAULT_LIMITS, ShellPlugin

from agentloop import ConfigurationError, ToolError

PY = shlex.quote(sys.executable)


def gone(pid: int, polls: int = 200) -> bool:
    """True once ``pid`` no longer exists (a zombie counts as gone); kills it when not.

    Polls every 50 ms: a hang bound of 10 s for a process that would sleep 600 s.
    """
    for _ in range(polls):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in {"Z", "X"}:
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    return False


def pids(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"pid=(\d+)", text)]


def python(code: str) -> str:
    return f"{PY} -c {shlex.quote(code)}"


# -- no process left behind --------------------------------------------------------------


NEW_SESSION = (
    "import subprocess, sys\n"
    "p = subprocess.Popen(['sleep', '600'], start_new_session=True)\n"
    "print(f'pid={p.pid}', flush=True)\n"
)
DOUBLE_FORK = (
    "import os, sys, time\n"
    "if os.fork() == 0:\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        print(f'pid={os.getpid()}', flush=True)\n"
    "        time.sleep(600)\n"
    "    os._exit(0)\n"
    "os.wait()\n"
    "time.sleep(0.2)\n"
)


@pytest.mark.parametrize("code", [NEW_SESSION, DOUBLE_FORK], ids=["setsid", "daemon"])
def test_processes_in_new_sessions_are_reaped_when_the_command_ends(code: str) -> None:
    out = ShellPlugin(enabled=True, timeout=20).run(python(code))
    assert out.startswith("exit code 0\n[1 process(es) it left running were killed]"), out
    (pid,) = pids(out)
    assert gone(pid)


def test_processes_in_new_sessions_are_reaped_on_timeout() -> None:
    code = NEW_SESSION + "import time\ntime.sleep(600)\n"
    with pytest.raises(ToolError, match="timed out after 1 s") as raised:
        ShellPlugin(enabled=True, timeout=1).run(python(code))
    (pid,) = pids(str(raised.value))
    assert gone(pid)


# -- resource limits ---------------------------------------------------------------------


def test_cpu_time_limit() -> None:
    plugin = ShellPlugin(enabled=True, timeout=60, max_cpu_seconds=1)
    out = plugin.run(python("while True: pass"))
    assert out.startswith("exit code -24 (killed by SIGXCPU: the CPU time limit of 1 s)")


def test_memory_limit() -> None:
    plugin = ShellPlugin(enabled=True, timeout=30, max_memory_bytes=64 * 1024**2)
    out = plugin.run(python("b = bytearray(512 * 1024**2)"))
    assert out.startswith("exit code 1") and "MemoryError" in out
    assert (
        ShellPlugin(enabled=True)
        .run(python("b = bytearray(16 * 1024**2)"))
        .startswith("exit code 0")
    )


def test_file_size_limit(tmp_path: Path) -> None:
    plugin = ShellPlugin(enabled=True, timeout=30, cwd=tmp_path, max_file_bytes=1000)
    out = plugin.run(python("with open('big', 'wb') as f:\n    f.write(b'x' * 5000)"))
    assert out.startswith("exit code 1") and "File too large" in out
    assert (tmp_path / "big").stat().st_size <= 1000
    killed = plugin.run("dd if=/dev/zero of=dd.out bs=5000 count=1")
    assert killed.startswith("exit code -25 (killed by SIGXFSZ: the file size limit of 1000 bytes)")


def test_process_limit() -> None:
    """Forking past the limit fails. Linux exempts root, so under root the command drops to
    ``nobody`` with setpriv (the limit is then absolute, as documented)."""
    script = "i=0; while [ $i -lt 40 ]; do sleep 30 & i=$((i+1)); done; echo started $i"
    command = ["sh", "-c", script]
    if os.geteuid() == 0:
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *command]
    plugin = ShellPlugin(enabled=True, timeout=30, cwd="/", max_processes=5)
    out = plugin.run(shlex.join(command))
    assert "Cannot fork" in out and "started 40" not in out, out
    killed = re.search(r"\[(\d+) process\(es\) it left running were killed\]", out)
    assert killed is not None and 1 <= int(killed.group(1)) <= 5


def test_limits_reach_the_command() -> None:
    plugin = ShellPlugin(enabled=True, max_memory_bytes=300_000_000, max_file_bytes=123_456)
    out = plugin.run("cat /proc/self/limits")
    assert re.search(r"Max file size\s+123456\s+123456", out)
    assert re.search(r"Max data size\s+300000000\s+300000000", out)
    assert re.search(rf"Max cpu time\s+{DEFAULT_LIMITS['max_cpu_seconds']}\s", out)
    assert re.search(r"Max core file size\s+0\s+0", out)


def test_limits_can_be_switched_off() -> None:
    plugin = ShellPlugin(
        enabled=True, max_memory_bytes=None, max_cpu_seconds=None, max_file_bytes=None
    )
    out = plugin.run("cat /proc/self/limits")
    limits = dict(re.findall(r"^(Max [a-z ]+?)\s{2,}(\S+)", out, re.M))
    parent = dict(
        re.findall(r"^(Max [a-z ]+?)\s{2,}(\S+)", Path("/proc/self/limits").read_text(), re.M)
    )
    for name in ("Max data size", "Max cpu time", "Max file size"):
        assert limits[name] == parent[name]


@pytest.mark.parametrize("name", list(DEFAULT_LIMITS))
@pytest.mark.parametrize("value", [0, -1, 1.5])
def test_bad_limits_are_configuration_errors(name: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=name):
        ShellPlugin(enabled=True, **{name: value})  # type: ignore[arg-type]


def test_the_command_gets_default_signal_dispositions() -> None:
    """The wrapper is Python (which ignores SIGPIPE and SIGXFSZ); the command must not be."""
    out = ShellPlugin(enabled=True).run("grep SigIgn /proc/self/status")
    assert re.search(r"SigIgn:\s+0+\n", out), out
