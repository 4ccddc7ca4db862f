"""`bxb export` against the API served on a loopback port, with the worker running."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.cli import main
from bxb.exports.cli import parse_filters
from tests.support.auth import Tenant
from tests.support.credit_notes import seed_invoice


def test_filters_from_the_command_line() -> None:
    pairs = ["statuses=draft", "statuses=finalized", "currency=EUR", "metadata.po=42"]
    assert parse_filters("invoices", pairs) == {
        "statuses": ["draft", "finalized"],
        "currency": "EUR",
        "metadata": {"po": "42"},
    }


@pytest.mark.usefixtures("worker")
async def test_export_shows_progress_and_writes_the_file(
    live_api: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = await seed_invoice(sessions, tenant_a, customer="cus_1", fees=((4250, 0, 850, "20"),))
    await seed_invoice(sessions, tenant_a, customer="cus_2")
    output = tmp_path / "invoices.csv"
    argv = [
        "export",
        "invoices",
        "--filter",
        "external_customer_id=cus_1",
        "--output",
        str(output),
        "--api-url",
        live_api,
        "--api-key",
        tenant_a.api_key,
    ]
    assert await asyncio.to_thread(main, argv) == 0
    out = capsys.readouterr().out
    assert "exporting" in out
    assert "1 rows written" in out
    with output.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(r["lago_id"], r["total_amount_cents"]) for r in rows] == [(str(first.id), "5100")]

    bad = [*argv[:2], "--filter", "nope=1", *argv[4:]]
    assert await asyncio.to_thread(main, bad) == 1
    assert "validation_errors" in capsys.readouterr().out
