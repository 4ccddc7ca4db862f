"""GroupCommit.stop() flushes every admitted caller's item, whatever the event loop's order.

A caller blocked on the full queue is woken when a slot frees but takes it only when it
next runs; a stop marker put meanwhile overtook it, the worker ended at the marker and the
caller waited forever (seen as a hung test on a loaded machine).
"""

from __future__ import annotations

import asyncio

from bxb.events.group_commit import GroupCommit


async def _times_ten(items: list[int]) -> list[int]:
    await asyncio.sleep(0.01)
    return [item * 10 for item in items]


async def test_a_stop_between_a_freed_slot_and_its_putter_still_answers_everyone() -> None:
    commit: GroupCommit[int, int] = GroupCommit(_times_ten, max_wait=0.2, max_pending=2)
    commit.start()
    callers = [asyncio.create_task(commit.submit(n)) for n in range(6)]
    await asyncio.sleep(0)  # two items queued, four callers blocked on the full queue
    await asyncio.sleep(0)  # the worker took both: two callers woken, not yet run
    async with asyncio.timeout(10):
        await commit.stop()
        assert [await caller for caller in callers] == [0, 10, 20, 30, 40, 50]
    assert commit.submissions == 6
