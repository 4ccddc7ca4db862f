"""Payment attempts against a real localstripe through the stripe SDK.

Verified here about localstripe (and relied on by bxb): PaymentIntents with
off_session + confirm work; a customer's invoice_settings.default_payment_method is
honoured; 4000000000000341 attaches but is declined on every charge; and Idempotency-Key
is NOT honoured (the same key twice makes two charges), which is why an attempt commits
its row before calling Stripe and looks for its own charge when it runs again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.ledger.invoicing import lock_invoice
from bxb.models import Customer, Payment
from bxb.payments.collect import _charge, _Claim, attempt_payment
from bxb.payments.manual import record_manual_payment
from bxb.payments.provider import ChargeResult, ProviderUnavailableError
from bxb.payments.stripe_provider import StripeProvider, _failure, _transient, object_id
from tests.integration.test_payments import (
    AT,
    insert_customer,
    insert_invoice,
    invoice_row,
    listen_to_webhooks,
    payments_of,
    queued_webhooks,
)
from tests.support.auth import Tenant
from tests.support.ports import free_port
from tests.support.stripe_cards import (
    API_KEY,
    DECLINING_CARD,
    GOOD_CARD,
    add_card,
    charges_of,
    payment_intents_of,
    stripe_client,
    stripe_customer,
)

# localstripe asks for 3-D Secure on this card: the PaymentIntent waits (requires_action).
AUTHENTICATION_CARD = "4000002500003155"


@pytest.fixture
def stripe_settings(settings: Settings, localstripe_url: str) -> Settings:
    return settings.model_copy(
        update={"stripe_api_key": API_KEY, "stripe_api_base": localstripe_url}
    )


async def stripe_invoice(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    stripe_customer_id: str,
    total: int = 1000,
) -> uuid.UUID:
    customer_id = await insert_customer(
        sessions, tenant, stripe_customer_id, provider_customer_id=stripe_customer_id
    )
    return await insert_invoice(sessions, tenant, customer_id, total=total)


async def test_localstripe_charges_off_session_but_ignores_idempotency_keys(
    localstripe_url: str,
) -> None:
    customer = await stripe_customer(localstripe_url)
    provider = StripeProvider(API_KEY, localstripe_url)
    metadata = {"lago_invoice_id": "inv", "attempt": "1"}
    first = await provider.charge(customer, 500, "EUR", "same-key", metadata)
    second = await provider.charge(customer, 500, "EUR", "same-key", metadata)
    assert first.status == second.status == "succeeded"
    assert first.provider_payment_id != second.provider_payment_id
    charges = await charges_of(localstripe_url, customer)
    assert [(c.amount, c.currency, c.status) for c in charges] == [(500, "eur", "succeeded")] * 2


async def test_a_good_card_pays_the_invoice_once_however_often_the_attempt_runs(
    sessions: async_sessionmaker[AsyncSession],
    stripe_settings: Settings,
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    customer = await stripe_customer(localstripe_url)
    invoice_id = await stripe_invoice(sessions, tenant_a, customer, total=1234)

    outcome = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)
    again = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)

    assert outcome.status == "succeeded"
    assert again.model_dump(exclude={"webhook_ids"}) == outcome.model_dump(exclude={"webhook_ids"})
    [payment] = await payments_of(sessions, invoice_id)
    assert (payment.provider, payment.attempt, payment.status) == ("stripe", 1, "succeeded")
    assert (payment.amount_cents, payment.currency, payment.paid_at) == (1234, "USD", AT)
    assert payment.idempotency_key == f"{invoice_id}-1"
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 1234)
    [charge] = await charges_of(localstripe_url, customer)
    assert (charge.amount, charge.currency, charge.status) == (1234, "usd", "succeeded")
    assert charge.payment_intent == payment.provider_payment_id
    intent = await stripe_client(localstripe_url).payment_intents.retrieve_async(
        str(payment.provider_payment_id)
    )
    assert intent.metadata.to_dict() == {"lago_invoice_id": str(invoice_id), "attempt": "1"}
    # A later attempt finds nothing due and charges nothing.
    later = await attempt_payment(sessions, stripe_settings, invoice_id, 2, AT)
    assert later.status == "nothing_due"
    assert len(await charges_of(localstripe_url, customer)) == 1


@pytest.mark.parametrize("voided_meanwhile", [False, True])
async def test_a_crash_after_the_charge_is_recovered_without_charging_again(
    sessions: async_sessionmaker[AsyncSession],
    stripe_settings: Settings,
    localstripe_url: str,
    tenant_a: Tenant,
    voided_meanwhile: bool,
) -> None:
    customer = await stripe_customer(localstripe_url)
    invoice_id = await stripe_invoice(sessions, tenant_a, customer)
    # The first run committed its row and charged, then died before recording the result.
    invoice = await invoice_row(sessions, invoice_id)
    async with transaction(sessions) as session:
        session.add(
            Payment(
                organization_id=tenant_a.organization_id,
                invoice_id=invoice_id,
                customer_id=invoice.customer_id,
                provider="stripe",
                attempt=1,
                amount_cents=1000,
                currency="USD",
                status="pending",
                idempotency_key=f"{invoice_id}-1",
            )
        )
    provider = StripeProvider(API_KEY, localstripe_url)
    metadata = {"lago_invoice_id": str(invoice_id), "attempt": "1"}
    charged = await provider.charge(customer, 1000, "USD", f"{invoice_id}-1", metadata)
    if voided_meanwhile:  # the money was taken all the same: it must be recorded
        async with transaction(sessions) as session:
            locked = await lock_invoice(session, invoice_id)
            assert locked is not None
            locked.status = "voided"

    outcome = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)

    assert outcome.status == "succeeded"
    [payment] = await payments_of(sessions, invoice_id)
    assert payment.provider_payment_id == charged.provider_payment_id
    assert len(await charges_of(localstripe_url, customer)) == 1
    assert (await invoice_row(sessions, invoice_id)).payment_status == "succeeded"


async def test_a_declined_card_fails_the_attempt_and_a_replaced_card_pays_the_next(
    sessions: async_sessionmaker[AsyncSession],
    stripe_settings: Settings,
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    customer = await stripe_customer(localstripe_url, DECLINING_CARD)
    invoice_id = await stripe_invoice(sessions, tenant_a, customer)

    declined = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)
    replayed = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)

    assert (declined.status, declined.code) == ("failed", "card_declined")
    assert declined.message == "Your card was declined."
    assert replayed.payment_id == declined.payment_id
    [failed] = await payments_of(sessions, invoice_id)
    assert (failed.status, failed.failure_code) == ("failed", "card_declined")
    assert failed.provider_payment_id is not None
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("failed", 0)
    assert [c.status for c in await charges_of(localstripe_url, customer)] == ["failed"]

    await add_card(localstripe_url, customer, GOOD_CARD, default=True)
    paid = await attempt_payment(sessions, stripe_settings, invoice_id, 2, AT)

    assert paid.status == "succeeded"
    rows = await payments_of(sessions, invoice_id)
    assert [(p.attempt, p.status) for p in rows] == [(1, "failed"), (2, "succeeded")]
    invoice = await invoice_row(sessions, invoice_id)
    assert (invoice.payment_status, invoice.total_paid_amount_cents) == ("succeeded", 1000)
    statuses = sorted(c.status for c in await charges_of(localstripe_url, customer))
    assert statuses == ["failed", "succeeded"]
    # Each change of the invoice's payment status is one webhook, named by its payment.
    queued = await queued_webhooks(sessions, tenant_a)
    webhooks = [w for w in queued if w.webhook_type == "invoice.payment_status_updated"]
    assert [(w.object_id, w.payload["invoice"]["payment_status"]) for w in webhooks] == [
        (declined.payment_id, "failed"),
        (paid.payment_id, "succeeded"),
    ]
    # The succeeded payment's receipt is announced too, delivered with the payment's.
    [receipt] = [w for w in queued if w.webhook_type == "payment_receipt.created"]
    assert receipt.object_id == paid.payment_id
    assert declined.webhook_ids == replayed.webhook_ids == [webhooks[0].id]
    assert sorted(paid.webhook_ids) == sorted([webhooks[1].id, receipt.id])


async def test_without_a_default_the_first_attached_card_is_charged(
    sessions: async_sessionmaker[AsyncSession],
    stripe_settings: Settings,
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    customer = await stripe_customer(localstripe_url, GOOD_CARD, default=False)
    invoice_id = await stripe_invoice(sessions, tenant_a, customer)
    assert (await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)).status == (
        "succeeded"
    )

    no_card = await stripe_customer(localstripe_url, None)
    other = await stripe_invoice(sessions, tenant_a, no_card)
    outcome = await attempt_payment(sessions, stripe_settings, other, 1, AT)
    assert (outcome.status, outcome.code) == ("failed", "no_payment_method")
    assert (await invoice_row(sessions, other)).payment_status == "failed"


async def test_an_unknown_stripe_customer_fails_the_attempt_without_retrying(
    sessions: async_sessionmaker[AsyncSession], stripe_settings: Settings, tenant_a: Tenant
) -> None:
    invoice_id = await stripe_invoice(sessions, tenant_a, "cus_doesnotexist")
    outcome = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)
    assert outcome.status == "failed"
    [payment] = await payments_of(sessions, invoice_id)
    assert payment.status == "failed"


async def test_a_payment_waiting_for_the_customer_is_pending_and_not_charged_twice(
    sessions: async_sessionmaker[AsyncSession],
    stripe_settings: Settings,
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    customer = await stripe_customer(localstripe_url, AUTHENTICATION_CARD)
    invoice_id = await stripe_invoice(sessions, tenant_a, customer)

    first = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)
    retried = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)
    next_attempt = await attempt_payment(sessions, stripe_settings, invoice_id, 2, AT)

    assert first.status == retried.status == next_attempt.status == "pending"
    assert next_attempt.payment_id == first.payment_id  # waits for attempt 1
    [payment] = await payments_of(sessions, invoice_id)
    assert (payment.attempt, payment.status) == (1, "processing")
    assert (await invoice_row(sessions, invoice_id)).payment_status == "pending"
    mine = await payment_intents_of(localstripe_url, customer)
    assert [i.status for i in mine] == ["requires_action"]


async def test_a_transient_stripe_failure_raises_and_the_retry_charges_once(
    sessions: async_sessionmaker[AsyncSession],
    stripe_settings: Settings,
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    customer = await stripe_customer(localstripe_url)
    invoice_id = await stripe_invoice(sessions, tenant_a, customer)
    unreachable = stripe_settings.model_copy(
        update={"stripe_api_base": f"http://127.0.0.1:{free_port()}"}
    )

    with pytest.raises(ProviderUnavailableError):
        await attempt_payment(sessions, unreachable, invoice_id, 1, AT)
    [pending] = await payments_of(sessions, invoice_id)
    assert (pending.status, pending.provider_payment_id) == ("pending", None)
    # The retry (Temporal's) finds no charge of the attempt, so it charges, once.
    with pytest.raises(ProviderUnavailableError):
        await attempt_payment(sessions, unreachable, invoice_id, 1, AT)
    outcome = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)
    assert outcome.status == "succeeded"
    assert outcome.payment_id == pending.id
    assert len(await charges_of(localstripe_url, customer)) == 1


async def test_no_provider_and_nothing_due_charge_nothing(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    stripe_settings: Settings,
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    manual_customer = await insert_customer(sessions, tenant_a, "manual")
    manual_invoice = await insert_invoice(sessions, tenant_a, manual_customer)
    outcome = await attempt_payment(sessions, stripe_settings, manual_invoice, 1, AT)
    assert outcome.status == "no_provider"
    assert await payments_of(sessions, manual_invoice) == []

    customer = await stripe_customer(localstripe_url)
    unconfigured = await stripe_invoice(sessions, tenant_a, customer)
    assert (await attempt_payment(sessions, settings, unconfigured, 1, AT)).status == (
        "no_provider"
    )

    free_customer = await insert_customer(sessions, tenant_a, "free", provider_customer_id=customer)
    free = await insert_invoice(sessions, tenant_a, free_customer, total=0)
    assert (await attempt_payment(sessions, stripe_settings, free, 1, AT)).status == "nothing_due"
    assert (await invoice_row(sessions, free)).payment_status == "succeeded"

    voided = await insert_invoice(sessions, tenant_a, free_customer, status="voided")
    assert (await attempt_payment(sessions, stripe_settings, voided, 1, AT)).status == (
        "nothing_due"
    )
    assert await attempt_payment(sessions, stripe_settings, uuid.uuid4(), 1, AT) == (
        await attempt_payment(sessions, stripe_settings, voided, 2, AT)
    )
    assert await charges_of(localstripe_url, customer) == []


async def test_a_manual_payment_during_an_outage_leaves_nothing_to_charge(
    sessions: async_sessionmaker[AsyncSession],
    stripe_settings: Settings,
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    customer = await stripe_customer(localstripe_url)
    invoice_id = await stripe_invoice(sessions, tenant_a, customer)
    unreachable = stripe_settings.model_copy(
        update={"stripe_api_base": f"http://127.0.0.1:{free_port()}"}
    )
    with pytest.raises(ProviderUnavailableError):
        await attempt_payment(sessions, unreachable, invoice_id, 1, AT)
    async with transaction(sessions) as session:
        invoice = await lock_invoice(session, invoice_id)
        assert invoice is not None
        await record_manual_payment(session, invoice, 1000, "wire", AT)

    outcome = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)

    assert outcome.status == "nothing_due"
    assert [p.provider for p in await payments_of(sessions, invoice_id)] == ["manual"]
    assert await charges_of(localstripe_url, customer) == []


async def test_repeated_declines_report_the_failed_status_once(
    sessions: async_sessionmaker[AsyncSession],
    stripe_settings: Settings,
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    await listen_to_webhooks(sessions, tenant_a)
    customer = await stripe_customer(localstripe_url, DECLINING_CARD)
    invoice_id = await stripe_invoice(sessions, tenant_a, customer)
    outcomes = [await attempt_payment(sessions, stripe_settings, invoice_id, n, AT) for n in (1, 2)]
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert [p.status for p in await payments_of(sessions, invoice_id)] == ["failed", "failed"]
    assert len(await queued_webhooks(sessions, tenant_a)) == 1
    assert outcomes[1].webhook_ids == []


async def test_a_run_that_finds_its_attempt_finished_returns_that_outcome(
    sessions: async_sessionmaker[AsyncSession],
    localstripe_url: str,
    tenant_a: Tenant,
) -> None:
    customer = await stripe_customer(localstripe_url)
    invoice_id = await stripe_invoice(sessions, tenant_a, customer)
    invoice = await invoice_row(sessions, invoice_id)
    async with transaction(sessions) as session:
        payment = Payment(
            organization_id=tenant_a.organization_id,
            invoice_id=invoice_id,
            customer_id=invoice.customer_id,
            provider="stripe",
            attempt=1,
            amount_cents=1000,
            currency="USD",
            status="succeeded",
        )
        session.add(payment)
    provider = StripeProvider(API_KEY, localstripe_url)
    async with transaction(sessions) as session:
        claim = _Claim(payment.id, customer, retry=True)
        outcome = await _charge(session, provider, claim, invoice_id, 1, AT)
    assert (outcome.status, outcome.payment_id) == ("succeeded", payment.id)
    assert await charges_of(localstripe_url, customer) == []


async def test_finding_an_attempts_charge_skips_other_charges(localstripe_url: str) -> None:
    customer = await stripe_customer(localstripe_url, DECLINING_CARD)
    v1 = stripe_client(localstripe_url)
    good = await add_card(localstripe_url, customer, GOOD_CARD, default=False)
    await v1.charges.create_async(
        {"customer": customer, "source": good, "amount": 300, "currency": "usd"}
    )
    provider = StripeProvider(API_KEY, localstripe_url)
    other = {"lago_invoice_id": "inv", "attempt": "2"}
    await provider.charge(customer, 700, "USD", "inv-2", other)
    mine = {"lago_invoice_id": "inv", "attempt": "1"}
    declined = await provider.charge(customer, 700, "USD", "inv-1", mine)
    since = datetime.now(UTC) - timedelta(minutes=1)

    found = await provider.find_charge(customer, mine, since)

    assert found == declined
    assert declined.status == "failed"
    assert await provider.find_charge(customer, {"attempt": "9"}, since) is None
    assert (await provider.retrieve(str(declined.provider_payment_id))).status == "failed"
    unreachable = StripeProvider(API_KEY, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ProviderUnavailableError):
        await unreachable.find_charge(customer, mine, since)
    with pytest.raises(ProviderUnavailableError):
        await unreachable.retrieve("pi_1")


def test_stripe_errors_are_read_as_stripe_sends_them() -> None:
    assert object_id(None) is None
    assert object_id("pi_1") == "pi_1"
    assert object_id(SimpleNamespace(id="pi_2")) == "pi_2"
    body = {
        "error": {
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "payment_intent": {"id": "pi_3", "object": "payment_intent"},
        }
    }
    error = stripe.CardError(  # type: ignore[no-untyped-call]  # the SDK's own signature
        "Your card has insufficient funds.", None, "card_declined", json_body=body
    )
    assert _failure(error, "x") == ChargeResult(
        "failed", "pi_3", "insufficient_funds", "Your card has insufficient funds."
    )
    refused = stripe.InvalidRequestError("nope", None, json_body=[])  # type: ignore[no-untyped-call]
    assert _failure(refused, "invalid_request").failure_code == "invalid_request"
    assert _transient(stripe.APIError("boom", http_status=503))
    assert _transient(stripe.RateLimitError("slow down"))
    assert not _transient(stripe.APIError("odd", http_status=400))
    assert not _transient(refused)


async def test_a_stripe_customer_not_created_yet_fails_the_attempt_for_dunning(
    sessions: async_sessionmaker[AsyncSession],
    stripe_settings: Settings,
    tenant_a: Tenant,
) -> None:
    customer_id = await insert_customer(sessions, tenant_a, "syncing")
    async with transaction(sessions) as session:
        customer = await session.get(Customer, customer_id)
        assert customer is not None
        customer.payment_provider = "stripe"  # its Stripe customer is still being created
    invoice_id = await insert_invoice(sessions, tenant_a, customer_id)
    outcome = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)
    assert (outcome.status, outcome.code) == ("failed", "provider_customer_missing")
    assert (await invoice_row(sessions, invoice_id)).payment_status == "failed"
    assert [p.status for p in await payments_of(sessions, invoice_id)] == ["failed"]
    again = await attempt_payment(sessions, stripe_settings, invoice_id, 1, AT)
    assert again.status == "failed"
    assert len(await payments_of(sessions, invoice_id)) == 1
