"""Lago's key/value metadata lists (customers, invoices): updating one keeps identities."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from bxb.lago_objects.formats import iso


class MetadataEntry(Protocol):
    @property
    def id(self) -> uuid.UUID | None: ...
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...


E = TypeVar("E", bound=MetadataEntry)


def merge_metadata_entries(
    existing: Sequence[dict[str, Any]],
    incoming: Sequence[E],
    now: datetime,
    extra: Callable[[E], dict[str, Any]] = lambda _: {},
) -> list[dict[str, Any]]:
    """The new metadata list; an entry keeps its lago_id when matched by id, else by key.

    Entries not sent are removed, as in Lago. `extra` adds a resource's own fields.
    """
    by_id = {item["lago_id"]: item for item in existing}
    by_key = {item["key"]: item for item in existing}
    merged = []
    for entry in incoming:
        previous = by_id.get(str(entry.id)) if entry.id else None
        previous = previous or by_key.get(entry.key)
        merged.append(
            {
                "lago_id": previous["lago_id"] if previous else str(uuid.uuid4()),
                "key": entry.key,
                "value": entry.value,
                **extra(entry),
                "created_at": previous["created_at"] if previous else iso(now),
            }
        )
    return merged
