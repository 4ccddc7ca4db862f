"""Browser sessions of members, as the auth dependency sees them.

Placeholder until members can sign in: no request carries a member session yet.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bxb.governance.actor import Actor


async def member_actor(
    request: Request, sessions: async_sessionmaker[AsyncSession]
) -> Actor | None:
    """The signed-in member behind the request's session cookie, or None.

    For a state-changing method it also checks the CSRF token and answers 403 when it
    does not match.
    """
    del request, sessions
    return None
