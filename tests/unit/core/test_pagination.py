from __future__ import annotations

import pytest

from bxb.api.pagination import PageParams, meta_for


@pytest.mark.parametrize(
    ("page", "per_page", "total", "expected"),
    [
        (1, 20, 0, (1, None, None, 0)),
        (1, 20, 20, (1, None, None, 1)),
        (1, 20, 21, (1, 2, None, 2)),
        (2, 20, 41, (2, 3, 1, 3)),
        (3, 20, 41, (3, None, 2, 3)),
        (5, 20, 41, (5, None, 4, 3)),  # past the end: empty page, Lago-style meta
    ],
)
def test_meta(page: int, per_page: int, total: int, expected: tuple[object, ...]) -> None:
    meta = meta_for(PageParams(page, per_page), total)
    assert (meta.current_page, meta.next_page, meta.prev_page, meta.total_pages) == expected
    assert meta.total_count == total
    assert PageParams(page, per_page).offset == (page - 1) * per_page
