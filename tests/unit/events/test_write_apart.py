"""A failed group-commit write reaches only the callers at fault."""

from __future__ import annotations

import asyncio

import pytest

from bxb.events.group_commit import GroupCommit, write_apart


class StoreDownError(Exception):
    """Stands for a failure no part of a batch can avoid."""


class Store:
    """A flush that fails whenever its batch holds a poisoned item (a negative number),
    or every time once `down`; it stores the items of each write that succeeds."""

    def __init__(self) -> None:
        self.writes: list[list[int]] = []
        self.stored: list[int] = []
        self.down_after: int | None = None

    async def __call__(self, items: list[int]) -> list[int]:
        self.writes.append(items)
        await asyncio.sleep(0)
        if self.down_after is not None and len(self.writes) > self.down_after:
            raise StoreDownError("connection refused")
        poisoned = [item for item in items if item < 0]
        if poisoned:
            raise ValueError(f"cannot store {poisoned[0]}")
        self.stored.extend(items)
        return [item * 10 for item in items]


def not_down(error: Exception) -> bool:
    return not isinstance(error, StoreDownError)


async def test_one_poisoned_item_fails_alone_in_a_few_writes() -> None:
    store = Store()
    items = [*range(7), -1, *range(7, 16)]
    outcomes = await write_apart(store, items, divisible=not_down)
    assert [o for o in outcomes if not isinstance(o, Exception)] == [n * 10 for n in range(16)]
    error = outcomes[7]
    assert isinstance(error, ValueError)
    assert str(error) == "cannot store -1"
    assert sorted(store.stored) == list(range(16))
    # Bisection: the whole, then two halves per level down to the poisoned item.
    assert len(store.writes) <= 1 + 2 * 5


async def test_every_poisoned_item_gets_its_own_error() -> None:
    store = Store()
    outcomes = await write_apart(store, [1, -2, 3, -4, 5], divisible=not_down)
    assert outcomes[0::2] == [10, 30, 50]
    assert [str(o) for o in outcomes[1::2]] == ["cannot store -2", "cannot store -4"]


async def test_an_unavailable_store_gets_one_write_and_no_retries() -> None:
    store = Store()
    store.down_after = 0
    outcomes = await write_apart(store, list(range(100)), divisible=not_down)
    assert len(store.writes) == 1
    assert all(isinstance(o, StoreDownError) for o in outcomes)


async def test_an_outage_during_the_division_ends_it() -> None:
    store = Store()
    store.down_after = 2  # the whole and its first half are written; then the store is down
    outcomes = await write_apart(store, [-1, *range(1, 16)], divisible=not_down)
    assert len(store.writes) == 3
    assert all(isinstance(o, Exception) for o in outcomes)
    assert sum(isinstance(o, StoreDownError) for o in outcomes) >= 8  # the untried half


async def test_group_commit_answers_each_caller_with_its_own_outcome() -> None:
    store = Store()
    commit: GroupCommit[int, int] = GroupCommit(store, max_wait=0.05, divisible=not_down)
    commit.start()
    results = await asyncio.gather(
        *(commit.submit(n) for n in [1, 2, -3, 4, 5, -6, 7, 8]), return_exceptions=True
    )
    await commit.stop()
    assert commit.flushes == 1  # they did share one write
    assert commit.divisions >= 1
    assert [r for r in results if isinstance(r, int)] == [10, 20, 40, 50, 70, 80]
    assert [str(r) for r in results if isinstance(r, Exception)] == [
        "cannot store -3",
        "cannot store -6",
    ]
    assert sorted(store.stored) == [1, 2, 4, 5, 7, 8]


async def test_group_commit_fails_every_caller_at_once_when_the_store_is_down() -> None:
    store = Store()
    store.down_after = 0
    commit: GroupCommit[int, int] = GroupCommit(store, max_wait=0.05, divisible=not_down)
    commit.start()
    results = await asyncio.gather(*(commit.submit(n) for n in range(20)), return_exceptions=True)
    assert all(isinstance(r, StoreDownError) for r in results)
    assert (commit.flushes, len(store.writes), commit.divisions) == (1, 1, 0)
    store.down_after = None
    assert await commit.submit(3) == 30  # and it writes again once the store is back
    await commit.stop()


@pytest.mark.parametrize("size", [1, 2, 3, 64])
async def test_write_apart_keeps_the_order_of_its_items(size: int) -> None:
    store = Store()
    items = [n if n % 3 else -n - 1 for n in range(size)]
    outcomes = await write_apart(store, items, divisible=not_down)
    assert len(outcomes) == size
    for item, outcome in zip(items, outcomes, strict=True):
        if item < 0:
            assert str(outcome) == f"cannot store {item}"
        else:
            assert outcome == item * 10
