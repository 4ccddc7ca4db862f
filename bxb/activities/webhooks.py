"""Activities of WebhookDeliveryWorkflow: one HTTP attempt, and the final failure.

Each attempt is recorded (its own transaction, before anything is raised), whether the
receiver answered or the connection failed, so every attempt can be listed afterwards.
Delivery is at least once: a receiver deduplicates on X-Bxb-Webhook-Id.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from bxb.activities.guard import heartbeats
from bxb.core.db import transaction
from bxb.core.metrics import WEBHOOK_DELIVERIES, count_on_commit
from bxb.core.settings import Settings
from bxb.models import Webhook, WebhookAttempt, WebhookEndpoint
from bxb.models.base import utcnow
from bxb.webhooks.keys import ensure_hmac_key
from bxb.webhooks.rsa_keys import jwt_signature
from bxb.webhooks.signing import (
    LAGO_SIGNATURE_HEADER,
    SIGNATURE_HEADER,
    bxb_signature,
    canonical_body,
    lago_signature,
)
from bxb.workflows.webhook_delivery import DeliveryAttempt

RESPONSE_LIMIT = 2000  # characters of the receiver's answer kept on the row
USER_AGENT = "bxb-webhooks/1"


@dataclass(frozen=True)
class _Request:
    url: str
    body: bytes
    key: str  # the organization's HMAC key (X-Bxb-Signature, and Lago's hmac algorithm)
    signature_algo: str = "hmac"  # the endpoint's: "hmac" or "jwt" (X-Lago-Signature)
    jwt: str | None = None  # the RS256 token when the endpoint signs with jwt


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: an HTTP answer, or the error that prevented one."""

    started_at: datetime
    duration_ms: int
    http_status: int | None
    response: str | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


def signed_headers(
    webhook_id: uuid.UUID, key: str, body: bytes, timestamp: int, jwt: str | None = None
) -> dict[str, str]:
    """X-Bxb-Signature always; X-Lago-Signature by the endpoint's algorithm, as Lago: the
    RS256 token when jwt is given, else the base64 HMAC of the body."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: bxb_signature(key, body, timestamp),
        LAGO_SIGNATURE_HEADER: jwt if jwt is not None else lago_signature(key, body),
        "X-Lago-Signature-Algorithm": "jwt" if jwt is not None else "hmac",
        "X-Bxb-Webhook-Id": str(webhook_id),
        "X-Lago-Unique-Key": str(webhook_id),
    }


async def post(request: _Request, webhook_id: uuid.UUID, seconds: float) -> Outcome:
    """POST once; never raises for the receiver's or the network's failures."""
    started_at, start = utcnow(), time.monotonic()
    headers = signed_headers(
        webhook_id, request.key, request.body, int(time.time()), jwt=request.jwt
    )
    status: int | None = None
    text: str | None = None
    error: str | None = None
    try:
        async with (
            asyncio.timeout(seconds),
            httpx.AsyncClient(timeout=seconds, follow_redirects=False) as client,
        ):
            response = await client.post(request.url, content=request.body, headers=headers)
            status, text = response.status_code, response.text[:RESPONSE_LIMIT]
            if not 200 <= status < 300:
                error = f"HTTP {status}"
    except TimeoutError:
        error = f"timed out after {seconds:g} s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:RESPONSE_LIMIT]
    duration_ms = int((time.monotonic() - start) * 1000)
    return Outcome(started_at, duration_ms, status, text, error)


class WebhookActivities:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings | None = None
    ) -> None:
        self.sessions = sessions
        self.settings = settings or Settings()

    def all(self) -> list[Any]:
        return [self.deliver_webhook, self.mark_webhook_failed]

    @activity.defn(name="deliver_webhook")
    @heartbeats
    async def deliver_webhook(self, attempt: DeliveryAttempt) -> str:
        request = await self._load(attempt.webhook_id)
        if request is None:  # delivered already, or its endpoint was deleted
            return "skipped"
        outcome = await post(request, attempt.webhook_id, attempt.request_timeout_seconds)
        number = await self.record_attempt(attempt.webhook_id, outcome)
        if not outcome.succeeded:
            raise ApplicationError(f"attempt {number} failed: {outcome.error}", type="Undelivered")
        return "succeeded"

    @activity.defn(name="mark_webhook_failed")
    @heartbeats
    async def mark_webhook_failed(self, webhook_id: uuid.UUID) -> None:
        async with transaction(self.sessions) as session:
            await session.execute(
                update(Webhook)
                .where(Webhook.id == webhook_id, Webhook.status == "pending")
                .values(status="failed", updated_at=utcnow())
            )

    async def _load(self, webhook_id: uuid.UUID) -> _Request | None:
        async with transaction(self.sessions) as session:
            row = (
                await session.execute(
                    select(Webhook, WebhookEndpoint.webhook_url, WebhookEndpoint.signature_algo)
                    .join(WebhookEndpoint, WebhookEndpoint.id == Webhook.webhook_endpoint_id)
                    .where(Webhook.id == webhook_id)
                )
            ).first()
            if row is None or row[0].status == "succeeded":
                return None
            webhook, url, algo = row
            key = await ensure_hmac_key(session, webhook.organization_id)
        body = canonical_body(webhook.payload)
        token = None
        if algo == "jwt":  # off the loop: the first use may generate the deployment's key
            token = await asyncio.to_thread(jwt_signature, self.settings, body)
        return _Request(url=url, body=body, key=key, signature_algo=algo, jwt=token)

    async def record_attempt(self, webhook_id: uuid.UUID, outcome: Outcome) -> int:
        """Store the attempt and its effect on the row; returns the attempt's number."""
        async with transaction(self.sessions) as session:
            webhook = await session.scalar(
                select(Webhook).where(Webhook.id == webhook_id).with_for_update()
            )
            if webhook is None:  # the endpoint was deleted during the attempt
                return 0
            done = await session.scalar(
                select(func.count()).where(WebhookAttempt.webhook_id == webhook_id)
            )
            number = int(done or 0) + 1
            session.add(
                WebhookAttempt(
                    webhook_id=webhook_id,
                    attempt=number,
                    started_at=outcome.started_at,
                    http_status=outcome.http_status,
                    error=outcome.error,
                    duration_ms=outcome.duration_ms,
                )
            )
            outcome_label = "succeeded" if outcome.succeeded else "failed"
            count_on_commit(session, WEBHOOK_DELIVERIES, outcome_label)
            webhook.retries = number - 1
            webhook.http_status = outcome.http_status
            webhook.response = outcome.response if outcome.response is not None else outcome.error
            if number > 1:
                webhook.last_retried_at = outcome.started_at
            if outcome.succeeded:
                webhook.status = "succeeded"
        return number
