"""Tracing is off by default, and off costs nothing: nothing is installed, nothing sent.

A real OTLP receiver listens throughout; the only way spans could reach it is the
configuration, and it names the receiver only with OTEL_SDK_DISABLED set.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.api.app import create_app
from bxb.core import tracing
from bxb.core.db import create_engine
from bxb.core.settings import Settings
from bxb.core.tracing import configure_tracing
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.otlp_receiver import OtlpReceiver, running_otlp_receiver


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    with running_otlp_receiver() as receiver:
        yield receiver


async def _nothing_is_installed(settings: Settings) -> None:
    assert tracing.active() is None
    # No global provider either: the API's default is the no-op proxy until someone sets one.
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    assert not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry
    assert tracing.client_interceptors() == []
    engine = create_engine(settings.resolved_database_url, pool_size=1)
    try:
        assert not engine.sync_engine.dispatch.before_cursor_execute
    finally:
        await engine.dispose()


async def _some_traffic(app_settings: Settings, tenant: Tenant) -> None:
    app = create_app(app_settings)
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    async for client in app_client(app):
        body = {"customer": {"external_id": "cus_1", "name": "Ada"}}
        created = await client.post("/api/v1/customers", json=body, headers=tenant.headers)
        assert created.status_code == 200, created.text
        listed = await client.get("/api/v1/customers", headers=tenant.headers)
        assert [c["external_id"] for c in listed.json()["customers"]] == ["cus_1"]


async def test_with_nothing_configured_nothing_is_traced(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    otlp: OtlpReceiver,
) -> None:
    stop = configure_tracing(settings, "bxb")
    try:
        await _nothing_is_installed(settings)
        await _some_traffic(settings, tenant_a)
    finally:
        stop()
    assert otlp.requests == 0
    assert otlp.spans == []


async def test_sdk_disabled_sends_nothing_even_with_an_endpoint(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    otlp: OtlpReceiver,
) -> None:
    disabled = settings.model_copy(
        update={"otel_exporter_otlp_endpoint": otlp.endpoint, "otel_sdk_disabled": True}
    )
    stop = configure_tracing(disabled, "bxb")
    try:
        await _nothing_is_installed(disabled)
        await _some_traffic(disabled, tenant_a)
    finally:
        stop()
    assert otlp.requests == 0
    assert otlp.spans == []
