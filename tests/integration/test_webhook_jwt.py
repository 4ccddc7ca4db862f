"""Webhooks signed with Lago's jwt algorithm (RS256) and the public key routes."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from lago_python_client.client import Client
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from bxb.activities.webhooks import WebhookActivities
from bxb.core.db import transaction
from bxb.core.settings import Settings
from bxb.webhooks import rsa_keys
from bxb.webhooks.outbox import emit
from bxb.workflows.webhook_delivery import DeliveryAttempt
from tests.support.auth import Tenant
from tests.support.lago_schema import lago_errors
from tests.support.served_api import serving_api
from tests.support.webhook_receiver import WebhookReceiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
async def served_api(settings: Settings) -> AsyncIterator[str]:
    """The API on a loopback port without Temporal, for Lago's (sync) client."""
    async with serving_api(settings) as url:
        yield url


async def test_public_key_routes_serve_the_deployments_key(
    client: httpx.AsyncClient, tenant_a: Tenant, tenant_b: Tenant, settings: Settings
) -> None:
    answer = await client.get("/api/v1/webhooks/json_public_key", headers=tenant_a.headers)
    assert answer.status_code == 200, answer.text
    assert lago_errors("WebhookPublicKey", answer.json()) == []
    encoded = answer.json()["webhook"]["public_key"]
    pem = base64.b64decode(encoded)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert pem == rsa_keys.public_key_pem(settings)

    plain = await client.get("/api/v1/webhooks/public_key", headers=tenant_a.headers)
    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/plain")
    assert plain.text == encoded
    # One key per deployment: every organization sees the same one.
    other = await client.get("/api/v1/webhooks/json_public_key", headers=tenant_b.headers)
    assert other.json()["webhook"]["public_key"] == encoded
    # Made once, kept in the data directory (owner-only), never regenerated.
    key_file = Path(settings.data_dir) / rsa_keys.KEY_FILE
    assert key_file.stat().st_mode & 0o777 == 0o600
    for path in ("/api/v1/webhooks/json_public_key", "/api/v1/webhooks/public_key"):
        assert (await client.get(path)).status_code == 401


async def test_a_configured_key_wins_over_the_data_directory(tmp_path: Path) -> None:
    made = rsa_keys.private_key(Settings(data_dir=tmp_path / "a"))
    pem = rsa_keys._from_file((tmp_path / "a" / rsa_keys.KEY_FILE).resolve())
    assert pem.private_numbers() == made.private_numbers()
    configured = Settings(
        data_dir=tmp_path / "b",
        webhook_rsa_private_key=base64.b64encode(
            (tmp_path / "a" / rsa_keys.KEY_FILE).read_bytes()
        ).decode(),
    )
    assert rsa_keys.public_key_pem(configured) == rsa_keys.public_key_pem(
        Settings(data_dir=tmp_path / "a")
    )
    assert not (tmp_path / "b" / rsa_keys.KEY_FILE).exists()


async def test_lago_client_verifies_a_jwt_signed_delivery(
    served_api: str,
    client: httpx.AsyncClient,
    tenant_a: Tenant,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    receiver: WebhookReceiver,
) -> None:
    created = await client.post(
        "/api/v1/webhook_endpoints",
        json={"webhook_endpoint": {"webhook_url": receiver.url}},  # jwt: Lago's default
        headers=tenant_a.headers,
    )
    assert created.json()["webhook_endpoint"]["signature_algo"] == "jwt"
    secret = await client.get("/api/v1/webhook_endpoints/signing_secret", headers=tenant_a.headers)
    receiver.secret = secret.json()["webhook_signing_secret"]["secret"]  # X-Bxb-Signature
    invoice_id = uuid.uuid4()
    async with transaction(sessions) as session:
        [webhook_id] = await emit(
            session,
            tenant_a.organization_id,
            "invoice.created",
            invoice_id,
            {"invoice": {"lago_id": str(invoice_id), "total_amount_cents": 1250}},
        )
    activities = WebhookActivities(sessions, settings)
    attempt = DeliveryAttempt(webhook_id=webhook_id, request_timeout_seconds=5)
    assert await ActivityEnvironment().run(activities.deliver_webhook, attempt) == "succeeded"
    [delivery] = receiver.deliveries
    assert delivery.headers["x-lago-signature-algorithm"] == "jwt"

    # As Lago's documentation: the client fetches the key, PyJWT verifies the token.
    lago = Client(api_key=tenant_a.api_key, api_url=served_api)
    public_key = await asyncio.to_thread(lago.webhooks.public_key)
    decoded = jwt.decode(
        delivery.headers["x-lago-signature"],
        public_key,
        algorithms=["RS256"],
        issuer=settings.resolved_public_url,
    )
    assert decoded["data"] == delivery.body.decode()
    assert delivery.payload["invoice"] == {"lago_id": str(invoice_id), "total_amount_cents": 1250}
    forged = jwt.encode(
        {"data": "{}", "iss": settings.resolved_public_url},
        rsa_keys.private_key(Settings(data_dir=settings.data_dir / "other")),
        algorithm="RS256",
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, public_key, algorithms=["RS256"])


def test_a_configured_key_must_be_a_pem_rsa_key(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    not_pem = Settings(data_dir=tmp_path, webhook_rsa_private_key="bm90IGEga2V5")
    with pytest.raises(ValueError, match="PEM"):
        rsa_keys.private_key(not_pem)
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    elliptic = Settings(
        data_dir=tmp_path, webhook_rsa_private_key=base64.b64encode(ec_pem).decode()
    )
    with pytest.raises(ValueError, match="RSA"):
        rsa_keys.private_key(elliptic)
