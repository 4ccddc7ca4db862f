"""Stripe webhook events as Stripe signs them (Stripe-Signature: t=...,v1=HMAC), for tests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

SECRET = "whsec_bxb_test"


def signature(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    moment = int(time.time()) if timestamp is None else timestamp
    signed = f"{moment}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={moment},v1={digest}"


def event(event_type: str, intent: dict[str, Any]) -> bytes:
    body = {
        "id": f"evt_{uuid.uuid4().hex[:12]}",
        "object": "event",
        "type": event_type,
        "data": {"object": {"object": "payment_intent"} | intent},
    }
    return json.dumps(body).encode()
