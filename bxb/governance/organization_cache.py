"""The request's organization, its columns cached per process for a short time.

Nearly every API request needs its organization's row (timezone, currency, numbering) and
reading it was one ORM round trip in two for the simplest reads. The columns are cached
per process like key grants (bxb.governance.key_grants): a change made through this
process's ORM (an update statement or a flushed object) forgets the cache at once; one
made by another process shows here within the TTL. Each request still gets its own
persistent instance in its own session, built from the cached columns without a query,
so a route that changes it flushes an UPDATE of what it changed, as before.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached

from bxb.models import Organization

ORGANIZATION_CACHE_TTL_SECONDS = 1.0
ORGANIZATION_CACHE_MAX_ENTRIES = 10_000

_COLUMNS = tuple(attribute.key for attribute in inspect(Organization).column_attrs)
_rows: dict[uuid.UUID, tuple[dict[str, Any], float]] = {}
_CHANGED = "bxb.organization_changed"


async def organization_in(session: AsyncSession, organization_id: uuid.UUID) -> Organization | None:
    """The organization as a persistent object of `session`, or None when it is gone."""
    present = session.identity_map.get(session.identity_key(Organization, organization_id))
    if isinstance(present, Organization):
        return present
    cached = _rows.get(organization_id)
    if cached is not None and cached[1] > time.monotonic():
        # JSON columns are lists: each request gets its own, as a query would give it.
        values = {k: list(v) if isinstance(v, list) else v for k, v in cached[0].items()}
        organization = Organization(**values)
        make_transient_to_detached(organization)
        session.add(organization)
        return organization
    loaded = await session.get(Organization, organization_id)
    if loaded is None:
        _rows.pop(organization_id, None)
        return None
    if len(_rows) >= ORGANIZATION_CACHE_MAX_ENTRIES:
        _rows.clear()
    values = {column: getattr(loaded, column) for column in _COLUMNS}
    values = {k: list(v) if isinstance(v, list) else v for k, v in values.items()}
    _rows[organization_id] = (values, time.monotonic() + ORGANIZATION_CACHE_TTL_SECONDS)
    return loaded


def forget_organizations() -> None:
    _rows.clear()


@event.listens_for(Session, "do_orm_execute")
def _forget_on_statement(state: ORMExecuteState) -> None:
    """An ORM update or delete of organizations empties the cache, now and at commit."""
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is Organization for mapper in state.all_mappers
    ):
        forget_organizations()
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_flush")
def _forget_on_flush(session: Session, _context: object) -> None:
    """Organizations changed or deleted as objects are forgotten too, and again at commit:
    a request in between may have cached the row as it was before that commit."""
    if any(isinstance(obj, Organization) for obj in (*session.dirty, *session.deleted)):
        forget_organizations()
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _forget_on_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        forget_organizations()
