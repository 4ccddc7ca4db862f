"""The actor behind a change: an API key, a signed-in member, a portal customer, the CLI.

The auth dependency resolves one per request and sets it twice: in `current_actor` (read
by the audit trail where the change is written) and in the ASGI scope under `SCOPE_KEY`
(read by middleware after the route has answered, e.g. the API log).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

SCOPE_KEY = "bxb.actor"


class Role(StrEnum):
    """The four roles of the seed documents, for members and API keys alike."""

    ADMIN = "admin"
    BILLING_ADMIN = "billing_admin"
    SUPPORT = "support"
    FINANCE_VIEWER = "finance_viewer"


ActorKind = Literal["api_key", "member", "portal", "cli", "system"]


@dataclass(frozen=True)
class Actor:
    organization_id: uuid.UUID
    role: Role
    kind: ActorKind
    # The API key's, member's or portal customer's id; None for the CLI and the system.
    id: uuid.UUID | None = None
    # A member's email (Lago's `user_email` in activity logs); None otherwise.
    email: str | None = None
    # What a person reads in the audit trail: the key's name, the member's email, ...
    label: str | None = None


current_actor: ContextVar[Actor | None] = ContextVar("bxb_current_actor", default=None)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run a block (a CLI command, a test) as `actor`."""
    token = current_actor.set(actor)
    try:
        yield actor
    finally:
        current_actor.reset(token)
