"""Group commit: many concurrent callers, one write.

Each caller `submit`s an item and waits; a worker task takes what is queued (up to
``max_batch`` units, lingering ``max_wait`` seconds for more when the batch is small),
hands it to ``flush`` as one list, and resolves every caller's future with its own
result once ``flush`` returned, i.e. once the write is committed. The queue is bounded,
so a flood of callers waits in `submit` (back-pressure) instead of growing memory.

Callers are isolated from each other: if ``flush`` raises, the batch is written again
in halves, and so on down to single items (`write_apart`), so that only the items that
fail get an error, each its own. A failure that ``divisible`` refuses (the store is
down: no part could succeed) ends that at once: every caller not answered yet gets it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

Flush = Callable[[list[T]], Awaitable[Sequence[R]]]
Divisible = Callable[[Exception], bool]


def _always(_: Exception) -> bool:
    return True


async def write_apart(
    write: Flush[T, R],
    items: list[T],
    *,
    divisible: Divisible = _always,
    on_divide: Callable[[int, Exception], object] | None = None,
) -> list[R | Exception]:
    """Write items together; if that fails, write each half on its own, and so on.

    Returns, per item, its result or the error of the smallest write that failed with it:
    one bad item among n costs about 2·log2(n) more writes, and the others are written.
    An error that ``divisible`` refuses is not about the items (the store is down): no
    further write is tried, and every item not written yet gets that error.
    ``on_divide(n, error)`` is told of each failed write of n > 1 items before it is
    divided.
    """
    outcomes: list[R | Exception] = []

    async def attempt(part: list[T]) -> Exception | None:
        """Write part, appending its outcomes; returns an error that ends everything."""
        try:
            results = await write(part)
        except Exception as exc:
            if not divisible(exc):
                return exc
            if len(part) == 1:
                outcomes.append(exc)
                return None
            if on_divide is not None:
                on_divide(len(part), exc)
            middle = len(part) // 2
            return await attempt(part[:middle]) or await attempt(part[middle:])
        outcomes.extend(results)
        return None

    final = await attempt(items)
    if final is not None:
        outcomes.extend([final] * (len(items) - len(outcomes)))
    return outcomes


class PipelineStoppedError(RuntimeError):
    """Raised by submit once the group commit is stopping."""


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        flush: Flush[T, R],
        *,
        size_of: Callable[[T], int] = lambda _: 1,
        max_batch: int = 2000,
        max_wait: float = 0.001,
        max_pending: int = 2000,
        workers: int = 1,
        divisible: Divisible = _always,
    ) -> None:
        self._flush = flush
        self._divisible = divisible
        self._size_of = size_of
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]] | None] = asyncio.Queue(max_pending)
        self._worker_count = workers
        self._workers: list[asyncio.Task[None]] = []
        self._closed = False
        self._stopping = asyncio.Event()  # cuts a linger short
        # Callers between their admission and their item's arrival in the queue (a full
        # queue blocks them); stop() puts its markers only once there are none.
        self._putting = 0
        self._all_put = asyncio.Event()
        self._all_put.set()
        # Observability (and the tests that prove batching happens).
        self.received = 0
        self.flushes = 0
        self.submissions = 0
        self.units = 0
        self.divisions = 0  # writes that failed and were tried again in halves

    def start(self) -> None:
        self._workers = [
            asyncio.create_task(self._run(), name=f"group-commit-{n}")
            for n in range(self._worker_count)
        ]

    async def submit(self, item: T) -> R:
        if self._closed:
            raise PipelineStoppedError("the event pipeline is stopping")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._putting += 1
        self._all_put.clear()
        try:
            await self._queue.put((item, future))
        finally:
            self._putting -= 1
            if self._putting == 0:
                self._all_put.set()
        self.received += 1
        return await future

    async def stop(self) -> None:
        """Refuse new items, flush everything queued, and end the workers."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        # Every admitted caller's item goes before the markers, so the workers flush it.
        # The queue's order of putters is not enough: a putter woken by a free slot takes
        # it only when it next runs, and a marker put meanwhile would overtake it (its
        # caller then waited forever).
        await self._all_put.wait()
        for _ in self._workers:
            await self._queue.put(None)
        await asyncio.gather(*self._workers)

    async def _run(self) -> None:
        while True:
            entry = await self._queue.get()
            if entry is None:
                return
            batch = [entry]
            size = self._size_of(entry[0])
            stopping, size = self._drain(batch, size)
            if not stopping and size < self.max_batch and self.max_wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.max_wait)
                stopping, size = self._drain(batch, size)
            await self._flush_batch(batch)
            if stopping:
                return

    def _divided(self, callers: int, error: Exception) -> None:
        self.divisions += 1
        log.warning("a write for %d callers failed; writing them apart: %r", callers, error)

    def _drain(self, batch: list[tuple[T, asyncio.Future[R]]], size: int) -> tuple[bool, int]:
        """Move queued items into batch up to max_batch; True if the stop marker came."""
        while size < self.max_batch:
            try:
                entry = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            if entry is None:
                return True, size
            batch.append(entry)
            size += self._size_of(entry[0])
        return False, size

    async def _flush_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self.flushes += 1
        self.submissions += len(batch)
        self.units += sum(self._size_of(item) for item, _ in batch)
        outcomes = await write_apart(
            self._flush,
            [item for item, _ in batch],
            divisible=self._divisible,
            on_divide=self._divided,
        )
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the caller may have gone (client disconnected)
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
