"""GET /api/v1/search (a bxb extension): one box that finds customers, subscriptions,
invoices, plans, credit notes and payments, grouped by type. Ranking: docs/search.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from bxb.api.deps import OrgDep, SessionDep
from bxb.api.errors import validation_error
from bxb.api.schemas.search import SearchOut
from bxb.search import service
from bxb.search.hits import hit

router = APIRouter(prefix="/api/v1", tags=["search"])

TypesParam = Annotated[
    list[str] | None,
    Query(alias="types[]", description=f"Any of {', '.join(service.TYPES)} (default: all)"),
]


def _parse(
    q: str | None, types: list[str] | None, limit: str | None
) -> tuple[str, tuple[str, ...], int]:
    errors: dict[str, list[str]] = {}
    query = service.normalize(q or "")
    if not query:
        errors["q"] = ["value_is_mandatory"]
    elif len(query) < service.MIN_QUERY_LENGTH:
        errors["q"] = ["value_is_too_short"]
    elif len(query) > service.MAX_QUERY_LENGTH:
        errors["q"] = ["value_is_too_long"]
    asked = [t.strip() for t in types or [] if t.strip()]
    if any(t not in service.TYPES for t in asked):
        errors["types"] = ["value_is_invalid"]
    chosen = tuple(t for t in service.TYPES if t in asked) or service.TYPES
    count = service.DEFAULT_LIMIT
    if limit is not None:
        try:
            count = int(limit)
        except ValueError:
            errors["limit"] = ["value_is_invalid"]
        else:
            if not 1 <= count <= service.MAX_LIMIT:
                errors["limit"] = ["value_is_out_of_range"]
    if errors:
        raise validation_error(errors)
    return query, chosen, count


@router.get("/search", response_model=SearchOut, summary="Search across the organization")
async def global_search(
    org: OrgDep,
    session: SessionDep,
    q: Annotated[str | None, Query(description="2 to 100 characters")] = None,
    types: TypesParam = None,
    limit: Annotated[str | None, Query(description="Hits per type, 1 to 25 (default 5)")] = None,
) -> dict[str, Any]:
    """Exact ids and numbers first, then columns equal to the query, then prefixes, then
    substrings, each by trigram similarity. Queries under 3 characters match prefixes."""
    query, chosen, count = _parse(q, types, limit)
    groups = await service.search(session, org.id, query, chosen, count)
    return {
        "results": {t: [hit(f) for f in groups[t].hits] for t in chosen},
        "meta": {
            "query": query,
            "types": list(chosen),
            "limit": count,
            "has_more": {t: groups[t].has_more for t in chosen},
        },
    }
