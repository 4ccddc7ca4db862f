"""Starting credit-note refund workflows: after the API's commit, and at worker start for
refunds whose start was lost."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from bxb.models import CreditNote, CreditNoteRefund, Payment
from bxb.webhooks import outbox
from bxb.workflows.credit_note_refund import (
    CreditNoteRefundRequest,
    CreditNoteRefundWorkflow,
    credit_note_refund_workflow_id,
)


async def start_credit_note_refund(
    client: Client, credit_note_id: uuid.UUID, at: datetime, *, task_queue: str | None = None
) -> None:
    """Start the note's refund workflow (starting it while it runs does nothing)."""
    await client.start_workflow(
        CreditNoteRefundWorkflow.run,
        CreditNoteRefundRequest(credit_note_id=credit_note_id, at=at),
        id=credit_note_refund_workflow_id(credit_note_id),
        task_queue=outbox.resolve_task_queue(task_queue),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )


async def resume_unstarted_refunds(
    sessions: async_sessionmaker[AsyncSession], client: Client, task_queue: str
) -> int:
    """Start the refund of pending notes whose start was lost (the API committed the note,
    then could not reach Temporal) or that a provider outage left unfinished. Called when
    a worker starts; a refund already done is not made again."""
    rows = CreditNoteRefund.credit_note_id == CreditNote.id
    async with sessions() as session:
        found = await session.execute(
            select(CreditNote.id, CreditNote.created_at).where(
                CreditNote.refund_status == "pending",
                CreditNote.refund_amount_cents > 0,
                exists().where(
                    Payment.invoice_id == CreditNote.invoice_id,
                    Payment.status == "succeeded",
                    Payment.provider_payment_id.is_not(None),
                ),
                or_(
                    ~exists().where(rows),
                    exists().where(rows, CreditNoteRefund.status == "pending"),
                ),
            )
        )
        notes = [(note_id, created_at) for note_id, created_at in found.all()]
    for note_id, created_at in notes:
        await start_credit_note_refund(client, note_id, created_at, task_queue=task_queue)
    return len(notes)
