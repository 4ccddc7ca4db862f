"""The webhook outbox (STUB: the webhooks work replaces the bodies, keeping signatures).

`emit` writes one delivery row per enabled endpoint of the organization, in the caller's
transaction, so a webhook exists if and only if the change it reports was committed. It is
idempotent on (endpoint, webhook_type, object_id): emitting twice returns the same rows.
`dispatch` (after the commit) starts one delivery workflow per row; starting twice is a
no-op, so callers may dispatch the same ids again after a crash or retry.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client


async def emit(
    session: AsyncSession,
    organization_id: uuid.UUID,
    webhook_type: str,
    object_id: uuid.UUID,
    payload: dict[str, Any],
) -> list[uuid.UUID]:
    """Queue `payload` (Lago's body, e.g. {"webhook_type": ..., "invoice": {...}})."""
    return []


async def dispatch(client: Client, webhook_ids: list[uuid.UUID]) -> None:
    """Start delivery of the given rows (idempotent)."""
    return None
