"""`bxb api --workers 2`: several API processes behind one port, served and stopped cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.auth import Tenant
from tests.support.ports import free_port

pytestmark = pytest.mark.slow


async def test_api_runs_in_several_processes(
    database_url: str, tenant_a: Tenant, tmp_path: Path
) -> None:
    port = free_port()
    # The environment a user's shell gives, not the test process's: in full runs the
    # uvicorn children, started with this worker's environment (coverage's subprocess
    # hooks among it), died at start-up with nothing on stderr, again and again.
    kept = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env = kept | {
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "BXB_API_PORT": str(port),
        "PYTHONFAULTHANDLER": "1",  # a child that crashes says where
    }
    log_path = tmp_path / "api.log"
    log = log_path.open("w")  # what the processes said, shown if they do not start
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bxb.core.cli",
        "api",
        "--workers",
        "2",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 120  # two processes importing bxb on a busy machine
            while True:
                said = log_path.read_text
                assert process.returncode is None, f"bxb api exited in start-up:\n{said()}"
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, f"bxb api did not start:\n{said()}"
                    await asyncio.sleep(0.2)
            answers = [
                await client.get("/api/v1/organizations", headers=tenant_a.headers)
                for _ in range(20)
            ]
        assert {a.status_code for a in answers} == {200}
        assert answers[0].json()["organization"]["lago_id"] == str(tenant_a.organization_id)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                assert await process.wait() == 0
        finally:
            log.close()
