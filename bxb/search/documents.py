"""What global search reads in each table: one lowercased "document" per row, and a key.

The document is every searched column of a row, lowercased, each preceded by a space, so
that one GIN trigram index per table (migration 0011g) serves three kinds of match:
substring (`LIKE '%smi%'`), word prefix for short queries (`LIKE '% sm%'`, a space then
the query: the start of any column or of any word in it) and trigram word similarity
(the ranking). The SQL text here must stay the expression the migration indexes, or the
planner stops using the index: both come from bxb/models/search_index.py, and
tests/integration/test_search.py checks the planner uses the indexes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bxb.models.search_index import SEARCHED as INDEXED
from bxb.models.search_index import document


@dataclass(frozen=True)
class SearchedTable:
    type: str  # the group's name in the answer, e.g. "customers"
    table: str
    key: str  # the id or number an exact match ranks first on
    columns: tuple[str, ...]  # searched, in the document's order (key first)
    live: str = "TRUE"  # rows search may return (deleted catalog rows are not), over alias t

    def document(self, alias: str = "t") -> str:
        return document(self.columns, alias)

    @property
    def search_index(self) -> str:
        return f"ix_{self.table}_search"

    @property
    def key_index(self) -> str:
        return f"ix_{self.table}_search_key"


def _searched(type_: str) -> SearchedTable:
    key, columns, live = INDEXED[type_]
    if live is None:
        return SearchedTable(type_, type_, key, columns)
    qualified = live.replace("deleted_at", "t.deleted_at").replace("parent_id", "t.parent_id")
    return SearchedTable(type_, type_, key, columns, qualified)


CUSTOMERS = _searched("customers")
SUBSCRIPTIONS = _searched("subscriptions")
INVOICES = _searched("invoices")
PLANS = _searched("plans")
CREDIT_NOTES = _searched("credit_notes")
PAYMENTS = _searched("payments")

SEARCHED: tuple[SearchedTable, ...] = (
    CUSTOMERS,
    SUBSCRIPTIONS,
    INVOICES,
    PLANS,
    CREDIT_NOTES,
    PAYMENTS,
)
BY_TYPE = {t.type: t for t in SEARCHED}
