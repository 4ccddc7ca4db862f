"""Acceptance for `bxb up`: the whole stack as a user starts it, stopped and started again.

Runs the real command in a subprocess on free loopback ports with its own data directory:
/ready answers 200, the Temporal UI answers, SIGTERM and SIGINT stop every child process,
and an organization created before a restart is still there after it. After inputs that
once wedged a subscription, and with a request still in flight, SIGTERM stops it in seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
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
    app_page = httpx.get(f"{api}/")  # the web app (`make test` builds it before the tests)
    assert app_page.status_code == 200
    assert '<div id="root">' in app_page.text
    created = subprocess.run(
        [*BXB, "org", "create", "Initech"], env=stack_env, capture_output=True, text=True
    )
    key = re.search(r"store it now\): (\S+)", created.stdout)
    assert key is not None, created.stderr
    assert len(_processes_mentioning(stack_env["BXB_DATA_DIR"])) >= 2  # postgres + temporal
    out = _stop(first, signal.SIGTERM)
    assert f"API           {api}/api/v1" in out
    assert "Temporal UI   http://127.0.0.1:" in out
    assert f"Web app       {api}/" in out
    assert _processes_mentioning(stack_env["BXB_DATA_DIR"]) == []

    second = _start(stack_env)
    _wait_ready(stack_env, second)
    headers = {"Authorization": f"Bearer {key.group(1)}"}
    org = httpx.get(f"{api}/api/v1/organizations", headers=headers).json()["organization"]
    assert org["name"] == "Initech"
    _stop(second, signal.SIGINT)
    assert _processes_mentioning(stack_env["BXB_DATA_DIR"]) == []


WEDGES = [
    # The workflow's own date arithmetic overflows (New York's local day of it is in year 0).
    {"external_id": "year_1", "subscription_at": "0001-01-01T00:00:00Z"},
    # subscription/<uuid>/<external_id> outgrows its 255-character column.
    {"external_id": "x" * 230},
    # PostgreSQL cannot store NUL in text.
    {"external_id": "nul", "name": "\u0000"},
]


async def _ready(api: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 120
    async with httpx.AsyncClient() as http:
        while time.monotonic() < deadline:
            assert process.returncode is None, "bxb up exited during start-up"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get(f"{api}/ready")).status_code == 200:
                    return
            await asyncio.sleep(0.25)
    raise AssertionError("bxb up was not ready in time")


async def _subscribe(http: httpx.AsyncClient, **subscription: str) -> httpx.Response:
    body = {"external_customer_id": "cus_1", "plan_code": "p", **subscription}
    return await http.post("/api/v1/subscriptions", json={"subscription": body})


async def _lock_subscription_row(port: int) -> Any:
    """A connection holding sub_1's row lock: the workflow's next write to it waits."""
    locker = await asyncpg.connect(host="127.0.0.1", port=port, user="postgres", database="bxb")
    await locker.execute("BEGIN")
    await locker.execute("SELECT 1 FROM subscriptions WHERE external_id = 'sub_1' FOR UPDATE")
    return locker


async def test_up_stops_within_seconds_after_wedge_inputs_with_a_request_in_flight(
    stack_env: dict[str, str], record_property: Callable[[str, object], None]
) -> None:
    api = f"http://127.0.0.1:{stack_env['BXB_API_PORT']}"
    process = await asyncio.create_subprocess_exec(
        *BXB, "up", env=stack_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await _ready(api, process)
        headers = {"Authorization": "Bearer bootstrap_key_for_e2e_test"}
        async with httpx.AsyncClient(base_url=api, headers=headers, timeout=60) as http:
            customer = {"external_id": "cus_1", "timezone": "America/New_York"}
            assert (await http.post("/api/v1/customers", json={"customer": customer})).is_success
            plan = {"name": "P", "code": "p", "interval": "monthly", "amount_cents": 100}
            plan["amount_currency"] = "USD"
            assert (await http.post("/api/v1/plans", json={"plan": plan})).is_success
            for wedge in WEDGES:
                started = time.monotonic()
                answer = await _subscribe(http, **wedge)
                assert answer.status_code == 422, answer.text
                assert time.monotonic() - started < 10
            assert (await _subscribe(http, external_id="sub_1")).is_success
            # A request in flight at shutdown: its workflow's activity waits on a row lock.
            locker = await _lock_subscription_row(int(stack_env["BXB_EMBEDDED_POSTGRES_PORT"]))
            try:
                rename = {"subscription": {"name": "In flight"}}
                in_flight = asyncio.create_task(
                    http.put("/api/v1/subscriptions/sub_1", json=rename)
                )
                waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                while not await locker.fetchval(waiting):  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
                stopping = time.monotonic()
                process.send_signal(signal.SIGTERM)
                await asyncio.wait_for(process.wait(), 60)
                stopped_in = time.monotonic() - stopping
            finally:
                with contextlib.suppress(Exception):
                    await locker.close()
            # Abandoned cleanly: a complete answer in Lago's shape, not a bare 500.
            abandoned = await in_flight
            assert abandoned.status_code == 503, abandoned.text
            assert abandoned.json()["status"] == 503
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    record_property("stopped_in_seconds", round(stopped_in, 1))
    logging.getLogger(__name__).info("bxb up stopped %.1f s after SIGTERM", stopped_in)
    assert process.returncode == 0
    assert stopped_in < 30
    assert _processes_mentioning(stack_env["BXB_DATA_DIR"]) == []
