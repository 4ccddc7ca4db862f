"""Webhook signatures (HMAC-SHA256) and the canonical body they cover.

Two signatures travel with every delivery, both keyed with the organization's secret:

- ``X-Bxb-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>." + body)>``. The
  timestamp is signed too, so a receiver can refuse a replayed old delivery.
- ``X-Lago-Signature: <base64 HMAC-SHA256(key, body)>``, what Lago's ``hmac`` algorithm
  sends, for receivers written against Lago.

The body is serialized once with sorted keys, so the bytes signed are the bytes sent and
every attempt of one delivery sends the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

SIGNATURE_HEADER = "X-Bxb-Signature"
LAGO_SIGNATURE_HEADER = "X-Lago-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


def canonical_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed) for a stored payload."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _digest(key: str, message: bytes) -> bytes:
    return hmac.new(key.encode(), message, hashlib.sha256).digest()


def bxb_signature(key: str, body: bytes, timestamp: int) -> str:
    """Value of X-Bxb-Signature for body sent at timestamp (unix seconds)."""
    mac = _digest(key, f"{timestamp}.".encode() + body).hex()
    return f"t={timestamp},v1={mac}"


def lago_signature(key: str, body: bytes) -> str:
    """Value of X-Lago-Signature under Lago's hmac algorithm."""
    return base64.b64encode(_digest(key, body)).decode()


def verify_bxb_signature(
    key: str,
    body: bytes,
    header: str,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """True when header signs body with key and its timestamp is within tolerance of now."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, received = fields.get("t", ""), fields.get("v1", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance:
        return False
    expected = bxb_signature(key, body, int(timestamp)).split("v1=", 1)[1]
    return hmac.compare_digest(expected, received)
