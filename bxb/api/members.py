"""/api/v1/members and /api/v1/invites: an organization's people (bxb; Lago has these in
its GraphQL API only).

Authenticated like every organization route (API key, or a member's session once the auth
dependency accepts it); which roles may call them is the role matrix's business.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from bxb.api.deps import OrgDep, SessionDep, SettingsDep
from bxb.api.errors import ApiError, not_found
from bxb.api.pagination import PageDep, paginate
from bxb.api.schemas.members import InviteCreateBody, MemberUpdateBody
from bxb.governance import members
from bxb.governance.email import EmailTransport, EmailUnavailableError
from bxb.governance.sessions import request_now
from bxb.lago_objects.members import invite_object, member_object
from bxb.models import Member, MemberInvitation

router = APIRouter(prefix="/api/v1", tags=["members"])


def get_email_transport(request: Request) -> EmailTransport:
    transport: EmailTransport = request.app.state.email
    return transport


EmailDep = Annotated[EmailTransport, Depends(get_email_transport)]


@router.get("/members")
async def list_members(
    org: OrgDep,
    session: SessionDep,
    page: PageDep,
    status: Annotated[Literal["active", "revoked"], Query()] = "active",
) -> dict[str, Any]:
    query = (
        select(Member)
        .where(Member.organization_id == org.id, Member.status == status)
        .order_by(Member.created_at, Member.id)
    )
    rows, meta = await paginate(session, query, page)
    return {"members": [member_object(m) for m in rows], "meta": meta.model_dump()}


@router.get("/members/{lago_id}")
async def get_member(lago_id: str, org: OrgDep, session: SessionDep) -> dict[str, Any]:
    return {"member": member_object(await members.get_member(session, org.id, lago_id))}


@router.put("/members/{lago_id}")
async def update_member(
    lago_id: str, body: MemberUpdateBody, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    member = await members.get_member(session, org.id, lago_id)
    await members.change_role(session, member, body.member.role)
    await session.commit()
    return {"member": member_object(member)}


@router.delete("/members/{lago_id}")
async def remove_member(
    lago_id: str, request: Request, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    member = await members.get_member(session, org.id, lago_id)
    await members.revoke_member(session, member, now=request_now(request))
    await session.commit()
    return {"member": member_object(member)}


@router.post("/invites")
async def create_invite(
    body: InviteCreateBody,
    request: Request,
    org: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
    email: EmailDep,
) -> dict[str, Any]:
    """Invite someone by a one-time link, mailed to them and answered here (once)."""
    now = request_now(request)
    ttl = timedelta(seconds=settings.invitation_ttl_seconds)
    issued = await members.invite(
        session,
        org.id,
        body.invite.email,
        body.invite.role,
        now=now,
        ttl=ttl,
        public_url=settings.resolved_public_url,
    )
    try:
        # Sent before the commit: an invitation nobody could receive is not kept.
        await email.send(members.invitation_mail(issued, org.name, ttl))
    except EmailUnavailableError:
        await session.rollback()
        raise ApiError(503, code="email_unavailable") from None
    await session.commit()
    return {"invite": {**invite_object(issued.invitation, now), "invite_url": issued.url}}


@router.get("/invites")
async def list_invites(
    request: Request, org: OrgDep, session: SessionDep, page: PageDep
) -> dict[str, Any]:
    """Invitations not yet accepted nor revoked (expired ones included, marked so)."""
    now = request_now(request)
    query = (
        select(MemberInvitation)
        .where(
            MemberInvitation.organization_id == org.id,
            MemberInvitation.accepted_at.is_(None),
            MemberInvitation.revoked_at.is_(None),
        )
        .order_by(MemberInvitation.created_at.desc(), MemberInvitation.id)
    )
    rows, meta = await paginate(session, query, page)
    return {"invites": [invite_object(i, now) for i in rows], "meta": meta.model_dump()}


@router.delete("/invites/{lago_id}")
async def revoke_invite(
    lago_id: str, request: Request, org: OrgDep, session: SessionDep
) -> dict[str, Any]:
    now = request_now(request)
    invitation = await session.scalar(
        select(MemberInvitation).where(
            MemberInvitation.organization_id == org.id,
            MemberInvitation.id == members.parse_id(lago_id, "invite"),
            MemberInvitation.accepted_at.is_(None),
            MemberInvitation.revoked_at.is_(None),
        )
    )
    if invitation is None:
        raise not_found("invite")
    invitation.revoked_at = now
    await session.commit()
    return {"invite": invite_object(invitation, now)}
