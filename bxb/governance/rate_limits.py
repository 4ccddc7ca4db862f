"""Rate limits per key and route class. Placeholder: nothing is limited yet."""

from __future__ import annotations

from fastapi import Request

from bxb.governance.actor import Actor


async def enforce_rate_limit(request: Request, actor: Actor) -> None:
    """Answer 429 (raise) when `actor` is over its limit for this request's route class."""
    del request, actor
