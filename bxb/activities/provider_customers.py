"""The activity behind ProviderCustomerWorkflow: create the customer at its provider."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from bxb.activities.guard import heartbeats
from bxb.activities.subscriptions import dispatch_webhooks
from bxb.core.settings import Settings
from bxb.payments.collect import provider_for
from bxb.payments.customers import sync_provider_customer
from bxb.workflows.provider_customer import SYNC_ACTIVITY


class ProviderCustomerActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    @activity.defn(name=SYNC_ACTIVITY)
    @heartbeats
    async def sync_provider_customer(self, customer_id: uuid.UUID) -> str:
        """The sync's status; raises on transient failures, for Temporal to retry."""
        outcome = await sync_provider_customer(
            self.sessions,
            provider_for(self.settings),
            customer_id,
            # An earlier attempt may have created the customer before failing.
            retry=activity.info().attempt > 1,
        )
        await dispatch_webhooks(outcome.webhook_ids)
        return outcome.status

    def all(self) -> list[Any]:
        return [self.sync_provider_customer]
