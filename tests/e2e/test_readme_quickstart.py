"""The README's Python quickstart, run as it is written, against a live bxb and worker.

The block is read from README.md, so the quickstart can't drift from what bxb does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.models import Invoice
from tests.support.auth import Tenant

README = Path(__file__).resolve().parents[2] / "README.md"


def quickstart_code() -> str:
    text = README.read_text()
    section = text[text.index("## Quickstart") :]
    section = section[: section.index("\n## ", 1)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, "the Quickstart has one Python block"
    return str(blocks[0])


def _run(code: str) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        # Our own README, run as a reader would run it.
        exec(compile(code, "README.md#quickstart", "exec"), {"__name__": "quickstart"})
    return printed.getvalue()


async def test_the_readme_quickstart_bills_ten_calls(
    live_api: str,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BXB_API_KEY", tenant_a.api_key)
    monkeypatch.setenv("BXB_URL", live_api)
    printed = (await asyncio.to_thread(_run, quickstart_code())).splitlines()
    assert printed[0] == "usage so far: 500"
    number, status, total, currency = printed[1].split()
    assert (status, total, currency) == ("finalized", "500", "USD")
    async with sessions() as session:
        invoice = (await session.scalars(select(Invoice).where(Invoice.number == number))).one()
    assert invoice.organization_id == tenant_a.organization_id
    assert invoice.total_amount_cents == 500
