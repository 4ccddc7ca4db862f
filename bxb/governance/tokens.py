"""One-time and session tokens: 256 random bits, stored only as their SHA-256 digest."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> tuple[str, str]:
    """A fresh token and the digest to store."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(token: str | None, stored_digest: str) -> bool:
    return token is not None and hmac.compare_digest(digest(token), stored_digest)
