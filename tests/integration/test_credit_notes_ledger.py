"""Credit notes in the ledger: balances spent by later invoices, notes bxb issues itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.billing.credit_notes import CreditableFee, CreditableInvoice, CreditItem, compute_credit
from bxb.core.db import transaction
from bxb.lago_objects.credit_notes import invoice_credits
from bxb.ledger.credit_note_issuing import (
    creditable_invoice,
    issue_credit_note,
    lock_invoice,
    note_applied_taxes,
)
from bxb.ledger.credit_notes import (
    apply_credit_notes,
    credit_paid_amount_of_voided_invoice,
    credit_unused_fee,
    release_applied_credits,
    void_credit_note,
)
from bxb.models import CreditNote, CreditNoteApplication, Fee, Invoice, Webhook, WebhookEndpoint
from tests.support.auth import Tenant
from tests.support.credit_notes import DEFAULT_TOTAL, SeededInvoice, seed_invoice

AT = datetime(2026, 2, 1, tzinfo=UTC)


async def credit(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    invoice: SeededInvoice,
    fee_index: int,
    amount: int,
    at: datetime = AT,
) -> uuid.UUID:
    """A credit-only note for `amount` of one fee; returns its id."""
    async with transaction(sessions) as session:
        row = await lock_invoice(session, tenant.organization_id, invoice.id)
        assert row is not None
        state = await creditable_invoice(session, row)
        amounts = compute_credit(state, [CreditItem(str(invoice.fee_ids[fee_index]), amount)])
        note, _ = await issue_credit_note(
            session,
            row,
            amounts,
            credit_amount_cents=amounts.total_amount_cents,
            refund_amount_cents=0,
            reason="other",
            at=at,
        )
        return note.id


async def finalize(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, invoice: SeededInvoice
) -> int:
    async with transaction(sessions) as session:
        row = await session.get(Invoice, invoice.id)
        assert row is not None
        return await apply_credit_notes(session, row, AT)


async def note(sessions: async_sessionmaker[AsyncSession], note_id: uuid.UUID) -> CreditNote:
    async with sessions() as session:
        row = await session.get(CreditNote, note_id)
        assert row is not None
        return row


async def test_balances_are_spent_oldest_first_and_once(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    old = await seed_invoice(sessions, tenant_a)
    older_note = await credit(sessions, tenant_a, old, 1, 100, AT - timedelta(days=2))  # 106
    newer_note = await credit(sessions, tenant_a, old, 0, 1_000, AT - timedelta(days=1))  # 1 080
    usd = await seed_invoice(sessions, tenant_a, currency="USD")
    await credit(sessions, tenant_a, usd, 1, 333)  # another currency: never spent on EUR
    # A later invoice of 500: the older note entirely, then 394 of the newer one.
    later = await seed_invoice(sessions, tenant_a, fees=((500, 0, 0, "0"),))
    assert await finalize(sessions, tenant_a, later) == 500
    assert await finalize(sessions, tenant_a, later) == 500  # idempotent
    async with sessions() as session:
        row = await session.get(Invoice, later.id)
        assert row is not None
        assert (row.credit_notes_amount_cents, row.total_amount_cents) == (500, 0)
        credits = (await invoice_credits(session, [row]))[row.id]
    first, second = await note(sessions, older_note), await note(sessions, newer_note)
    assert (first.balance_amount_cents, first.credit_status) == (0, "consumed")
    assert (second.balance_amount_cents, second.credit_status) == (686, "available")
    assert [(c["item"]["code"], c["amount_cents"]) for c in credits] == [
        (first.number, 106),
        (second.number, 394),
    ]
    assert credits[0]["item"]["type"] == "credit_note"
    assert credits[0]["item"]["name"] == old.number
    assert credits[0]["before_taxes"] is False
    assert credits[0]["invoice"] == {"lago_id": str(later.id), "payment_status": "pending"}
    # A bigger invoice takes what is left and no more.
    big = await seed_invoice(sessions, tenant_a, fees=((5_000, 0, 0, "0"),))
    assert await finalize(sessions, tenant_a, big) == 686
    async with sessions() as session:
        row = await session.get(Invoice, big.id)
        assert row is not None
        assert row.total_amount_cents == 5_000 - 686
    nothing = await seed_invoice(sessions, tenant_a, fees=((5_000, 0, 0, "0"),))
    assert await finalize(sessions, tenant_a, nothing) == 0


async def test_voided_notes_are_not_spent_and_voiding_again_does_nothing(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    old = await seed_invoice(sessions, tenant_a)
    note_id = await credit(sessions, tenant_a, old, 1, 100)
    async with transaction(sessions) as session:
        row = await session.get(CreditNote, note_id)
        assert row is not None
        assert await void_credit_note(session, row, AT)
        assert not await void_credit_note(session, row, AT)
    later = await seed_invoice(sessions, tenant_a, fees=((500, 0, 0, "0"),))
    assert await finalize(sessions, tenant_a, later) == 0


async def test_voided_invoice_gives_back_the_credit_it_used(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    old = await seed_invoice(sessions, tenant_a)
    kept = await credit(sessions, tenant_a, old, 1, 100)  # 106
    gone = await credit(sessions, tenant_a, old, 0, 100)  # 108
    later = await seed_invoice(sessions, tenant_a, fees=((1_000, 0, 0, "0"),))
    assert await finalize(sessions, tenant_a, later) == 214
    async with transaction(sessions) as session:
        row = await session.get(CreditNote, gone)
        assert row is not None
        row.credit_status = "voided"  # voided meanwhile: stays voided
    async with transaction(sessions) as session:
        invoice = await session.get(Invoice, later.id)
        assert invoice is not None
        assert await release_applied_credits(session, invoice, AT) == 106
        assert await release_applied_credits(session, invoice, AT) == 0
    restored = await note(sessions, kept)
    assert (restored.balance_amount_cents, restored.credit_status) == (106, "available")
    assert (await note(sessions, gone)).credit_status == "voided"
    async with sessions() as session:
        assert await session.scalar(select(CreditNoteApplication)) is None


async def test_unused_fee_credit_is_capped_and_idempotent(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    invoice = await seed_invoice(sessions, tenant_a)
    async with transaction(sessions) as session:
        fee = await session.get(Fee, invoice.fee_ids[0])
        assert fee is not None
        first = await credit_unused_fee(session, fee, 5_000, reason="order_change", at=AT)
        assert first is not None
        again = await credit_unused_fee(session, fee, 5_000, reason="order_change", at=AT)
        assert again is not None
        assert again.id == first.id
    assert (first.total_amount_cents, first.credit_amount_cents) == (5_400, 5_400)
    assert (first.refund_amount_cents, first.refund_status) == (0, None)
    assert (first.reason, first.credit_status, first.issuing_date.isoformat()) == (
        "order_change",
        "available",
        "2026-02-01",
    )
    async with transaction(sessions) as session:
        fee = await session.get(Fee, invoice.fee_ids[0])
        assert fee is not None
        capped = await credit_unused_fee(session, fee, 99_999, reason="other", at=AT)
        assert capped is not None
        assert capped.total_amount_cents == 10_800 - 5_400
        assert await credit_unused_fee(session, fee, 1, reason="fraudulent_charge", at=AT) is None


async def test_unused_fee_credit_needs_a_finalized_invoice(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    draft = await seed_invoice(sessions, tenant_a, status="draft")
    async with transaction(sessions) as session:
        fee = await session.get(Fee, draft.fee_ids[0])
        assert fee is not None
        assert await credit_unused_fee(session, fee, 100, reason="order_change", at=AT) is None
        assert await credit_unused_fee(session, fee, 0, reason="order_change", at=AT) is None
        # A fee of an invoice that does not exist: nothing to credit.
        ghost = Fee(id=uuid.uuid4(), organization_id=tenant_a.organization_id)
        ghost.invoice_id = uuid.uuid4()
        assert await credit_unused_fee(session, ghost, 100, reason="order_change", at=AT) is None


async def test_a_voided_invoices_payments_become_exactly_that_much_credit(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    invoice = await seed_invoice(sessions, tenant_a, paid=5_001)
    async with transaction(sessions) as session:
        row = await session.get(Invoice, invoice.id)
        assert row is not None
        row.status = "voided"
        made = await credit_paid_amount_of_voided_invoice(session, row, AT)
        assert made is not None
        again = await credit_paid_amount_of_voided_invoice(session, row, AT)
        assert again is not None
        assert again.id == made.id
    assert (made.total_amount_cents, made.credit_amount_cents, made.reason) == (
        5_001,
        5_001,
        "other",
    )
    assert made.balance_amount_cents == 5_001
    assert len(made.items) == 2
    unpaid = await seed_invoice(sessions, tenant_a)
    async with transaction(sessions) as session:
        row = await session.get(Invoice, unpaid.id)
        assert row is not None
        assert await credit_paid_amount_of_voided_invoice(session, row, AT) is None


async def test_a_fully_paid_voided_invoice_is_credited_in_full(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    invoice = await seed_invoice(sessions, tenant_a, paid=DEFAULT_TOTAL)
    await credit(sessions, tenant_a, invoice, 1, 333)  # 351 credited earlier
    async with transaction(sessions) as session:
        row = await session.get(Invoice, invoice.id)
        assert row is not None
        made = await credit_paid_amount_of_voided_invoice(session, row, AT)
        assert made is not None
    assert made.total_amount_cents == DEFAULT_TOTAL - 351


async def test_created_webhook_is_queued_with_the_note(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    async with transaction(sessions) as session:
        session.add(
            WebhookEndpoint(organization_id=tenant_a.organization_id, webhook_url="http://x.test")
        )
    invoice = await seed_invoice(sessions, tenant_a)
    note_id = await credit(sessions, tenant_a, invoice, 1, 10)
    async with sessions() as session:
        webhook = await session.scalar(select(Webhook))
    assert webhook is not None
    assert (webhook.webhook_type, webhook.object_type, webhook.object_id) == (
        "credit_note.created",
        "credit_note",
        note_id,
    )
    assert webhook.payload["credit_note"]["lago_id"] == str(note_id)
    assert webhook.payload["organization_id"] == str(tenant_a.organization_id)


async def test_a_fully_discounted_fee_has_nothing_to_credit(
    sessions: async_sessionmaker[AsyncSession], tenant_a: Tenant
) -> None:
    invoice = await seed_invoice(sessions, tenant_a, fees=((1_000, 1_000, 0, "20"),))
    async with transaction(sessions) as session:
        fee = await session.get(Fee, invoice.fee_ids[0])
        assert fee is not None
        assert await credit_unused_fee(session, fee, 500, reason="order_change", at=AT) is None
        assert await invoice_credits(session, []) == {}


def test_taxes_are_split_over_the_taxes_that_make_up_the_fees_rate() -> None:
    vat = {"tax_code": "vat", "tax_name": "VAT", "tax_rate": 10.0, "amount_cents": 100}
    local = {"tax_code": "local", "tax_name": "Local", "tax_rate": 10.0, "amount_cents": 100}
    invoice = Invoice(applied_taxes=[vat, local])
    fee = CreditableFee("f", 1_000, 0, 200, Decimal(20))
    amounts = compute_credit(CreditableInvoice((fee,), 0), [CreditItem("f", 500)])
    assert note_applied_taxes(invoice, amounts) == [
        {**vat, "amount_cents": 50, "base_amount_cents": 500},
        {**local, "amount_cents": 50, "base_amount_cents": 500},
    ]
    # A rate no combination explains: spread in proportion to the invoice's amounts.
    odd = CreditableFee("f", 1_000, 0, 70, Decimal(7))
    amounts = compute_credit(CreditableInvoice((odd,), 0), [CreditItem("f", 1_000)])
    shares = [entry["amount_cents"] for entry in note_applied_taxes(invoice, amounts)]
    assert shares == [35, 35]
