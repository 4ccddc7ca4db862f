"""DataExportWorkflow: write one export's CSV, then report it (one workflow per export,
id `data-export/<export>`, started by the API after the export row is committed).

The write activity heartbeats its progress; a retried attempt restarts the file. When
every attempt failed (or the input can't be exported), the export is marked failed and
`data_export.failed` is queued.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from bxb.workflows.heartbeats import HEARTBEAT_TIMEOUT

WRITE_ACTIVITY = "write_data_export"
FAIL_ACTIVITY = "fail_data_export"

WRITE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
)


class DataExportRequest(BaseModel):
    data_export_id: UUID


class DataExportFailure(BaseModel):
    data_export_id: UUID
    error: str


def data_export_workflow_id(data_export_id: UUID) -> str:
    return f"data-export/{data_export_id}"


@workflow.defn
class DataExportWorkflow:
    @workflow.run
    async def run(self, request: DataExportRequest) -> str:
        try:
            await workflow.execute_activity(
                WRITE_ACTIVITY,
                request,
                start_to_close_timeout=timedelta(hours=6),
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                retry_policy=WRITE_RETRY,
                summary="write the CSV",
            )
        except ActivityError as error:
            cause = error.cause
            message = str(cause) if cause is not None else str(error)
            await workflow.execute_activity(
                FAIL_ACTIVITY,
                DataExportFailure(data_export_id=request.data_export_id, error=message),
                start_to_close_timeout=timedelta(minutes=1),
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                summary="mark the export failed",
            )
            return "failed"
        return "completed"
