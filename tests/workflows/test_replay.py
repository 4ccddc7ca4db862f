"""Determinism: today's workflow code replays histories recorded from earlier runs.

Each file in histories/ is one workflow's runs, recorded with BXB_RECORD_HISTORY=1:
- subscription_story.json, from the acceptance story (tests/e2e/test_subscription_story.py),
  recorded before issue 9: trial, usage, an upgrade, a downgrade, continue-as-new after
  every period;
- subscription_failures.json (tests/e2e/test_subscription_wedges.py), recorded with issue
  9's code: a backdated start, an update refused and rolled back, a period close that
  stalls on a data error and recovers;
- subscription_fixed_charges.json and subscription_overrides.json
  (tests/e2e/test_fixed_charges_overrides.py), recorded with issue 10's code: fixed charges
  billed in advance (patch fixed-charges), a cascaded plan change taken at the next period
  and a subscription's own override taken at once (update refresh_plan, patch
  plan-refresh).
- subscription_pause.json (tests/e2e/test_subscription_pause.py), recorded with issue 10's
  pause and resume: a pause now resumed by the timer, a pause at period end.
- subscription_year.json (tests/workflows/test_history_story.py), recorded with issue
  13's small activity inputs (patch small-activity-inputs): twelve monthly closes on a
  test clock, the plan snapshot named by key in every activity input.
- subscription_year_one_run.json (the same test), recorded with issue 14's code: the
  twelve closes in one run, continued as new after the twelfth (patch
  continue-as-new-every-12-periods), the patches taken from the start (no markers).
A change that makes the code take a different path fails here, which is the signal to
guard it with workflow.patched(). Old files are kept: new code must replay them all.
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

HISTORIES = Path(__file__).parent / "histories"


def _histories(name: str | None = None) -> list[WorkflowHistory]:
    """Recorded runs that completed at least one workflow task (the open run may not have)."""
    files = [HISTORIES / f"{name}.json"] if name else sorted(HISTORIES.glob("*.json"))
    return [
        WorkflowHistory.from_json(f"{file.stem}-run-{i}", json.dumps(run))
        for file in files
        for i, run in enumerate(json.loads(file.read_text()))
        if any(e.get("eventType") == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED" for e in run["events"])
    ]


def test_recorded_story_has_every_run() -> None:
    histories = _histories("subscription_story")
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


def test_recorded_failures_take_the_new_paths() -> None:
    steps = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for history in _histories("subscription_failures")
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    # The refused update and the stalled close each scheduled their activity in vain.
    assert steps.count("record_subscription") >= 1
    assert steps.count("close_period") >= 3  # failed, retried after the stall, next period


def test_recorded_pauses_take_the_pause_paths() -> None:
    steps = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for history in _histories("subscription_pause")
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert steps.count("pause_subscription") == 2  # now, then at a period end
    assert steps.count("resume_subscription") == 2  # both by the timer


@pytest.mark.parametrize("index", range(len(_histories())))
async def test_replays_without_nondeterminism(index: int) -> None:
    replayer = Replayer(workflows=[SubscriptionWorkflow], data_converter=pydantic_data_converter)
    result = await replayer.replay_workflow(_histories()[index], raise_on_replay_failure=True)
    assert result.replay_failure is None
