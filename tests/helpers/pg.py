"""A throw-away PostgreSQL cluster for the tests: a real server, never a mock.

`initdb` + `pg_ctl` from /usr/lib/postgresql/*/bin (the newest), in a temporary folder, on a
free local port, `fsync=off` for speed, its unix socket in the same folder. PostgreSQL refuses
to run as root, so as root the binaries run as the `postgres` user (`runuser`) in a folder
that user owns. Host logins need a password (scram-sha-256), so the room logins' passwords are
really checked; the superuser `postgres` has the password SUPERPASS.

Fixtures: `pg` (one cluster for the whole test session, stopped at its end) and `pg_db` (a
fresh database on it per test, with `central init` not yet run). scripts/setup.sh installs
Debian's `postgresql` package when missing; without it and without a way to install it the
tests that need a server are skipped with that reason.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SUPERUSER = "postgres"
SUPERPASS = "superpass-for-tests"


def pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries' folder, or None when none is installed."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found += [Path(p).parent for p in glob.glob("/usr/pgsql-*/bin/initdb")]
    which = shutil.which("initdb")
    if which:
        found.append(Path(which).parent)

    def version(p: Path) -> float:
        with contextlib.suppress(ValueError):
            return float(p.parent.name.removeprefix("pgsql-"))
        return 0.0

    return max(found, key=version) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """One PostgreSQL cluster in a temporary folder; `stop` and `start` it at will."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_root = os.geteuid() == 0 if hasattr(os, "geteuid") else False
        self.base = Path(tempfile.mkdtemp(prefix="holdspace-pg-"))
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.sock.mkdir()
        self.log = self.base / "server.log"
        self.port = free_port()
        self._dbs = itertools.count(1)
        pwfile = self.base / "pw"
        pwfile.write_text(SUPERPASS + "\n")
        if self.as_root:
            os.chmod(self.base, 0o755)
            shutil.chown(self.base, "postgres", "postgres")
            shutil.chown(self.sock, "postgres", "postgres")
            shutil.chown(pwfile, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, f"--pwfile={pwfile}",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        pwfile.unlink()

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / tool), *args]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.base)
        if check and r.returncode != 0:
            raise RuntimeError(f"{tool} failed ({r.returncode}): {r.stderr or r.stdout}")
        return r

    def start(self) -> None:
        opts = (f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                f"-c listen_addresses=127.0.0.1 -p {self.port} "
                f"-c unix_socket_directories={self.sock} -c max_connections=60")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w",
                  "-t", "60", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "60", "stop",
                  check=False)

    def running(self) -> bool:
        return self._run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def url(self, db: str = "postgres", user: str = SUPERUSER, password: str | None = SUPERPASS
            ) -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgresql://{auth}@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its name."""
        import psycopg

        name = f"t{next(self._dbs)}"
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return name

    def remove(self) -> None:
        if self.running():
            self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def _ensure_installed() -> Path | None:
    """The binaries, installing Debian's package as root when missing (as setup.sh does)."""
    found = pg_bin()
    if found is not None:
        return found
    if os.name == "posix" and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "postgresql"], capture_output=True, env=env, timeout=600)
    return pg_bin()


@pytest.fixture(scope="session")
def pg() -> Iterator[Cluster]:
    """A running throw-away cluster for the test session."""
    bindir = _ensure_installed()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed and cannot be installed here (no initdb "
                    "under /usr/lib/postgresql/*/bin; scripts/setup.sh installs it as root)")
    cluster = Cluster(bindir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def pg_db(pg: Cluster) -> str:
    """A fresh database on the session's cluster; its name."""
    if not pg.running():  # a test that stopped the server and failed before restarting it
        pg.start()
    return pg.new_database()


def wait_for_server(cluster: Cluster, timeout: float = 30) -> bool:
    """True once the server accepts connections again."""
    import psycopg

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with psycopg.connect(cluster.url(), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            time.sleep(0.2)
    return False
