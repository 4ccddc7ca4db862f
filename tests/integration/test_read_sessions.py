"""Routes marked `reads_only` (bxb.api.deps) run their statements in autocommit: no BEGIN
and ROLLBACK round trips. Every other route keeps its transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bxb.api.app import create_app
from bxb.api.deps import READS_ONLY
from bxb.api.openapi_document import api_routes
from bxb.core.settings import Settings
from tests.support.auth import Tenant


@contextmanager
def statements_seen() -> Iterator[list[tuple[str, bool]]]:
    """Each statement SQLAlchemy runs, with whether its connection was inside a transaction
    when the statement ended (the transaction status PostgreSQL reports to asyncpg)."""
    seen: list[tuple[str, bool]] = []

    def on_statement(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        driver = connection.connection.driver_connection
        seen.append((statement, driver.is_in_transaction()))

    event.listen(Engine, "after_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(Engine, "after_cursor_execute", on_statement)


def _in_transaction(seen: list[tuple[str, bool]], marker: str) -> bool:
    found = [in_transaction for statement, in_transaction in seen if marker in statement]
    assert found, f"no statement with {marker!r}"
    return all(found)


async def test_a_read_only_route_sends_no_begin_and_a_write_keeps_its_transaction(
    client: httpx.AsyncClient, tenant_a: Tenant
) -> None:
    created = await client.post(
        "/api/v1/customers",
        json={"customer": {"external_id": "cus_1", "name": "Ada"}},
        headers=tenant_a.headers,
    )
    assert created.status_code == 200
    with statements_seen() as seen:
        shown = await client.get("/api/v1/customers/cus_1", headers=tenant_a.headers)
        assert shown.status_code == 200
        assert shown.json()["customer"]["name"] == "Ada"
    assert not _in_transaction(seen, "FROM customers")

    with statements_seen() as seen:
        renamed = await client.post(
            "/api/v1/customers",
            json={"customer": {"external_id": "cus_1", "name": "Ada L."}},
            headers=tenant_a.headers,
        )
        assert renamed.status_code == 200
    assert _in_transaction(seen, "pg_advisory_xact_lock")
    shown = await client.get("/api/v1/customers/cus_1", headers=tenant_a.headers)
    assert shown.json()["customer"]["name"] == "Ada L."


def test_only_get_routes_are_marked_read_only(settings: Settings) -> None:
    marked = [
        route
        for route in api_routes(create_app(settings).routes)
        if getattr(route.endpoint, READS_ONLY, False)
    ]
    assert len(marked) == 25
    assert all(route.methods == {"GET"} for route in marked)
