"""Fixtures of the end-to-end collection tests: the API and worker wired to localstripe."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from bxb.api.app import create_app
from bxb.core.settings import Settings
from bxb.events.postgres_store import PostgresEventStore
from bxb.worker import build_worker
from tests.conftest import app_client
from tests.support.auth import Tenant
from tests.support.stripe_cards import API_KEY
from tests.support.stripe_events import SECRET
from tests.support.subscriptions import SubscriptionApi
from tests.support.webhook_receiver import WebhookReceiver, running_receiver


@pytest.fixture
def stripe_settings(temporal_settings: Settings, localstripe_url: str) -> Settings:
    return temporal_settings.model_copy(
        update={
            "stripe_api_key": API_KEY,
            "stripe_api_base": localstripe_url,
            "stripe_webhook_secret": SECRET,
        }
    )


@pytest.fixture
async def stack(
    stripe_settings: Settings,
    temporal_env: WorkflowEnvironment,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[httpx.AsyncClient]:
    """The API and the worker, both configured for Stripe at localstripe."""
    queue = stripe_settings.temporal_task_queue
    events = PostgresEventStore(engine)
    async with build_worker(temporal_env.client, queue, sessions, events, stripe_settings):
        async for client in app_client(create_app(stripe_settings)):
            yield client


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
async def subscription_api(
    temporal_settings: Settings, worker: str, tenant_a: Tenant
) -> AsyncIterator[SubscriptionApi]:
    """The API with the worker, waiting at most 4 s for a workflow: a subscription that
    would keep a request waiting shows as a 503 within seconds, not as a hung test."""
    settings = temporal_settings.model_copy(update={"workflow_update_timeout": 4.0})
    async for client in app_client(create_app(settings)):
        yield SubscriptionApi(client, tenant_a)
