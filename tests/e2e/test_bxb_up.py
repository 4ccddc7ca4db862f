"""Acceptance for `bxb up`: the whole stack as a user starts it, stopped and started again.

Runs the real command in a subprocess on free loopback ports with its own data directory:
/ready answers 200, the Temporal UI answers, SIGTERM and SIGINT stop every child process,
and an organization created before a restart is still there after it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

pytestmark = pytest.mark.slow

BXB = [sys.executable, "-m", "bxb.core.cli"]


def _processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line mentions text (our data dir): postgres and temporal."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture
def stack_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TEMPORAL_ADDRESS")}
    env |= {
        "BXB_DATA_DIR": str(tmp_path / "data"),
        "BXB_API_PORT": str(free_port()),
        "BXB_EMBEDDED_POSTGRES_PORT": str(free_port()),
        "BXB_EMBEDDED_TEMPORAL_PORT": str(free_port()),
        "BXB_TEMPORAL_UI_PORT": str(free_port()),
        "BXB_BOOTSTRAP_API_KEY": "bootstrap_key_for_e2e_test",
    }
    yield env
    for pid in _processes_mentioning(env["BXB_DATA_DIR"]):  # never leave anything behind
        os.kill(pid, signal.SIGKILL)


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*BXB, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def _wait_ready(env: dict[str, str], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, "bxb up exited during start-up"
        try:
            if httpx.get(f"http://127.0.0.1:{env['BXB_API_PORT']}/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise AssertionError("bxb up was not ready in time")


def _stop(process: subprocess.Popen[str], sig: signal.Signals) -> str:
    process.send_signal(sig)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    return out


def test_up_serves_stops_cleanly_and_keeps_data(stack_env: dict[str, str]) -> None:
    api = f"http://127.0.0.1:{stack_env['BXB_API_PORT']}"
    bootstrap = {"Authorization": "Bearer bootstrap_key_for_e2e_test"}

    first = _start(stack_env)
    _wait_ready(stack_env, first)
    assert httpx.get(f"http://127.0.0.1:{stack_env['BXB_TEMPORAL_UI_PORT']}/").status_code == 200
    assert httpx.get(f"{api}/ready", params={"deep": "true"}).json()["worker"] == "ok"
    assert httpx.get(f"{api}/api/v1/organizations", headers=bootstrap).status_code == 200
    created = subprocess.run(
        [*BXB, "org", "create", "Initech"], env=stack_env, capture_output=True, text=True
    )
    key = re.search(r"store it now\): (\S+)", created.stdout)
    assert key is not None, created.stderr
    assert len(_processes_mentioning(stack_env["BXB_DATA_DIR"])) >= 2  # postgres + temporal
    out = _stop(first, signal.SIGTERM)
    assert f"API           {api}/api/v1" in out
    assert "Temporal UI   http://127.0.0.1:" in out
    assert _processes_mentioning(stack_env["BXB_DATA_DIR"]) == []

    second = _start(stack_env)
    _wait_ready(stack_env, second)
    headers = {"Authorization": f"Bearer {key.group(1)}"}
    org = httpx.get(f"{api}/api/v1/organizations", headers=headers).json()["organization"]
    assert org["name"] == "Initech"
    _stop(second, signal.SIGINT)
    assert _processes_mentioning(stack_env["BXB_DATA_DIR"]) == []
