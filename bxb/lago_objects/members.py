"""Members and invitations as the API shows them (Lago's membership and invite, flattened).

Never any secret: no password hash, no token. An invitation's link (`invite_url`) is in
the answer that creates it only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Member, MemberInvitation


def member_object(member: Member) -> dict[str, Any]:
    return {
        "lago_id": str(member.id),
        "lago_organization_id": str(member.organization_id),
        "email": member.email,
        "name": member.name,
        "role": member.role,
        "status": member.status,
        "last_sign_in_at": iso(member.last_sign_in_at),
        "revoked_at": iso(member.revoked_at),
        "created_at": iso(member.created_at),
    }


def invitation_status(invitation: MemberInvitation, now: datetime) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= now else "pending"


def invite_object(invitation: MemberInvitation, now: datetime) -> dict[str, Any]:
    return {
        "lago_id": str(invitation.id),
        "lago_organization_id": str(invitation.organization_id),
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation_status(invitation, now),
        "expires_at": iso(invitation.expires_at),
        "accepted_at": iso(invitation.accepted_at),
        "revoked_at": iso(invitation.revoked_at),
        "lago_member_id": None if invitation.member_id is None else str(invitation.member_id),
        "created_at": iso(invitation.created_at),
    }
