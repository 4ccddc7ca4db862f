"""Answer of GET /api/v1/search (bxb's own; BoxBilling's /v1/search, grouped by type)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SearchMeta(BaseModel):
    query: str = Field(description="What was searched for: trimmed and lowercased")
    types: list[str] = Field(description="The types searched, in the answer's order")
    limit: int = Field(description="Most hits per type")
    has_more: dict[str, bool] = Field(description="Per type: more hits than `limit`")


class SearchOut(BaseModel):
    results: dict[str, list[dict[str, Any]]] = Field(
        description="Per type asked (customers, subscriptions, invoices, plans, credit_notes,"
        " payments), its hits best first: lago_id, type, label, description,"
        " matched_fields, exact, score, and the ids to link it (docs/search.md)"
    )
    meta: SearchMeta
