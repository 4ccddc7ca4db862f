"""POST /api/v1/webhooks/stripe/{organization_id}: what Stripe tells us later.

No API key: the request is authenticated by its Stripe-Signature header (HMAC-SHA256 of
"timestamp.body" with the endpoint's signing secret, STRIPE_WEBHOOK_SECRET), checked by
the stripe SDK. Unsigned, wrongly signed or stale (older than 5 minutes) requests get a
400 in Lago's error shape and change nothing.

payment_intent.succeeded / payment_intent.payment_failed settle the matching payment of
that organization and its invoice; a succeeded PaymentIntent of an invoice's payment page
(`POST /invoices/{id}/payment_url`) is recorded on that invoice (payments.checkout_settle);
a payment request's PaymentIntent left processing settles the request
(payments.payment_requests.settle_request_intent).
Replays are harmless (a final payment does not move), and events about other objects or
unknown PaymentIntents are acknowledged and ignored, so that Stripe stops resending them.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import stripe
from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.api.deps import SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import ApiError, not_found
from bxb.api.payments import deliver, tell_collector
from bxb.core.invoice_collection import PaymentNoticeStatus
from bxb.ledger.invoicing import lock_invoice
from bxb.models import Organization, Payment
from bxb.models.base import utcnow
from bxb.payments.checkout_settle import record_checkout_payment
from bxb.payments.payment_requests import settle_request_intent
from bxb.payments.settle import apply_result
from bxb.payments.stripe_provider import intent_result

router = APIRouter(prefix="/api/v1", tags=["stripe webhooks"])
log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 300
HANDLED = {"payment_intent.succeeded", "payment_intent.payment_failed"}


def _verified_event(body: bytes, signature: str | None, secret: str | None) -> Any:
    if not secret:
        log.error("a Stripe webhook arrived but STRIPE_WEBHOOK_SECRET is not set")
        raise ApiError(400, error="Bad Request", code="webhook_secret_not_configured")
    if not signature:
        raise ApiError(400, error="Bad Request", code="missing_signature")
    try:
        return stripe.Webhook.construct_event(
            body, signature, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError:
        raise ApiError(400, error="Bad Request", code="invalid_signature") from None
    except ValueError:  # signed, but not JSON
        raise ApiError(400, error="Bad Request", code="invalid_payload") from None


@router.post("/webhooks/stripe/{organization_id}")
async def stripe_webhook(
    organization_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    temporal: TemporalDep,
) -> dict[str, Any]:
    body = await request.body()
    event = _verified_event(
        body, request.headers.get("stripe-signature"), settings.stripe_webhook_secret
    )
    try:
        org_id = uuid.UUID(organization_id)
    except ValueError:
        raise not_found("organization") from None
    if await session.get(Organization, org_id) is None:
        raise not_found("organization")
    intent = _handled_intent(event.to_dict())
    if intent is None:
        return {"received": True}
    payment_id = await session.scalar(
        select(Payment.id).where(
            Payment.organization_id == org_id, Payment.provider_payment_id == intent["id"]
        )
    )
    if payment_id is None:
        # A payment request's charge that Stripe left processing.
        collection = await settle_request_intent(session, org_id, intent, utcnow())
        if collection is not None:
            await session.commit()
            for invoice_id in collection.paid_invoice_ids:
                await tell_collector(temporal, session, invoice_id, "succeeded", [])
            if collection.webhook_ids:
                await deliver(temporal, collection.webhook_ids)
            return {"received": True}
        # A payment page of POST /invoices/{id}/payment_url, else not ours (another
        # system on the same Stripe account).
        recorded = await record_checkout_payment(session, org_id, intent, utcnow())
        if recorded is not None:
            await session.commit()
            await tell_collector(temporal, session, recorded[0], "succeeded", recorded[1])
        return {"received": True}
    notice, invoice_id, webhooks = await _settle(session, payment_id, intent)
    await session.commit()
    if notice is not None:
        await tell_collector(temporal, session, invoice_id, notice, webhooks)
    return {"received": True}


def _handled_intent(event: dict[str, Any]) -> dict[str, Any] | None:
    """The PaymentIntent of an event bxb acts on, or None (acknowledged and ignored)."""
    kind = event.get("type")
    data = event.get("data")
    intent = data.get("object") if isinstance(data, dict) else None
    if kind not in HANDLED or not isinstance(intent, dict):
        return None
    if not isinstance(intent.get("id"), str):
        return None
    # The event's type says the outcome even if the snapshot lacks a status.
    default = "succeeded" if kind == "payment_intent.succeeded" else "requires_payment_method"
    return {"status": default} | intent


async def _settle(
    session: AsyncSession, payment_id: uuid.UUID, intent: Any
) -> tuple[PaymentNoticeStatus | None, uuid.UUID, list[uuid.UUID]]:
    """Apply the event; the notice for the collector when the payment just settled."""
    payment = await session.get(Payment, payment_id)
    assert payment is not None
    invoice = await lock_invoice(session, payment.invoice_id)
    assert invoice is not None
    await session.refresh(payment, with_for_update=True)
    before = payment.status
    result = intent_result(intent)
    webhooks = await apply_result(session, invoice, payment, result, utcnow())
    if payment.status == before:
        return None, invoice.id, webhooks
    if payment.status == "succeeded":
        return "succeeded", invoice.id, webhooks
    if payment.status == "failed":
        return "failed", invoice.id, webhooks
    return None, invoice.id, webhooks
