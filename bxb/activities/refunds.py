"""The activity that refunds a credit note at the payment provider.

The work (and its idempotency) is in bxb.payments.refunds; this reports to Temporal: a
refund the provider is still processing raises a retryable error, so the workflow's retry
policy polls it with backoff until it settles.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from bxb.activities.heartbeat import heartbeating
from bxb.activities.subscriptions import dispatch_webhooks
from bxb.core.settings import Settings
from bxb.payments import refunds
from bxb.workflows.credit_note_refund import (
    REFUND_ACTIVITY,
    REFUND_PENDING,
    CreditNoteRefundRequest,
)


class RefundActivities:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings

    @activity.defn(name=REFUND_ACTIVITY)
    async def refund_credit_note(self, request: CreditNoteRefundRequest) -> str:
        outcome = await heartbeating(
            refunds.refund_credit_note(
                self.sessions, self.settings, request.credit_note_id, request.at
            )
        )
        await dispatch_webhooks(outcome.webhook_ids)
        if outcome.status == "pending":
            raise ApplicationError(
                f"the provider is still processing the refund of {request.credit_note_id}",
                type=REFUND_PENDING,
            )
        return outcome.status

    def all(self) -> list[Any]:
        return [self.refund_credit_note]
