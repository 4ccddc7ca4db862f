"""/api/v1/invoices/{lago_id}/finalize|refresh|void|retry_payment: acting on an invoice.

Collection belongs to the subscription's workflow, so finalizing a subscription draft and
retrying its payment are updates sent to that workflow (it finalizes, then collects, then
runs dunning, in its own order). Voiding and refreshing change PostgreSQL here; a void
then tells the workflow to stop collecting.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import ApiError
from bxb.api.invoices import find_invoice
from bxb.core.customer_clock import customer_now
from bxb.core.invoice_collection import (
    next_attempt,
    notify_invoice_payment,
    owning_workflow_id,
    send_invoice_command,
    start_invoice_collection,
)
from bxb.core.workflow_calls import WorkflowRequestError
from bxb.inputs.bounds import SignedCents
from bxb.lago_objects.invoices import invoice_object
from bxb.ledger import alert_triggers, coupons, credit_notes, notifications, wallets
from bxb.ledger.credit_note_issuing import created_webhook
from bxb.ledger.finalizing import refresh_draft
from bxb.ledger.invoicing import Invoicing
from bxb.models import Customer
from bxb.webhooks import outbox

router = APIRouter(prefix="/api/v1", tags=["invoices"])


def _not_allowed(code: str) -> ApiError:
    return ApiError(405, code=code)


async def _answer(session: SessionDep, org_id: uuid.UUID, lago_id: str) -> dict[str, Any]:
    session.expire_all()
    invoice = await find_invoice(session, org_id, lago_id)
    return {"invoice": await invoice_object(session, invoice)}


@router.put("/invoices/{lago_id}/finalize")
async def finalize_invoice(
    lago_id: str, org: OrgDep, session: SessionDep, temporal: TemporalDep
) -> dict[str, Any]:
    org_id = org.id  # read before any rollback expires it
    invoice = await find_invoice(session, org_id, lago_id)
    if invoice.status != "draft":
        raise _not_allowed("invoice_not_draft")
    invoice_id = invoice.id
    workflow_id = await owning_workflow_id(session, invoice_id)
    if workflow_id is None:  # only subscription invoices are ever drafts
        raise _not_allowed("invoice_not_draft")
    await session.rollback()  # the workflow writes; read afresh afterwards
    try:
        await send_invoice_command(
            await temporal.client(), workflow_id, "finalize_invoice", invoice_id, wait=temporal.wait
        )
    except WorkflowRequestError:
        raise _not_allowed("invoice_not_draft") from None
    return await _answer(session, org_id, lago_id)


@router.put("/invoices/{lago_id}/refresh")
async def refresh_invoice(
    lago_id: str, org: OrgDep, session: SessionDep, request: Request
) -> dict[str, Any]:
    org_id = org.id  # read before any rollback expires it
    invoice = await find_invoice(session, org_id, lago_id)
    if invoice.status == "draft":
        invoice_id = invoice.id
        await session.rollback()
        store = request.app.state.event_pipeline.store
        await refresh_draft(request.app.state.sessions, Invoicing(store), invoice_id)
    # Lago answers a refresh of a finalized invoice with the invoice unchanged.
    return await _answer(session, org_id, lago_id)


class VoidOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    generate_credit_note: bool = False
    refund_amount: SignedCents | None = None  # the ledger refuses what the invoice cannot take
    credit_amount: SignedCents | None = None


@router.post("/invoices/{lago_id}/void")
async def void_invoice(
    lago_id: str,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    options: VoidOptions | None = None,
) -> dict[str, Any]:
    options = options or VoidOptions()
    org_id = org.id
    invoice = await find_invoice(session, org_id, lago_id, for_update=True)
    refusal = await credit_notes.void_refusal(
        session, invoice, generate_credit_note=options.generate_credit_note
    )
    if refusal is not None:
        raise _not_allowed(refusal)
    customer = await session.get(Customer, invoice.customer_id)
    assert customer is not None
    now = await customer_now(session, customer)
    invoice.status = "voided"
    invoice.voided_at = now
    invoice.payment_overdue = False
    await wallets.on_invoice_voided(session, invoice, now)  # a top-up that never settles
    # What it consumed goes back (credit-note balances, wallet credits); what was paid
    # becomes a credit note.
    await credit_notes.release_applied_credits(session, invoice, now)
    await coupons.recredit_voided_invoice(session, invoice, now)
    await wallets.recredit_voided_invoice(session, invoice, now)
    webhooks = await alert_triggers.check_customer_wallet(session, invoice.customer_id, now)
    webhooks += await notifications.invoice_event(session, invoice, "invoice.voided")
    if options.generate_credit_note:
        note = await credit_notes.credit_paid_amount_of_voided_invoice(session, invoice, now)
        if note is not None:
            webhooks += await created_webhook(session, note)
    invoice_id = invoice.id
    await session.commit()
    await notify_invoice_payment(await temporal.client(), session, invoice_id, "voided")
    await outbox.dispatch(await temporal.client(), webhooks)
    return await _answer(session, org_id, lago_id)


@router.post("/invoices/{lago_id}/retry_payment")
async def retry_payment(
    lago_id: str,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    org_id = org.id  # read before any rollback expires it
    invoice = await find_invoice(session, org_id, lago_id)
    if invoice.status != "finalized" or invoice.payment_status == "succeeded":
        raise _not_allowed("invoice_payment_already_succeeded")
    client = await temporal.client()
    invoice_id = invoice.id
    workflow_id = await owning_workflow_id(session, invoice_id)
    attempt = await next_attempt(session, invoice_id)
    if workflow_id is not None:
        await session.rollback()
        try:
            await send_invoice_command(
                client,
                workflow_id,
                "retry_payment",
                invoice_id,
                next_attempt=attempt,
                wait=temporal.wait,
            )
        except WorkflowRequestError:
            raise _not_allowed("not_allowed") from None
    else:
        customer = await session.get(Customer, invoice.customer_id)
        assert customer is not None
        now = await customer_now(session, customer)
        await session.rollback()
        await start_invoice_collection(
            client, invoice_id, task_queue=settings.temporal_task_queue, attempt=attempt, at=now
        )
    return await _answer(session, org_id, lago_id)


async def _dispatch(temporal: TemporalDep, webhooks: list[uuid.UUID]) -> None:
    if webhooks:  # no listener, no delivery: Temporal is not needed
        await outbox.dispatch(await temporal.client(), webhooks)


@router.delete("/invoices/{lago_id}")
async def delete_invoice(
    lago_id: str, org: OrgDep, session: SessionDep, temporal: TemporalDep
) -> dict[str, Any]:
    """Delete a draft (Lago's `Invoices::DeleteService`): it takes Lago's invisible status
    `deleted`, so it is never shown, numbered or finalized (the workflow's finalize step
    finds no draft and forgets it) and its billing key stays taken; 405 `not_deletable`
    for any other status."""
    invoice = await find_invoice(session, org.id, lago_id, for_update=True)
    if invoice.status != "draft":
        raise _not_allowed("not_deletable")
    invoice.status = "deleted"
    await session.flush()
    webhooks = await notifications.invoice_event(session, invoice, "invoice.deleted")
    body = {"invoice": await invoice_object(session, invoice)}
    await session.commit()
    await _dispatch(temporal, webhooks)
    return body


@router.post("/invoices/{lago_id}/lose_dispute")
@router.put("/invoices/{lago_id}/lose_dispute")  # the lago-python-client's method
async def lose_dispute(
    lago_id: str, org: OrgDep, session: SessionDep, temporal: TemporalDep
) -> dict[str, Any]:
    """The customer's payment dispute is lost (Lago's `Invoices::LoseDisputeService`): the
    date is set once, the invoice is no longer overdue, and `invoice.payment_dispute_lost`
    is sent; only finalized or voided invoices (405 `not_disputable`)."""
    org_id = org.id
    invoice = await find_invoice(session, org_id, lago_id, for_update=True)
    if invoice.status not in ("finalized", "voided"):
        raise _not_allowed("not_disputable")
    if invoice.payment_dispute_lost_at is None:
        customer = await session.get(Customer, invoice.customer_id)
        assert customer is not None
        invoice.payment_dispute_lost_at = await customer_now(session, customer)
    invoice.payment_overdue = False
    await session.flush()
    webhooks = await notifications.invoice_event(session, invoice, "invoice.payment_dispute_lost")
    await session.commit()
    await _dispatch(temporal, webhooks)
    return await _answer(session, org_id, lago_id)


@router.post("/invoices/{lago_id}/retry")
async def retry_invoice(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    """Retry a failed generation (Lago: only `failed` invoices, else 405 `invalid_status`).

    bxb never leaves an invoice `failed`: it is generated by the subscription workflow's
    activities, which Temporal retries until they succeed, and taxes come from bxb's own
    tax book (no external provider to fail). So there is never anything to retry: an
    invoice of the organization is answered 405 `invalid_status`, as Lago answers for any
    invoice that is not failed (docs/decisions.md)."""
    await find_invoice(session, org.id, lago_id)
    raise _not_allowed("invalid_status")
