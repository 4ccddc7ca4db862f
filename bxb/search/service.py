"""Run a global search: one ranked, limited statement per asked type, in one transaction.

Ranking, best first: the row's id or number is the query (tier 3); one of its searched
columns is exactly the query (2); one of them, or a word in one, starts with it (1); any
other substring match (0). Within a tier, trigram word similarity of the query to the
row's document, then the newest row. Queries of fewer than 3 characters match word
prefixes only: a trigram index cannot find arbitrary 2-letter substrings cheaply, and a
2-letter substring anywhere is noise to a person typing.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bxb.search.documents import BY_TYPE, SEARCHED
from bxb.search.queries import CANDIDATES, statement

TYPES: tuple[str, ...] = tuple(t.type for t in SEARCHED)
MIN_QUERY_LENGTH = 2
MAX_QUERY_LENGTH = 100
DEFAULT_LIMIT = 5
MAX_LIMIT = 25
SUBSTRING_FROM = 3  # shorter queries match word prefixes only

_SPACES = re.compile(r"\s+")


def normalize(query: str) -> str:
    """What is searched for: trimmed, inner runs of spaces made one, lowercased."""
    return _SPACES.sub(" ", query.strip()).lower()


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Found:
    type: str
    row: Mapping[str, Any]
    tier: int
    score: float
    matched: tuple[str, ...]  # the searched columns (or joined ids) holding the query


@dataclass(frozen=True)
class Group:
    hits: list[Found]
    has_more: bool


def _matched(type_: str, row: Mapping[str, Any], needle: str) -> tuple[str, ...]:
    columns = list(BY_TYPE[type_].columns)
    if "external_customer_id" in row and "external_customer_id" not in columns:
        columns.append("external_customer_id")  # invoices are found by their customer's id
    return tuple(c for c in columns if needle in str(row.get(c) or "").lower())


async def search(
    session: AsyncSession,
    organization_id: uuid.UUID,
    query: str,
    types: Sequence[str],
    limit: int,
) -> dict[str, Group]:
    """Each asked type's best `limit` rows of the organization for `query`, in one statement."""
    needle = normalize(query)
    escaped = _escape_like(needle)
    word = f"% {escaped}%"
    params = {
        "org": organization_id,
        "s": needle,
        "pattern": f"%{escaped}%" if len(needle) >= SUBSTRING_FROM else word,
        "word": word,
        "cap": CANDIDATES,
        "limit": limit + 1,  # one more tells whether there are more
    }
    # The patterns are parameters: a generic plan cannot see that they are selective and
    # may scan the table; always plan for the pattern at hand.
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    rows = (await session.execute(statement(tuple(types)), params)).all()
    by_type: dict[str, list[Found]] = {t: [] for t in types}
    for type_, id_, _, tier, score, fields in sorted(rows, key=lambda r: (r[0], r[2])):
        row = {"id": id_} | fields
        by_type[type_].append(Found(type_, row, tier, score, _matched(type_, row, needle)))
    return {t: Group(found[:limit], len(found) > limit) for t, found in by_type.items()}
