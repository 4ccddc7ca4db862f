"""Lago pagination: ?page=&per_page= in, a `meta` object out.

One rule for every list: 1 <= per_page <= MAX_PER_PAGE, and 1 <= page <= MAX_PAGE, so that
the row offset, (page - 1) x per_page, fits the 64-bit integer PostgreSQL and ClickHouse
take (a page past the last one is simply empty, as in Lago).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

MAX_PER_PAGE = 100
MAX_OFFSET = 2**63 - 1  # BIGINT
MAX_PAGE = MAX_OFFSET // MAX_PER_PAGE + 1
T = TypeVar("T")


class PaginationMeta(BaseModel):
    current_page: int
    next_page: int | None
    prev_page: int | None
    total_pages: int
    total_count: int


@dataclass(frozen=True)
class PageParams:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def page_params(
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 20,
) -> PageParams:
    return PageParams(page=page, per_page=per_page)


PageDep = Annotated[PageParams, Depends(page_params)]


def meta_for(params: PageParams, total_count: int) -> PaginationMeta:
    total_pages = -(-total_count // params.per_page)  # ceiling division
    return PaginationMeta(
        current_page=params.page,
        next_page=params.page + 1 if params.page < total_pages else None,
        prev_page=params.page - 1 if params.page > 1 else None,
        total_pages=total_pages,
        total_count=total_count,
    )


async def paginate(
    session: AsyncSession, query: Select[T], params: PageParams
) -> tuple[list[T], PaginationMeta]:
    """Run one page of query (already filtered and ordered) and count the whole."""
    total: Any = await session.scalar(
        select(func.count()).select_from(query.order_by(None).subquery())
    )
    rows = (await session.scalars(query.offset(params.offset).limit(params.per_page))).all()
    return list(rows), meta_for(params, int(total or 0))
