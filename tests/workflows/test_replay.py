"""Determinism: today's workflow code replays histories recorded from earlier runs.

The histories come from the acceptance story (tests/e2e/test_subscription_story.py, run
with BXB_RECORD_HISTORY=1): trial, usage, an upgrade, a downgrade, continue-as-new after
every period. A change that makes the code take a different path fails here, which is the
signal to guard it with workflow.patched().
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from bxb.workflows.subscription import SubscriptionWorkflow

HISTORIES = Path(__file__).parent / "histories" / "subscription_story.json"


def _histories() -> list[WorkflowHistory]:
    """Recorded runs that completed at least one workflow task (the open run may not have)."""
    runs = json.loads(HISTORIES.read_text())
    return [
        WorkflowHistory.from_json(f"subscription-run-{i}", json.dumps(run))
        for i, run in enumerate(runs)
        if any(e.get("eventType") == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED" for e in run["events"])
    ]


def test_recorded_story_has_every_run() -> None:
    histories = _histories()
    # One run per closed period (four), each continued as new after its close.
    assert len(histories) == 4
    kinds = [event.event_type for history in histories for event in history.events]
    continued = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert kinds.count(continued) == 4
    # The history tells the story by activity name.
    steps = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for history in histories
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert steps.count("close_period") == 4
    assert {"start_subscription", "end_trial", "change_plan", "schedule_downgrade"} <= set(steps)


@pytest.mark.parametrize("index", range(len(_histories()) if HISTORIES.exists() else 0))
async def test_replays_without_nondeterminism(index: int) -> None:
    replayer = Replayer(workflows=[SubscriptionWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(_histories()[index], raise_on_replay_failure=True)
    assert result.replay_failure is None
