"""The unmodified lago-python-client on credit notes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from lago_python_client.client import Client
from lago_python_client.exceptions import LagoApiError
from lago_python_client.models.credit_note import (
    CreditNote,
    CreditNoteEstimate,
    CreditNoteUpdate,
    Item,
    Items,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.support.auth import Tenant
from tests.support.credit_notes import DEFAULT_TOTAL, seed_invoice


async def call(function: Any, *args: Any, **kwargs: Any) -> Any:
    """The client is synchronous; the server runs on this event loop."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def test_lago_client_creates_finds_updates_voids_and_estimates(
    live_api: str, tenant_a: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lago = Client(api_key=tenant_a.api_key, api_url=live_api)
    invoice = await seed_invoice(sessions, tenant_a, paid=DEFAULT_TOTAL)
    fee_id, usage_fee_id = (str(fee) for fee in invoice.fee_ids)

    estimate = await call(
        lago.credit_notes.estimate,
        CreditNoteEstimate(
            invoice_id=str(invoice.id),
            items=Items(__root__=[Item(fee_id=fee_id, amount_cents=5_000)]),
        ),
    )
    assert (estimate.max_creditable_amount_cents, estimate.max_refundable_amount_cents) == (
        5_400,
        5_400,
    )
    assert estimate.coupons_adjustment_amount_cents == 500
    assert [item.lago_fee_id for item in estimate.items.__root__] == [fee_id]

    note = await call(
        lago.credit_notes.create,
        CreditNote(
            invoice_id=str(invoice.id),
            reason="order_change",
            description="Downgrade",
            credit_amount_cents=400,
            refund_amount_cents=5_000,
            items=Items(__root__=[Item(fee_id=fee_id, amount_cents=5_000)]),
            metadata={"source": "support"},
        ),
    )
    assert note.number == f"{invoice.number}-CN1"
    assert (note.total_amount_cents, note.taxes_amount_cents) == (5_400, 900)
    assert (note.credit_status, note.refund_status) == ("available", "pending")
    assert note.items.__root__[0].fee.lago_id == fee_id
    assert note.applied_taxes.__root__[0].amount_cents == 900
    assert note.customer.external_id == "cus_1"
    assert note.metadata == {"source": "support"}

    found = await call(lago.credit_notes.find, note.lago_id)
    assert found.lago_id == note.lago_id
    listed = await call(lago.credit_notes.find_all, {"reason": "order_change"})
    assert [n.lago_id for n in listed["credit_notes"]] == [note.lago_id]
    assert listed["meta"]["total_count"] == 1

    updated = await call(
        lago.credit_notes.update, CreditNoteUpdate(refund_status="succeeded"), note.lago_id
    )
    assert updated.refund_status == "succeeded"
    voided = await call(lago.credit_notes.void, note.lago_id)
    assert (voided.credit_status, voided.balance_amount_cents) == ("voided", 0)

    with pytest.raises(LagoApiError) as error:
        await call(
            lago.credit_notes.create,
            CreditNote(
                invoice_id=str(invoice.id),
                credit_amount_cents=1_000,
                items=Items(__root__=[Item(fee_id=usage_fee_id, amount_cents=334)]),
            ),
        )
    assert error.value.status_code == 422
    with pytest.raises(LagoApiError) as error:
        await call(lago.credit_notes.void, note.lago_id)
    assert error.value.status_code == 405
