"""Recording workflow histories for the replay test (tests/workflows/test_replay.py)."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client

HISTORIES = Path(__file__).parents[1] / "workflows" / "histories"


async def record_histories(client: Client, wf_id: str, name: str) -> None:
    """Every run of the workflow (continue-as-new starts one per closed period), into
    histories/<name>.json."""
    runs = [r.run_id async for r in client.list_workflows(f"WorkflowId = '{wf_id}'")]
    histories = []
    for run_id in runs:
        history = await client.get_workflow_handle(wf_id, run_id=run_id).fetch_history()
        histories.append(json.loads(history.to_json()))
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(json.dumps(histories))
