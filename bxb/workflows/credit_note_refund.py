"""CreditNoteRefundWorkflow: give a credit note's refund part back through the provider.

One short workflow per note (id `credit-note-refund/<credit note>`), started by the API
after the note is committed, so starting it twice runs it once. Its one activity is
idempotent per (note, payment). Transient provider failures, and refunds the provider
accepted but has not settled yet, are retried with backoff; a refusal is a final answer
that the activity records (refund_status failed), so the workflow simply returns it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

from bxb.workflows.heartbeats import HEARTBEAT_TIMEOUT

REFUND_ACTIVITY = "refund_credit_note"
# Raised (retryable) while the provider still processes a refund it accepted.
REFUND_PENDING = "RefundPending"

REFUND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


class CreditNoteRefundRequest(BaseModel):
    credit_note_id: UUID
    # When the refund was asked for (the customer's clock): the note's refunded_at.
    at: datetime


def credit_note_refund_workflow_id(credit_note_id: UUID) -> str:
    return f"credit-note-refund/{credit_note_id}"


@workflow.defn
class CreditNoteRefundWorkflow:
    @workflow.run
    async def run(self, request: CreditNoteRefundRequest) -> str:
        status: str = await workflow.execute_activity(
            REFUND_ACTIVITY,
            request,
            result_type=str,
            start_to_close_timeout=timedelta(minutes=2),
            retry_policy=REFUND_RETRY,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            summary="refund at the payment provider",
        )
        return status
