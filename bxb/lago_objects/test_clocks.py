"""bxb's TestClock object (a bxb extension, as Stripe's)."""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import TestClock


def test_clock_object(clock: TestClock) -> dict[str, Any]:
    return {
        "lago_id": str(clock.id),
        "name": clock.name,
        "frozen_time": iso(clock.frozen_time),
        "status": clock.status,
        "created_at": iso(clock.created_at),
    }
