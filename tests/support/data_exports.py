"""Running a data export through the API and reading its CSV back."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from typing import Any

import httpx

from tests.support.auth import Tenant

URL = "/api/v1/data_exports"


async def finished(
    client: httpx.AsyncClient, tenant: Tenant, lago_id: str, seconds: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        response = await client.get(f"{URL}/{lago_id}", headers=tenant.headers)
        assert response.status_code == 200, response.text
        export: dict[str, Any] = response.json()["data_export"]
        if export["status"] in ("completed", "failed"):
            return export
        assert time.monotonic() < deadline, export
        await asyncio.sleep(0.1)


async def exported(
    client: httpx.AsyncClient, tenant: Tenant, resource_type: str, filters: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Export, wait for it, download: (the export, the CSV's rows as dicts)."""
    body = {"data_export": {"resource_type": resource_type, "format": "csv", "filters": filters}}
    response = await client.post(URL, json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    export = await finished(client, tenant, response.json()["data_export"]["lago_id"])
    assert export["status"] == "completed", export
    file = await client.get(f"{URL}/{export['lago_id']}/file", headers=tenant.headers)
    assert file.status_code == 200, file.text
    assert file.headers["content-type"].startswith("text/csv")
    assert len(file.content) == export["file_size"]
    return export, list(csv.DictReader(io.StringIO(file.text)))
