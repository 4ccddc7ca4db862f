"""How a worker kill's recovery time is read from the progress timeline."""

from __future__ import annotations

import uuid
from typing import Any

from tests.chaos.observers import ProgressMonitor


def _monitor(timeline: list[tuple[float, int]]) -> ProgressMonitor:
    sessions: Any = None  # the timeline is given, nothing is sampled
    return ProgressMonitor(sessions, uuid.uuid4(), timeline)


def test_progress_resuming_at_once_is_recovered_at_its_first_rise() -> None:
    monitor = _monitor([(10.0, 5), (12.0, 6), (13.0, 8), (14.0, 10)])
    assert monitor.recovery(killed_at=10.0, ready_at=11.5, window_end=14.0) == {
        "first_progress_s": 2.0,
        "recovery_s": 2.0,
        "after_restart_s": 0.5,
        "longest_pause_s": 2.0,
    }


def test_a_blip_before_a_long_stall_does_not_count_as_recovery() -> None:
    # One invoice right after the kill, then two minutes of nothing (a held activity).
    timeline = [(0.0, 5), (3.0, 6), (123.0, 7), (124.0, 9), (125.0, 12)]
    assert _monitor(timeline).recovery(killed_at=0.0, ready_at=2.0, window_end=125.0) == {
        "first_progress_s": 3.0,
        "recovery_s": 123.0,
        "after_restart_s": 121.0,
        "longest_pause_s": 120.0,
    }


def test_no_progress_in_the_window_is_a_recovery_as_long_as_the_window() -> None:
    monitor = _monitor([(0.0, 5), (30.0, 5)])
    assert monitor.recovery(killed_at=0.0, ready_at=5.0, window_end=30.0)["recovery_s"] == 30.0


def test_a_window_ending_long_after_the_last_rise_is_not_recovered() -> None:
    monitor = _monitor([(0.0, 5), (2.0, 6), (3.0, 7)])
    assert monitor.recovery(killed_at=0.0, ready_at=1.0, window_end=20.0)["recovery_s"] == 20.0


def test_per_second_marks_carry_the_last_sample_forward() -> None:
    monitor = _monitor([(100.2, 1), (100.7, 3), (102.5, 4)])
    assert monitor.per_second(100.0, 103.0) == [0, 3, 3, 4, 4]
