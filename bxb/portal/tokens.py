"""Portal tokens: HS256 JSON Web Tokens (PyJWT), short-lived, scoped to one customer of one
organization.

Claims: `sub` the customer's id, `org` its organization's id, `aud` "bxb-portal" (so no
other token bxb may sign one day is taken for a portal token), `iss` "bxb", `iat`, `exp`.
The header's `kid` names the secret that signed it: `cfg-<hash>` for a configured secret
(BXB_PORTAL_SECRET or a previous one), `org-<uuid>` for a stored one (bxb.portal.secrets).
The token carries ids only, never anything a customer could not already see.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

AUDIENCE = "bxb-portal"
ISSUER = "bxb"
ALGORITHM = "HS256"


class InvalidPortalTokenError(Exception):
    """The token is malformed, expired, forged, or signed by a secret no longer accepted."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    secret: str


@dataclass(frozen=True)
class PortalClaims:
    customer_id: uuid.UUID
    organization_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime


def configured_key(secret: str) -> SigningKey:
    """A configured secret's key; its id is a hash prefix, which reveals nothing of it."""
    return SigningKey("cfg-" + hashlib.sha256(secret.encode()).hexdigest()[:16], secret)


def sign(
    key: SigningKey,
    *,
    customer_id: uuid.UUID,
    organization_id: uuid.UUID,
    now: datetime,
    ttl: timedelta,
) -> str:
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(customer_id),
        "org": str(organization_id),
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, key.secret, algorithm=ALGORITHM, headers={"kid": key.kid})


@dataclass(frozen=True)
class UnverifiedToken:
    """What a token says before its signature is checked: only to find the key."""

    kid: str
    organization_id: uuid.UUID


def peek(token: str) -> UnverifiedToken:
    """The key id and organization a token names, unverified (to choose the key)."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
        kid = header.get("kid")
        if header.get("alg") != ALGORITHM or not isinstance(kid, str):
            raise InvalidPortalTokenError("unexpected header")
        return UnverifiedToken(kid, uuid.UUID(str(claims["org"])))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise InvalidPortalTokenError(str(exc)) from exc


def verify(token: str, key: SigningKey) -> PortalClaims:
    """The token's claims when `key` signed it and it has not expired (no leeway)."""
    try:
        claims = jwt.decode(
            token,
            key.secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
        return PortalClaims(
            customer_id=uuid.UUID(str(claims["sub"])),
            organization_id=uuid.UUID(str(claims["org"])),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), tz=UTC),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
        )
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise InvalidPortalTokenError(str(exc)) from exc
