"""What the subscription workflow keeps only for the current run (never carried across
continue-as-new): queued commands, the instants it has caught up to, the last error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class QueuedCommand:
    seq: int
    kind: str
    payload: Any = None
    done: bool = False
    error: str | None = None


@dataclass(frozen=True)
class Due:
    at: datetime
    kind: str
    invoice_id: Any = None


# Several things due at the same instant happen in this order.
DUE_ORDER = {
    "activate": 0,
    "end_trial": 1,
    "terminate": 2,
    "close_period": 3,
    "close_usage": 4,
    "finalize_invoice": 5,
    "collect_payment": 6,
}


@dataclass
class Runtime:
    commands: list[QueuedCommand] = field(default_factory=list)
    seq: int = 0
    caught_up_to: datetime | None = None
    advancing_to: datetime | None = None
    period_closed: bool = False
    last_error: str | None = None
