"""Secrets out of API log bodies: passwords, tokens, API key values, card data."""

from __future__ import annotations

import json
from typing import Any

REDACTED = "[REDACTED]"
# Any key containing one of these is a secret, whatever object it sits in.
SECRET_PARTS = ("password", "token", "secret", "hmac", "authorization", "cvc", "cvv")
SECRET_KEYS = frozenset(
    {"api_key", "card_number", "number", "exp_month", "exp_year", "portal_url", "iban"}
)
# Keys that are secret inside these objects only: an API key's `value` is the key itself.
SECRET_WITHIN = {"api_key": frozenset({"value"}), "api_keys": frozenset({"value"})}
MAX_BODY_CHARS = 65_536


def _is_secret(key: str, parent: str | None) -> bool:
    lowered = key.lower()
    if lowered in SECRET_KEYS or any(part in lowered for part in SECRET_PARTS):
        return True
    return parent is not None and lowered in SECRET_WITHIN.get(parent, frozenset())


def _redact(value: Any, parent: str | None = None) -> Any:
    if isinstance(value, dict):
        return {
            key: REDACTED if _is_secret(key, parent) and item is not None else _redact(item, key)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redact(item, parent) for item in value]
    return value


def redact_body(body: bytes) -> str:
    """The body as JSON text with secrets replaced; a non-JSON body is left out."""
    if not body:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return "[non-JSON body omitted]"
    text = json.dumps(_redact(parsed), separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= MAX_BODY_CHARS else text[:MAX_BODY_CHARS] + "...[truncated]"
