"""Members of an organization: invitations, acceptance, roles, removal.

Emails keep the case they were given and compare case-insensitively. A member is removed by
revoking it (status "revoked"): its sessions end, its row stays for the audit trail, and
its email may be invited again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.governance.actor import Role
from bxb.governance.email import Mail
from bxb.governance.passwords import hash_password, weak_password
from bxb.governance.tokens import digest, new_token
from bxb.lago_objects.errors import ApiError, not_found, validation_error
from bxb.models import Member, MemberInvitation, MemberSession, Organization


@dataclass(frozen=True)
class IssuedInvitation:
    invitation: MemberInvitation
    url: str  # carries the one-time token; shown to whoever invites, once


def invitation_url(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/invitations/{token}"


def invitation_mail(issued: IssuedInvitation, organization_name: str, ttl: timedelta) -> Mail:
    days = max(1, int(ttl.total_seconds() // 86400))
    return Mail(
        to=issued.invitation.email,
        subject=f"You are invited to {organization_name} on bxb",
        text=(
            f"You have been invited to join {organization_name} on bxb as "
            f"{issued.invitation.role}.\n\n"
            f"Choose your password here (the link works once, for {days} day(s)):\n"
            f"{issued.url}\n"
        ),
    )


async def active_member_by_email(
    session: AsyncSession, organization_id: uuid.UUID, email: str
) -> Member | None:
    return await session.scalar(
        select(Member).where(
            Member.organization_id == organization_id,
            func.lower(Member.email) == email.lower(),
            Member.status == "active",
        )
    )


async def invite(
    session: AsyncSession,
    organization_id: uuid.UUID,
    email: str,
    role: Role,
    *,
    now: datetime,
    ttl: timedelta,
    public_url: str,
) -> IssuedInvitation:
    """A new invitation; an earlier pending one for the same email stops working."""
    if await active_member_by_email(session, organization_id, email) is not None:
        raise validation_error({"email": ["value_already_exist"]})
    await session.execute(
        update(MemberInvitation)
        .where(
            MemberInvitation.organization_id == organization_id,
            func.lower(MemberInvitation.email) == email.lower(),
            MemberInvitation.accepted_at.is_(None),
            MemberInvitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    token, token_hash = new_token()
    invitation = MemberInvitation(
        organization_id=organization_id,
        email=email,
        role=role.value,
        token_hash=token_hash,
        expires_at=now + ttl,
    )
    session.add(invitation)
    await session.flush()
    return IssuedInvitation(invitation, invitation_url(public_url, token))


async def accept_invitation(
    session: AsyncSession, token: str, name: str | None, password: str, *, now: datetime
) -> Member:
    """The member the invitation becomes. Refused (nothing written) when the token is
    unknown, revoked, used or expired, or the password is weak."""
    invitation = await session.scalar(
        select(MemberInvitation)
        .where(MemberInvitation.token_hash == digest(token))
        .with_for_update()
    )
    if invitation is None or invitation.revoked_at is not None:
        raise not_found("invite")
    if invitation.accepted_at is not None:
        raise validation_error({"token": ["invite_already_accepted"]})
    if invitation.expires_at <= now:
        raise validation_error({"token": ["invite_expired"]})
    member = await create_member(
        session,
        invitation.organization_id,
        invitation.email,
        Role(invitation.role),
        password,
        name=name,
    )
    invitation.accepted_at = now
    invitation.member_id = member.id
    await session.flush()
    return member


async def create_member(
    session: AsyncSession,
    organization_id: uuid.UUID,
    email: str,
    role: Role,
    password: str,
    *,
    name: str | None = None,
) -> Member:
    organization = await session.get(Organization, organization_id)
    assert organization is not None
    problem = await weak_password(password, [email, name or "", organization.name])
    if problem is not None:
        raise validation_error({"password": [problem]})
    if await active_member_by_email(session, organization_id, email) is not None:
        raise validation_error({"email": ["value_already_exist"]})
    member = Member(
        organization_id=organization_id,
        email=email,
        name=name,
        role=role.value,
        status="active",
        password_hash=await hash_password(password),
    )
    session.add(member)
    try:
        await session.flush()
    except IntegrityError:  # the same email made a member concurrently
        raise validation_error({"email": ["value_already_exist"]}) from None
    return member


def parse_id(value: str, resource: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise not_found(resource) from None


async def get_member(session: AsyncSession, organization_id: uuid.UUID, member_id: str) -> Member:
    key = parse_id(member_id, "member")
    member = await session.scalar(
        select(Member).where(Member.organization_id == organization_id, Member.id == key)
    )
    if member is None:
        raise not_found("member")
    return member


async def change_role(session: AsyncSession, member: Member, role: Role) -> Member:
    if member.status != "active":
        raise validation_error({"base": ["member_revoked"]})
    # Sessions read the role from the member at every request: the change applies at once.
    member.role = role.value
    await session.flush()
    return member


async def revoke_member(session: AsyncSession, member: Member, *, now: datetime) -> Member:
    if member.status != "active":
        raise ApiError(404, code="member_not_found")
    member.status = "revoked"
    member.revoked_at = now
    await end_sessions(session, member.id, now=now)
    await session.flush()
    return member


async def end_sessions(session: AsyncSession, member_id: uuid.UUID, *, now: datetime) -> None:
    await session.execute(
        update(MemberSession)
        .where(MemberSession.member_id == member_id, MemberSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
