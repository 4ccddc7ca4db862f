"""Rows the objects of one page point at, read in one query per kind of row."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def rows_by_id(
    session: AsyncSession, model: Any, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Any]:
    """The rows of `model` with these ids, by id (no query when there are none)."""
    if not ids:
        return {}
    rows = await session.scalars(select(model).where(model.id.in_(ids)))
    return {row.id: row for row in rows}
