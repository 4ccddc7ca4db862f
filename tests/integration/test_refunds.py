"""Refunding credit notes through Stripe (bxb.payments.refunds) against a real localstripe.

Verified here about localstripe (and relied on by bxb): a Refund can be created with
`payment_intent` and keeps its metadata; refunds can be listed by `payment_intent`; the
Idempotency-Key is ignored (two creates, two refunds), which is why bxb commits a row per
(note, payment) before calling and looks for its refund first; and a payment that failed
cannot be refunded (a refusal).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError

from bxb.activities.refunds import RefundActivities
from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.models import CreditNote, CreditNoteRefund, Invoice, Payment
from bxb.payments import refunds
from bxb.payments.provider import ProviderUnavailableError, RefundResult, RefundStatus
from bxb.payments.refunds import allocate, refund_credit_note
from bxb.payments.stripe_provider import StripeProvider, refund_result
from bxb.workflows.credit_note_refund import REFUND_PENDING, CreditNoteRefundRequest
from tests.integration.test_payments import (
    insert_customer,
    insert_invoice,
    listen_to_webhooks,
    queued_webhooks,
)
from tests.support.auth import Tenant
from tests.support.ports import free_port
from tests.support.stripe_cards import API_KEY, DECLINING_CARD, stripe_client, stripe_customer

AT = datetime(2026, 3, 5, tzinfo=UTC)


@pytest.fixture
def stripe_settings(settings: Settings, localstripe_url: str) -> Settings:
    return settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": localstripe_url}
    )


class Shop:
    """A Stripe customer with a card, its bxb customer and one invoice."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], tenant: Tenant) -> None:
        self.sessions = sessions
        self.tenant = tenant
        self.stripe_customer = ""
        self.invoice_id = uuid.uuid4()

    async def open(
        self, localstripe_url: str, card: str | None = None, external_id: str = "cus_1"
    ) -> Shop:
        if card is None:
            self.stripe_customer = await stripe_customer(localstripe_url)
        else:
            self.stripe_customer = await stripe_customer(localstripe_url, card)
        self.provider = StripeProvider(API_KEY, localstripe_url)
        customer_id = await insert_customer(
            self.sessions, self.tenant, external_id, self.stripe_customer
        )
        self.invoice_id = await insert_invoice(self.sessions, self.tenant, customer_id, 1000)
        return self

    async def stripe_payment(self, amount: int, status: str = "succeeded") -> tuple[str, str]:
        """Charge the card at localstripe and record it; (payment id, PaymentIntent id)."""
        charged = await self.provider.charge(
            self.stripe_customer, amount, "USD", str(uuid.uuid4()), {"test": "1"}
        )
        assert charged.provider_payment_id is not None
        return await self.payment(amount, "stripe", charged.provider_payment_id, status), (
            charged.provider_payment_id
        )

    async def payment(
        self, amount: int, provider: str, intent: str | None = None, status: str = "succeeded"
    ) -> str:
        async with transaction(self.sessions) as session:
            invoice = await session.get(Invoice, self.invoice_id)
            assert invoice is not None
            payment = Payment(
                organization_id=self.tenant.organization_id,
                invoice_id=invoice.id,
                customer_id=invoice.customer_id,
                provider=provider,
                amount_cents=amount,
                currency="USD",
                status=status,
                provider_payment_id=intent,
                paid_at=AT,
            )
            session.add(payment)
            invoice.total_paid_amount_cents += amount
            await session.flush()
            return str(payment.id)

    async def note(self, refund: int, credit: int = 0) -> uuid.UUID:
        async with transaction(self.sessions) as session:
            invoice = await session.get(Invoice, self.invoice_id)
            assert invoice is not None
            count = len(
                list(
                    await session.scalars(
                        select(CreditNote.id).where(CreditNote.invoice_id == invoice.id)
                    )
                )
            )
            note = CreditNote(
                organization_id=self.tenant.organization_id,
                customer_id=invoice.customer_id,
                invoice_id=invoice.id,
                sequential_id=count + 1,
                number=f"{invoice.number}-CN{count + 1}",
                issuing_date=date(2026, 3, 5),
                reason="other",
                currency="USD",
                credit_status="available" if credit else None,
                refund_status="pending" if refund else None,
                total_amount_cents=refund + credit,
                taxes_amount_cents=0,
                taxes_rate=Decimal(0),
                precise_taxes_amount_cents=Decimal(0),
                sub_total_excluding_taxes_amount_cents=refund + credit,
                coupons_adjustment_amount_cents=0,
                precise_coupons_adjustment_amount_cents=Decimal(0),
                credit_amount_cents=credit,
                refund_amount_cents=refund,
                balance_amount_cents=credit,
            )
            session.add(note)
            await session.flush()
            return note.id


async def note_row(sessions: async_sessionmaker[AsyncSession], note_id: uuid.UUID) -> CreditNote:
    async with sessions() as session:
        note = await session.get(CreditNote, note_id)
        assert note is not None
        return note


async def refund_rows(
    sessions: async_sessionmaker[AsyncSession], note_id: uuid.UUID
) -> list[tuple[str, int, str]]:
    """(payment id, amount, status) of each refund row of the note, in payment order."""
    async with sessions() as session:
        rows = await session.scalars(
            select(CreditNoteRefund)
            .join(Payment, Payment.id == CreditNoteRefund.payment_id)
            .where(CreditNoteRefund.credit_note_id == note_id)
            .order_by(Payment.created_at)
        )
        return [(str(r.payment_id), r.amount_cents, r.status) for r in rows]


async def stripe_refunds(localstripe_url: str, intent: str) -> list[Any]:
    page = await stripe_client(localstripe_url).refunds.list_async(
        {"payment_intent": intent, "limit": 100}
    )
    return list(page.data)


async def test_localstripe_refunds_by_payment_intent_but_ignores_idempotency_keys(
    localstripe_url: str,
) -> None:
    customer = await stripe_customer(localstripe_url)
    provider = StripeProvider(API_KEY, localstripe_url)
    charged = await provider.charge(customer, 900, "USD", "k", {})
    assert charged.provider_payment_id is not None
    intent = charged.provider_payment_id
    assert await provider.find_refund(intent, {"lago_credit_note_id": "n"}) is None
    first = await provider.refund(intent, 300, "USD", "same-key", {"lago_credit_note_id": "n"})
    second = await provider.refund(intent, 300, "USD", "same-key", {"lago_credit_note_id": "m"})
    assert first.status == second.status == "succeeded"
    assert first.provider_refund_id != second.provider_refund_id  # the key was ignored
    found = await provider.find_refund(intent, {"lago_credit_note_id": "n"})
    assert found == first
    assert sorted(r.amount for r in await stripe_refunds(localstripe_url, intent)) == [300, 300]


async def test_a_refund_goes_back_through_the_stripe_payment(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    stripe_settings: Settings,
    localstripe_url: str,
) -> None:
    shop = await Shop(sessions, tenant_a).open(localstripe_url)
    payment_id, intent = await shop.stripe_payment(1000)
    note_id = await shop.note(refund=400, credit=100)
    outcome = await refund_credit_note(sessions, stripe_settings, note_id, AT)
    assert (outcome.status, outcome.refunded_amount_cents) == ("succeeded", 400)
    note = await note_row(sessions, note_id)
    assert (note.refund_status, note.refunded_at) == ("succeeded", AT)
    assert await refund_rows(sessions, note_id) == [(payment_id, 400, "succeeded")]
    [refund] = await stripe_refunds(localstripe_url, intent)
    assert (refund.amount, refund.status) == (400, "succeeded")
    assert refund.metadata.to_dict() == {
        "lago_credit_note_id": str(note_id),
        "lago_payment_id": payment_id,
    }
    async with sessions() as session:
        row = await session.scalar(select(CreditNoteRefund))
        assert row is not None
        assert (row.provider_refund_id, row.idempotency_key) == (
            refund.id,
            f"{note_id}-{payment_id}",
        )


async def test_running_twice_or_after_a_crash_refunds_once(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    stripe_settings: Settings,
    localstripe_url: str,
) -> None:
    shop = await Shop(sessions, tenant_a).open(localstripe_url)
    payment_id, intent = await shop.stripe_payment(1000)
    note_id = await shop.note(refund=250)
    # A run that reached Stripe and crashed before its commit: the row is still pending.
    async with transaction(sessions) as session:
        session.add(
            CreditNoteRefund(
                organization_id=tenant_a.organization_id,
                credit_note_id=note_id,
                payment_id=uuid.UUID(payment_id),
                provider="stripe",
                amount_cents=250,
                currency="USD",
                status="pending",
                idempotency_key=f"{note_id}-{payment_id}",
            )
        )
    metadata = {"lago_credit_note_id": str(note_id), "lago_payment_id": payment_id}
    made = await shop.provider.refund(intent, 250, "USD", "key", metadata)
    first = await refund_credit_note(sessions, stripe_settings, note_id, AT)
    second = await refund_credit_note(sessions, stripe_settings, note_id, AT)
    assert first.status == second.status == "succeeded"
    assert second.refunded_amount_cents == 250
    assert [r.id for r in await stripe_refunds(localstripe_url, intent)] == [
        made.provider_refund_id
    ]
    assert await refund_rows(sessions, note_id) == [(payment_id, 250, "succeeded")]


async def test_a_refusal_fails_the_refund_and_sends_the_webhook(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    stripe_settings: Settings,
    localstripe_url: str,
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    shop = await Shop(sessions, tenant_a).open(localstripe_url, DECLINING_CARD)
    # Recorded as paid, but Stripe declined it: Stripe refuses to refund it.
    payment_id, intent = await shop.stripe_payment(1000)
    note_id = await shop.note(refund=600)
    outcome = await refund_credit_note(sessions, stripe_settings, note_id, AT)
    assert (outcome.status, outcome.refunded_amount_cents) == ("failed", 0)
    note = await note_row(sessions, note_id)
    assert (note.refund_status, note.refunded_at) == ("failed", None)
    assert await refund_rows(sessions, note_id) == [(payment_id, 600, "failed")]
    assert await stripe_refunds(localstripe_url, intent) == []
    [webhook] = await queued_webhooks(sessions, tenant_a)
    assert outcome.webhook_ids == [webhook.id]
    assert webhook.webhook_type == "credit_note.refund_failure"
    assert webhook.object_type == "credit_note_payment_provider_refund_error"
    error = webhook.payload["credit_note_payment_provider_refund_error"]
    assert error["lago_credit_note_id"] == str(note_id)
    assert error["external_customer_id"] == "cus_1"
    assert error["provider_customer_id"] == shop.stripe_customer
    assert (error["payment_provider"], error["payment_provider_code"]) == (
        "stripe",
        "stripe_test",
    )
    assert "failed payment" in error["provider_error"]["message"]
    # A retried activity changes nothing and dispatches the same webhook again.
    again = await refund_credit_note(sessions, stripe_settings, note_id, AT)
    assert (again.status, again.webhook_ids) == ("failed", [webhook.id])
    assert len(await queued_webhooks(sessions, tenant_a)) == 1


async def test_stripe_payments_are_refunded_oldest_first_and_manual_money_is_left(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    stripe_settings: Settings,
    localstripe_url: str,
) -> None:
    shop = await Shop(sessions, tenant_a).open(localstripe_url)
    await shop.payment(300, "manual")
    older, older_intent = await shop.stripe_payment(300)
    newer, newer_intent = await shop.stripe_payment(400)
    await shop.payment(300, "stripe", "pi_declined", status="failed")  # nothing to give back
    earlier = await shop.note(refund=200)
    assert (await refund_credit_note(sessions, stripe_settings, earlier, AT)).status == "succeeded"
    assert await refund_rows(sessions, earlier) == [(older, 200, "succeeded")]
    # 900 asked: 100 left of the older payment, then 400 of the newer; 400 paid by hand.
    note_id = await shop.note(refund=900)
    outcome = await refund_credit_note(sessions, stripe_settings, note_id, AT)
    assert (outcome.status, outcome.refunded_amount_cents) == ("manual", 500)
    assert await refund_rows(sessions, note_id) == [
        (older, 100, "succeeded"),
        (newer, 400, "succeeded"),
    ]
    assert (await note_row(sessions, note_id)).refund_status == "pending"
    assert sorted(r.amount for r in await stripe_refunds(localstripe_url, older_intent)) == [
        100,
        200,
    ]
    assert [r.amount for r in await stripe_refunds(localstripe_url, newer_intent)] == [400]
    # Nothing left at Stripe: a later note is all the operator's.
    last = await shop.note(refund=50)
    assert (await refund_credit_note(sessions, stripe_settings, last, AT)).status == "manual"
    assert await refund_rows(sessions, last) == []


async def test_without_a_provider_payment_or_key_nothing_is_refunded(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    settings: Settings,
    stripe_settings: Settings,
    localstripe_url: str,
) -> None:
    shop = await Shop(sessions, tenant_a).open(localstripe_url)
    await shop.payment(500, "manual")
    manual_only = await shop.note(refund=500)
    outcome = await refund_credit_note(sessions, stripe_settings, manual_only, AT)
    assert outcome.status == "manual"
    assert (await note_row(sessions, manual_only)).refund_status == "pending"

    other = await Shop(sessions, tenant_a).open(localstripe_url, external_id="cus_2")
    await other.stripe_payment(500)
    note_id = await other.note(refund=500)
    assert (await refund_credit_note(sessions, settings, note_id, AT)).status == "no_provider"
    assert await refund_rows(sessions, note_id) == []
    # Planned with the key, then the key was removed: the rows wait for it.
    async with transaction(sessions) as session:
        await refunds._plan(session, other.provider, note_id)
    assert (await refund_credit_note(sessions, settings, note_id, AT)).status == "no_provider"

    credit_only = await other.note(refund=0, credit=100)
    nothing = await refund_credit_note(sessions, stripe_settings, credit_only, AT)
    assert nothing.status == "nothing_to_refund"
    unknown = await refund_credit_note(sessions, stripe_settings, uuid.uuid4(), AT)
    assert unknown.status == "nothing_to_refund"


async def test_a_note_settled_by_the_operator_is_not_refunded_again(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    stripe_settings: Settings,
    localstripe_url: str,
) -> None:
    shop = await Shop(sessions, tenant_a).open(localstripe_url)
    _, intent = await shop.stripe_payment(1000)
    note_id = await shop.note(refund=300)
    async with transaction(sessions) as session:
        await refunds._plan(session, shop.provider, note_id)
        note = await session.get(CreditNote, note_id)
        assert note is not None
        note.refund_status = "succeeded"  # PUT /credit_notes/{id} before the workflow ran
    outcome = await refund_credit_note(sessions, stripe_settings, note_id, AT)
    assert outcome.status == "succeeded"
    assert await stripe_refunds(localstripe_url, intent) == []


class SlowProvider(StripeProvider):
    """Stripe accepted the refund but settles it later (e.g. some payment methods)."""

    answers: ClassVar[list[RefundStatus]] = []

    async def find_refund(self, payment_id: str, metadata: Any) -> RefundResult | None:
        if not self.answers:
            return None
        return RefundResult(self.answers.pop(0), "re_slow")

    async def refund(self, *args: Any) -> RefundResult:
        return RefundResult("pending", "re_slow")


async def test_a_refund_stripe_still_processes_is_polled_until_it_settles(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    stripe_settings: Settings,
    localstripe_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = await Shop(sessions, tenant_a).open(localstripe_url)
    payment_id, _ = await shop.stripe_payment(1000)
    note_id = await shop.note(refund=700)
    monkeypatch.setattr(refunds, "provider_for", lambda _: SlowProvider(API_KEY))
    activities = RefundActivities(sessions, stripe_settings)
    request = CreditNoteRefundRequest(credit_note_id=note_id, at=AT)
    with pytest.raises(ApplicationError) as raised:
        await activities.refund_credit_note(request)
    assert raised.value.type == REFUND_PENDING  # retryable: Temporal polls with backoff
    assert await refund_rows(sessions, note_id) == [(payment_id, 700, "pending")]
    SlowProvider.answers = ["pending", "succeeded"]
    with pytest.raises(ApplicationError):
        await activities.refund_credit_note(request)
    assert await activities.refund_credit_note(request) == "succeeded"
    assert (await note_row(sessions, note_id)).refund_status == "succeeded"


def test_refund_results_from_stripe_objects() -> None:
    assert refund_result({"id": "re_1", "status": "succeeded"}) == RefundResult("succeeded", "re_1")
    assert refund_result({"id": "re_2", "status": "requires_action"}).status == "pending"
    failed = refund_result({"id": "re_3", "status": "failed", "failure_reason": "lost_card"})
    assert (failed.status, failed.failure_code) == ("failed", "lost_card")
    canceled = refund_result({"id": "re_4", "status": "canceled"})
    assert (canceled.status, canceled.failure_code) == ("failed", "canceled")


def test_allocation_takes_each_source_in_order_up_to_what_it_can_give() -> None:
    assert allocate(500, [("a", 100), ("b", 0), ("c", -5), ("d", 700)]) == [
        ("a", 100),
        ("d", 400),
    ]
    assert allocate(50, [("a", 100), ("b", 100)]) == [("a", 50)]
    assert allocate(500, [("a", 100)]) == [("a", 100)]
    assert allocate(0, [("a", 100)]) == []


async def test_a_provider_outage_is_retried_without_refunding_twice(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    stripe_settings: Settings,
    localstripe_url: str,
) -> None:
    shop = await Shop(sessions, tenant_a).open(localstripe_url)
    payment_id, intent = await shop.stripe_payment(1000)
    note_id = await shop.note(refund=1000)
    unreachable = stripe_settings.model_copy(
        update={"stripe_api_base": f"http://127.0.0.1:{free_port()}"}
    )
    with pytest.raises(ProviderUnavailableError):  # Temporal retries the activity
        await refund_credit_note(sessions, unreachable, note_id, AT)
    assert await refund_rows(sessions, note_id) == [(payment_id, 1000, "pending")]
    with pytest.raises(ProviderUnavailableError):
        await StripeProvider(API_KEY, unreachable.stripe_api_base).refund(
            intent, 1000, "USD", "k", {}
        )
    assert (await refund_credit_note(sessions, stripe_settings, note_id, AT)).status == "succeeded"
    assert [r.amount for r in await stripe_refunds(localstripe_url, intent)] == [1000]


async def test_rows_and_notes_settled_by_another_run_are_left_alone(
    sessions: async_sessionmaker[AsyncSession],
    tenant_a: Tenant,
    stripe_settings: Settings,
    localstripe_url: str,
) -> None:
    shop = await Shop(sessions, tenant_a).open(localstripe_url)
    _, intent = await shop.stripe_payment(1000)
    note_id = await shop.note(refund=100)
    assert (await refund_credit_note(sessions, stripe_settings, note_id, AT)).status == "succeeded"
    async with sessions() as session:
        row_id = await session.scalar(select(CreditNoteRefund.id))
    assert row_id is not None
    async with transaction(sessions) as session:
        await refunds._refund_row(session, shop.provider, note_id, row_id, AT)
        settled = await refunds._conclude(session, note_id, AT)
    assert (settled.status, settled.refunded_amount_cents) == ("succeeded", 100)
    assert len(await stripe_refunds(localstripe_url, intent)) == 1
