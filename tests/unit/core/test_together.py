"""bxb.core.together: two awaitables at once; a failure raised as itself."""

from __future__ import annotations

import asyncio

import pytest

from bxb.core.together import together


async def _after(seconds: float, value: int) -> int:
    await asyncio.sleep(seconds)
    return value


async def _fails_after(seconds: float) -> int:
    await asyncio.sleep(seconds)
    raise LookupError("gone")


async def test_both_results_in_order() -> None:
    assert await together(_after(0.02, 1), _after(0.01, 2)) == (1, 2)


async def test_a_failure_is_raised_as_itself_and_the_other_is_cancelled() -> None:
    cancelled = asyncio.Event()

    async def slow() -> int:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return 0

    with pytest.raises(LookupError, match="gone"):  # not an ExceptionGroup
        await asyncio.wait_for(together(slow(), _fails_after(0.01)), timeout=5)
    assert cancelled.is_set()


async def test_cancelling_the_caller_cancels_both() -> None:
    started = asyncio.Event()
    seen: list[str] = []

    async def waits(name: str) -> int:
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append(name)
            raise
        return 0

    caller = asyncio.ensure_future(together(waits("a"), waits("b")))
    await started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert sorted(seen) == ["a", "b"]
