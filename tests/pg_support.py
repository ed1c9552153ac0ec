"""A real PostgreSQL server for the tests: ``initdb`` into a temporary folder, ``pg_ctl start``.

The server is the system's ``postgresql`` package (``scripts/install-test-deps.sh`` installs it
with ``apt-get`` when missing). PostgreSQL refuses to run as root, so where the tests run as root
the cluster belongs to the ``postgres`` system user (created by the Debian package) and every
server command runs through ``runuser``. The server listens on 127.0.0.1 on a free port, with
password (SCRAM) authentication for TCP, so a wrong password is a real failure.

Tests fail (they are not skipped) when the package is missing: a real part is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PgServer", "find_pg_bin", "start_postgres"]

USER = "agentloop"
PASSWORD = "pg-test-secret-7f3a"


def find_pg_bin() -> Path:
    """The folder of the system's PostgreSQL server programs (``initdb``, ``pg_ctl``).

    Raises:
        RuntimeError: When no server is installed (install the ``postgresql`` package).
    """
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError(
        "no PostgreSQL server found (install the system's postgresql package: "
        "bash scripts/install-test-deps.sh does it)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    """A running PostgreSQL cluster in a temporary folder.

    Attributes:
        root: The temporary folder (data directory and socket live inside).
        port: The TCP port on 127.0.0.1.
    """

    root: Path
    port: int
    _bin: Path = field(repr=False)
    _as_user: list[str] = field(repr=False, default_factory=list)

    @property
    def url(self) -> str:
        """A ``postgresql://`` URL with the test user's password, for the ``postgres`` database."""
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        """The URL of another database of this cluster (see :meth:`create_database`)."""
        return f"postgresql://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create a fresh database and return its URL."""
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, name)
        return self.url_for(name)

    def _run(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        return subprocess.run(
            [*self._as_user, str(self._bin / program), *args],
            check=True,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``mode`` ``"immediate"`` is a crash: no shutdown checkpoint)."""
        self._run("pg_ctl", "-D", str(self.root / "data"), "-m", mode, "-w", "stop")

    def start(self) -> None:
        """Start (or restart) the server on the same port."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", log, "-w", "start")

    def close(self) -> None:
        """Stop the server if it runs, and remove its folder."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> PgServer:
    """initdb a new cluster in a temporary folder and start it on a free port.

    Returns:
        The running server; call :meth:`PgServer.close` when done.
    """
    bin_dir = find_pg_bin()
    root = Path(tempfile.mkdtemp(prefix="agentloop-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        # initdb and postgres refuse root: the cluster belongs to the package's system user.
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, user="postgres")
    os.chmod(root, 0o700)
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if as_user:
        shutil.chown(pwfile, user="postgres")
    server = PgServer(root=root, port=_free_port(), _bin=bin_dir, _as_user=as_user)
    server._run(
        "initdb",
        "-D",
        str(root / "data"),
        "-U",
        USER,
        f"--pwfile={pwfile}",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C",
    )
    pwfile.unlink()
    server.start()
    return server
