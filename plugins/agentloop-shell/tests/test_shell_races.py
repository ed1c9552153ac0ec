"""Races around a running command: only a result or a ToolError ever leaves ``run_command``.

Every test uses real processes, folders and pipes. Races that cannot be forced
(a folder flipping while a command starts) are run many times in a bounded loop.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from agentloop_shell import ShellPlugin

from agentloop import ToolError

pytestmark = pytest.mark.timeout(60)


def _outcome(call: Callable[[], str]) -> str:
    """``"result"`` or ``"ToolError"``; any other exception fails the test with its text."""
    try:
        call()
    except ToolError:
        return "ToolError"
    except Exception as exc:  # what a race must never let out
        pytest.fail(f"{type(exc).__name__} escaped run_command: {exc}")
    return "result"


def _wait_for_file(path: Path, seconds: float = 20.0) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and (text := path.read_text().strip()):
            return text
        time.sleep(0.01)
    raise AssertionError(f"{path} never written")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# Flips the folder between a real folder, a symbolic link to another folder, a plain file and
# nothing at all, as fast as it can, so commands start in every state and in between.
_FLIPPER = textwrap.dedent(
    """
    import os, shutil, sys
    work, other = sys.argv[1], sys.argv[2]
    print("go", flush=True)
    step = 0
    while True:
        step += 1
        try:
            if os.path.islink(work) or os.path.isfile(work):
                os.unlink(work)
            elif os.path.isdir(work):
                shutil.rmtree(work)
            kind = step % 4
            if kind == 0:
                os.mkdir(work)
            elif kind == 1:
                os.symlink(other, work)
            elif kind == 2:
                open(work, "w").close()
        except OSError:
            pass
    """
)


@pytest.fixture
def flipping_folder(tmp_path: Path) -> Iterator[ShellPlugin]:
    work, other = tmp_path / "work", tmp_path / "other"
    work.mkdir()
    other.mkdir()
    # the plugin checks `cwd` when it is configured; from then on it may be anything at call time
    shell = ShellPlugin(enabled=True, cwd=work, timeout=20)
    flipper = subprocess.Popen(
        [sys.executable, "-c", _FLIPPER, str(work), str(other)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert flipper.stdout is not None and flipper.stdout.readline().strip() == "go"
        yield shell
    finally:
        flipper.kill()
        flipper.wait()


def test_working_folder_replaced_between_and_during_calls(flipping_folder: ShellPlugin) -> None:
    shell = flipping_folder
    outcomes: dict[str, int] = {}
    for _ in range(200):
        kind = _outcome(lambda: shell.run("sh -c 'ls; pwd'"))
        outcomes[kind] = outcomes.get(kind, 0) + 1
    assert set(outcomes) <= {"result", "ToolError"}


def test_a_missing_working_folder_is_a_tool_error_naming_it(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shell = ShellPlugin(enabled=True, cwd=work)
    shutil.rmtree(work)
    with pytest.raises(ToolError, match="working folder") as caught:
        shell.run("true")
    assert str(work) in str(caught.value)
    work.write_text("now a file")
    with pytest.raises(ToolError, match="working folder"):
        shell.run("true")


def test_working_folder_removed_while_the_command_runs(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "go").write_text("")
    shell = ShellPlugin(enabled=True, cwd=work, timeout=20)
    script = f"while [ -e {tmp_path / 'go'} ]; do sleep 0.01; done; ls .; pwd; echo done"

    def remove_soon() -> None:
        time.sleep(0.2)
        shutil.rmtree(work)
        (tmp_path / "go").unlink()

    remover = threading.Thread(target=remove_soon)
    remover.start()
    result = shell.run(f"sh -c '{script}'")
    remover.join()
    assert result.startswith("exit code ") and "done" in result


def test_concurrent_calls_from_threads_keep_their_own_output(tmp_path: Path) -> None:
    shell = ShellPlugin(enabled=True, cwd=tmp_path, timeout=30)

    def call(n: int) -> str:
        return shell.run(f"sh -c 'echo start-{n}; sleep 0.01; echo end-{n}'")

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(call, range(64)))
    for n, result in enumerate(results):
        assert result == f"exit code 0\nstart-{n}\nend-{n}\n"


def test_many_open_descriptors_in_the_agent_process(tmp_path: Path) -> None:
    # A long-running agent (a server, many MCP connections) can hold descriptors above 1024,
    # where select.select() refuses to work.
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip("cannot open more than 1024 descriptors here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        shell = ShellPlugin(enabled=True, cwd=tmp_path)
        assert shell.run("echo high") == "exit code 0\nhigh\n"
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_command_killed_from_outside(tmp_path: Path) -> None:
    shell = ShellPlugin(enabled=True, cwd=tmp_path, timeout=30)
    pid_file = tmp_path / "pid"

    def kill_it() -> None:
        os.kill(int(_wait_for_file(pid_file)), signal.SIGKILL)

    killer = threading.Thread(target=kill_it)
    killer.start()
    result = shell.run(f"sh -c 'echo $$ > {pid_file}; exec sleep 30'")
    killer.join()
    assert result.startswith("exit code -9 (killed by SIGKILL")


def test_the_wrapper_killed_from_outside(tmp_path: Path) -> None:
    # The wrapper (the command's parent) dies first: no status line ever comes, and the command
    # it started must not be left running.
    shell = ShellPlugin(enabled=True, cwd=tmp_path, timeout=30)
    ids = tmp_path / "ids"

    def kill_wrapper() -> None:
        wrapper, _command = _wait_for_file(ids).split()
        os.kill(int(wrapper), signal.SIGKILL)

    killer = threading.Thread(target=kill_wrapper)
    killer.start()
    with pytest.raises(ToolError, match="wrapper .*died") as caught:
        shell.run(f"sh -c 'echo $PPID $$ > {ids}.tmp; mv {ids}.tmp {ids}; exec sleep 30'")
    killer.join()
    assert "timed out" not in str(caught.value)
    command = int(ids.read_text().split()[1])
    deadline = time.monotonic() + 10
    while _alive(command) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(command), "the command outlived its killed wrapper"


def test_output_pipes_closed_early_by_the_command(tmp_path: Path) -> None:
    shell = ShellPlugin(enabled=True, cwd=tmp_path)
    result = shell.run("sh -c 'echo before; exec >&- 2>&-; sleep 0.3; exit 4'")
    assert result == "exit code 4\nbefore\n"


def test_grandchildren_that_keep_the_pipe_open_are_killed(tmp_path: Path) -> None:
    shell = ShellPlugin(enabled=True, cwd=tmp_path, timeout=30)
    pids = tmp_path / "pids"
    # a double fork into a new session, each grandchild holding stdout, writing forever
    code = (
        "import os, sys, time\n"
        "for _ in range(3):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        f"            open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n')\n"
        "            while True:\n"
        "                sys.stdout.write('x' * 1000); sys.stdout.flush(); time.sleep(0.001)\n"
        "        os._exit(0)\n"
        "time.sleep(0.5)\n"
        "print('parent done')\n"
    )
    result = _outcome(lambda: shell.run(f"{sys.executable} -c {_quote(code)}"))
    assert result == "result"
    for pid in map(int, pids.read_text().split()):
        assert not _alive(pid), f"grandchild {pid} left running"


def test_a_file_the_command_reads_grows_and_vanishes(tmp_path: Path) -> None:
    target = tmp_path / "log.txt"
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            with open(target, "a") as f:
                f.write("line\n" * 200)
            if target.stat().st_size > 200_000:
                target.unlink()

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        shell = ShellPlugin(enabled=True, cwd=tmp_path, max_output=5000, timeout=20)
        outcomes = {_outcome(lambda: shell.run("cat log.txt")) for _ in range(100)}
    finally:
        stop.set()
        writer.join()
    assert outcomes <= {"result", "ToolError"}


def _quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
