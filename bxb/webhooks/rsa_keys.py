"""The deployment's RSA key for webhooks signed with Lago's `jwt` algorithm (RS256).

Lago signs a delivery with `JWT.encode({data: <body>, iss: <api url>}, key, "RS256")` in
`X-Lago-Signature` and serves the public key, base64 of its PEM, at
`GET /api/v1/webhooks/json_public_key` (and the deprecated `/webhooks/public_key`).

The private key comes from `BXB_WEBHOOK_RSA_PRIVATE_KEY` (base64 of the PEM, as Lago's
`LAGO_RSA_PRIVATE_KEY`); else it is read from `<data_dir>/keys/webhook_rsa_private.pem`,
which the first process to need it creates (atomically: the API and the worker started
together agree on one key). It is never part of the repository.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import tempfile
from functools import lru_cache
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bxb.core.settings import Settings

KEY_FILE = Path("keys") / "webhook_rsa_private.pem"
KEY_BITS = 2048


def private_key(settings: Settings) -> rsa.RSAPrivateKey:
    if settings.webhook_rsa_private_key:
        return _from_setting(settings.webhook_rsa_private_key)
    return _from_file((settings.data_dir / KEY_FILE).resolve())


def public_key_pem(settings: Settings) -> bytes:
    """The public key as PEM (SubjectPublicKeyInfo), what Lago's RsaPublicKey.to_s is."""
    return (
        private_key(settings)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def public_key_base64(settings: Settings) -> str:
    """What Lago's webhooks routes serve: base64 of the PEM public key."""
    return base64.b64encode(public_key_pem(settings)).decode()


def jwt_signature(settings: Settings, body: bytes) -> str:
    """X-Lago-Signature under the jwt algorithm: RS256 over {"data": body, "iss": api url}."""
    claims = {"data": body.decode(), "iss": settings.resolved_public_url}
    return jwt.encode(claims, private_key(settings), algorithm="RS256")


@lru_cache(maxsize=4)
def _from_setting(value: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(base64.b64decode(value), password=None)
    except (binascii.Error, ValueError, TypeError):
        raise ValueError("BXB_WEBHOOK_RSA_PRIVATE_KEY is not base64 of a PEM key") from None
    return _rsa(key)


@lru_cache(maxsize=16)
def _from_file(path: Path) -> rsa.RSAPrivateKey:
    if not path.exists():
        _create(path)
    return _rsa(serialization.load_pem_private_key(path.read_bytes(), password=None))


def _create(path: Path) -> None:
    """Write a new key to path unless another process got there first (link is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".webhook_rsa_")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
        os.close(fd)
        with contextlib.suppress(FileExistsError):  # another process made it first: theirs
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _rsa(key: object) -> rsa.RSAPrivateKey:
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the webhook signing key must be an RSA private key")
    return key
