"""The unmodified lago-python-client: every method it has is driven against a live bxb, or
named below with the reason it is not (yet)."""

from __future__ import annotations

import asyncio

import pytest
from lago_python_client.client import Client
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conformance.database_steps import mark_overdue
from tests.conformance.lago_client_calls import Recorder, client_methods, drive
from tests.support.auth import Tenant

# Lago's quoting (quotes, their versions, order forms, orders) is not part of the API
# reference bxb follows (no operation of lago-openapi.yaml), nor of bxb.
QUOTING = (
    "order_forms.find",
    "order_forms.find_all",
    "order_forms.mark_as_signed",
    "order_forms.void",
    "orders.execute",
    "orders.find",
    "orders.find_all",
    "quote_versions.approve",
    "quote_versions.clone",
    "quote_versions.find",
    "quote_versions.void",
    "quotes.find",
    "quotes.find_all",
    "quotes.versions",
)
NOT_SUPPORTED: dict[str, str] = dict.fromkeys(
    QUOTING, "Lago's quotes and order forms are outside the API reference bxb serves"
)

# Methods whose routes other parts of issue 13 are adding; the lead empties this after merging.
AWAITING_MERGE: frozenset[str] = frozenset()


def test_the_lists_name_only_methods_the_client_has() -> None:
    methods = set(client_methods(Client(api_key="k", api_url="http://127.0.0.1:9")))
    assert set(NOT_SUPPORTED) <= methods
    assert methods >= AWAITING_MERGE
    assert not (set(NOT_SUPPORTED) & AWAITING_MERGE)


async def test_every_method_of_lagos_client_is_driven(
    live_api: str,
    worker: str,
    tenant_a: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    client = Client(api_key=tenant_a.api_key, api_url=live_api)
    methods = set(client_methods(client))
    called: set[str] = set()
    loop = asyncio.get_running_loop()

    def overdue(lago_id: str) -> None:  # from drive's thread, on the server's loop
        asyncio.run_coroutine_threadsafe(mark_overdue(sessions, lago_id), loop).result()

    await asyncio.to_thread(drive, Recorder(client, called), set(AWAITING_MERGE), overdue)
    # Every method the client has ran, or is named with its reason.
    assert methods - called - set(NOT_SUPPORTED) - AWAITING_MERGE == set()
    assert called & set(NOT_SUPPORTED) == set()
    if AWAITING_MERGE:
        pytest.skip(f"{len(AWAITING_MERGE)} client methods await their routes' merge")
