"""Requests of members, invitations, sign-in and password resets.

Emails are checked loosely (one @, a dot in the domain, no spaces): the invitation mail is
the real check. Passwords are bounded here; their strength is checked by the service
(422 `password_too_short` / `password_too_weak` / `password_too_long`).
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from bxb.governance.actor import Role

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def check_email(value: str) -> str:
    if not _EMAIL.match(value):
        raise ValueError("invalid_email_format")
    return value


Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=255), AfterValidator(check_email)
]
# Longer than the strength rule's maximum so that it answers with its own code.
Password = Annotated[str, StringConstraints(max_length=1024)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InviteCreate(_Strict):
    email: Email
    role: Role


class InviteCreateBody(_Strict):
    invite: InviteCreate


class MemberUpdate(_Strict):
    role: Role


class MemberUpdateBody(_Strict):
    member: MemberUpdate


class InvitationAccept(_Strict):
    name: Name | None = None
    password: Password


class InvitationAcceptBody(_Strict):
    member: InvitationAccept


class SignInBody(_Strict):
    email: Email
    password: Password
    organization_id: uuid.UUID | None = None


class PasswordResetRequestBody(_Strict):
    email: Email
    organization_id: uuid.UUID | None = None


class PasswordResetBody(_Strict):
    password: Password
