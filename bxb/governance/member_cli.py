"""`bxb member add|list|remove`: members from the command line.

`add` prints a one-time invitation link (not mailed: whoever runs the command passes it
on), or with `--set-password` makes the member at once with a password read from standard
input (one line) or, on a terminal, prompted twice.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.core.settings import Settings
from bxb.governance import members
from bxb.governance.actor import Role
from bxb.lago_objects.errors import ApiError
from bxb.models import Member, Organization
from bxb.models.base import utcnow


def add_member_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    member = commands.add_parser("member", help="people who sign in to an organization")
    sub = member.add_subparsers(dest="member_command", required=True)
    add = sub.add_parser("add", help="invite a member (prints a one-time link)")
    add.add_argument("email")
    add.add_argument("--org", type=uuid.UUID, required=True, help="organization id")
    add.add_argument("--role", choices=[r.value for r in Role], default=Role.ADMIN.value)
    add.add_argument("--name", help="the member's name")
    add.add_argument(
        "--set-password",
        action="store_true",
        help="make the member now, with a password read from stdin (or prompted)",
    )
    listing = sub.add_parser("list", help="list an organization's members")
    listing.add_argument("--org", type=uuid.UUID, required=True)
    listing.add_argument("--all", action="store_true", help="removed members too")
    remove = sub.add_parser("remove", help="remove a member (their sessions end)")
    remove.add_argument("email")
    remove.add_argument("--org", type=uuid.UUID, required=True)


def _fail(message: str) -> SystemExit:
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(1)


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("password: ")
    if getpass.getpass("again: ") != password:
        raise _fail("the passwords differ")
    return password


async def member_command(
    args: argparse.Namespace, session: AsyncSession, settings: Settings
) -> None:
    organization = await session.get(Organization, args.org)
    if organization is None:
        raise _fail(f"no organization {args.org}")
    try:
        if args.member_command == "add":
            await _add(args, session, settings)
        elif args.member_command == "list":
            await _list(args, session)
        else:
            member = await members.active_member_by_email(session, args.org, args.email)
            if member is None:
                raise _fail(f"no member {args.email}")
            await members.revoke_member(session, member, now=utcnow())
            print(f"removed {member.email}")
    except ApiError as exc:
        details = exc.error_details or {"base": [exc.code]}
        reasons = "; ".join(f"{field}: {', '.join(codes)}" for field, codes in details.items())
        raise _fail(reasons) from None


async def _add(args: argparse.Namespace, session: AsyncSession, settings: Settings) -> None:
    role = Role(args.role)
    if args.set_password:
        member = await members.create_member(
            session, args.org, args.email, role, _read_password(), name=args.name
        )
        print(f"member {member.email} ({member.id}) added as {member.role}")
        return
    issued = await members.invite(
        session,
        args.org,
        args.email,
        role,
        now=utcnow(),
        ttl=timedelta(seconds=settings.invitation_ttl_seconds),
        public_url=settings.resolved_public_url,
    )
    until = f"{issued.invitation.expires_at:%Y-%m-%d %H:%M} UTC"
    print(f"invitation for {args.email} as {role.value}, until {until}")
    print(f"one-time link (shown once): {issued.url}")


async def _list(args: argparse.Namespace, session: AsyncSession) -> None:
    query = select(Member).where(Member.organization_id == args.org)
    if not args.all:
        query = query.where(Member.status == "active")
    for member in (await session.scalars(query.order_by(Member.created_at))).all():
        print(f"{member.id}  {member.email}  {member.role}  {member.status}  {member.name or '-'}")
