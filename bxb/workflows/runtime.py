"""What the subscription workflow keeps only for the current run (never carried across
continue-as-new): queued commands, the instants it has caught up to, errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True)
class Failure:
    """Why a step failed: the message, and the ApplicationError type its caller gets."""

    message: str
    type: str


@dataclass
class QueuedCommand:
    seq: int
    kind: str
    payload: Any = None
    # When the command reached the workflow (workflow time), to drop it once its caller
    # has stopped waiting.
    accepted_at: datetime | None = None
    done: bool = False
    failure: Failure | None = None

    def expired(self, now: datetime) -> bool:
        wait = getattr(self.payload, "answer_within_seconds", None)
        if wait is None or self.accepted_at is None:
            return False
        return now - self.accepted_at > timedelta(seconds=wait)

    def finish(self, failure: Failure | None = None) -> None:
        self.failure = failure
        self.done = True


@dataclass(frozen=True)
class Due:
    at: datetime
    kind: str
    invoice_id: Any = None


# Several things due at the same instant happen in this order. (Usage reactions run just
# before the period close or termination they precede.) A resume comes before a
# termination or a period close at the same instant (the period closes unpaused); a
# scheduled pause at period end comes before the close (the next period starts paused,
# its advance fee waiting for the resume).
DUE_ORDER = {
    "activate": 0,
    "end_trial": 1,
    "resume": 2,
    "react_to_usage": 3,
    "terminate": 4,
    "pause": 5,
    "close_period": 6,
    "close_usage": 7,
    "finalize_invoice": 8,
    "collect_payment": 9,
}
# Commands sent as signals: they stay queued while updates are refused.
SIGNAL_KINDS = ("payment_notice", "usage")


@dataclass
class Stall:
    """A due transition failed with an error no retry of its activity can fix; it is tried
    again from scratch after `backoff`, and updates are refused meanwhile."""

    message: str
    backoff: timedelta


@dataclass
class Runtime:
    commands: list[QueuedCommand] = field(default_factory=list)
    seq: int = 0
    caught_up_to: datetime | None = None
    advancing_to: datetime | None = None
    period_closed: bool = False
    periods_closed: int = 0  # in this run
    last_error: str | None = None
    stall: Stall | None = None
    # The subscription could not even start (nothing was recorded): the workflow ends.
    start_failed: Failure | None = None
    # A "usage" command is queued and not started yet (signals coalesce onto it).
    usage_queued: bool = False
