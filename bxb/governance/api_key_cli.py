"""`bxb api-key create|list|rotate|revoke`: an organization's keys from the command line.

The same rules as /api/v1/api_keys (bxb.governance.api_keys): the value is printed once,
expiries must be in the future, the last live admin key can't be revoked.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.governance import api_keys
from bxb.governance.actor import Role
from bxb.models import ApiKey, Organization
from bxb.models.base import utcnow


def _instant(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 instant: {value}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def add_parser(commands: Any) -> None:
    keys = commands.add_parser("api-key", help="an organization's API keys").add_subparsers(
        dest="api_key_command", required=True
    )
    create = keys.add_parser("create", help="issue a key and print it once")
    create.add_argument("organization_id", type=uuid.UUID)
    create.add_argument("name")
    create.add_argument("--role", choices=[role.value for role in Role], default="admin")
    create.add_argument("--expires-at", type=_instant, help="ISO 8601, in the future")
    listing = keys.add_parser("list", help="list the organization's keys")
    listing.add_argument("organization_id", type=uuid.UUID)
    rotate = keys.add_parser("rotate", help="issue a new key with the same name and role")
    rotate.add_argument("organization_id", type=uuid.UUID)
    rotate.add_argument("key_id", type=uuid.UUID)
    rotate.add_argument(
        "--expires-old-at", type=_instant, help="until when the old key works (default: now)"
    )
    revoke = keys.add_parser("revoke", help="revoke a key at once")
    revoke.add_argument("organization_id", type=uuid.UUID)
    revoke.add_argument("key_id", type=uuid.UUID)


def _fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _future(moment: datetime | None, what: str) -> None:
    if moment is not None and moment <= utcnow():
        _fail(f"{what} must be in the future")


def _state(key: ApiKey) -> str:
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None:
        return (
            "expired " if key.expires_at <= utcnow() else "expires "
        ) + key.expires_at.isoformat()
    return "live"


async def run(args: argparse.Namespace, session: AsyncSession) -> None:
    if await session.get(Organization, args.organization_id) is None:
        _fail(f"no organization {args.organization_id}")
    command = args.api_key_command
    if command == "create":
        _future(args.expires_at, "--expires-at")
        issued = await api_keys.create_key(
            session,
            args.organization_id,
            name=args.name,
            role=Role(args.role),
            expires_at=args.expires_at,
        )
        print(f"key {issued.row.id} {issued.row.name} ({issued.row.role})")
        print(f"value (shown once, store it now): {issued.plaintext}")
        return
    if command == "list":
        keys = await session.scalars(
            select(ApiKey)
            .where(ApiKey.organization_id == args.organization_id)
            .order_by(ApiKey.created_at)
        )
        for key in keys:
            used = key.last_used_at.isoformat() if key.last_used_at else "never used"
            print(f"{key.id} {key.prefix} {key.name} ({key.role}) {_state(key)}, {used}")
        return
    found = await api_keys.find_key(session, args.organization_id, args.key_id)
    if found is None:
        _fail(f"no key {args.key_id} in organization {args.organization_id}")
        return
    key = found
    if command == "rotate":
        _future(args.expires_old_at, "--expires-old-at")
        if key.revoked_at is not None or _state(key).startswith("expired"):
            _fail("the key is revoked or expired")
        issued = await api_keys.rotate_key(session, key, old_expires_at=args.expires_old_at)
        print(f"key {issued.row.id} replaces {key.id} ({_state(key)})")
        print(f"value (shown once, store it now): {issued.plaintext}")
        return
    try:
        await api_keys.revoke_key(session, key)
    except api_keys.LastAdminKeyError:
        _fail("this is the organization's last live admin key; issue another one first")
    print(f"key {key.id} revoked")
