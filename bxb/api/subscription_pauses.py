"""/api/v1/subscriptions/{external_id}/pause and /resume (bxb's own; Lago has none).

    POST /subscriptions/{external_id}/pause
        {"subscription": {"pause_at": "now" | "end_of_period", "resume_at": <instant>|null}}
    POST /subscriptions/{external_id}/resume
        {} (now), or {"subscription": {"resume_at": <instant>}} (move the timer)

Both are updates of the subscription's workflow (bounded waits, workflow_calls.py) and
answer with Lago's subscription object, whose status shows `paused` while paused. A
refusal is Lago's 422 with a field code: `subscription`: subscription_is_terminated,
subscription_not_started, subscription_already_paused, subscription_not_paused;
`resume_at`: invalid_date (in the past, or not after the pause's start).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, ConfigDict, Field

from bxb.api.deps import OrgDep, SessionDep, SettingsDep, TemporalDep
from bxb.api.errors import ApiError, validation_error
from bxb.core.subscribing import refusal, shown_subscription
from bxb.core.subscriptions import WorkflowRequestError, send_update
from bxb.inputs.bounds import AwareInstant
from bxb.lago_objects.subscriptions import subscription_object
from bxb.models import Organization
from bxb.workflows.pausing import INVALID_DATE, TERMINATED
from bxb.workflows.state import Command, PauseRequest, ResumeRequest

router = APIRouter(prefix="/api/v1", tags=["subscriptions"])


class PauseIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    pause_at: Literal["now", "end_of_period"] = "now"
    resume_at: AwareInstant | None = None


class PauseBody(BaseModel):
    subscription: PauseIn = Field(default_factory=PauseIn)


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    resume_at: AwareInstant | None = None


class ResumeBody(BaseModel):
    subscription: ResumeIn = Field(default_factory=ResumeIn)


def _refused(exc: WorkflowRequestError) -> ApiError:
    if str(exc) == INVALID_DATE:  # the resume_at asked for
        return validation_error({"resume_at": [INVALID_DATE]})
    return refusal(exc)


async def _send(
    session: SessionDep,
    org: Organization,
    external_id: str,
    temporal: TemporalDep,
    settings: SettingsDep,
    update: str,
    request: Command,
) -> dict[str, Any]:
    row = await shown_subscription(session, org.id, external_id)  # 404 for another organization's
    if row.status in ("terminated", "canceled"):
        raise validation_error({"subscription": [TERMINATED]})
    try:
        await send_update(
            await temporal.client(),
            row.workflow_id,
            update,
            request,
            wait=settings.workflow_update_timeout,
        )
    except WorkflowRequestError as exc:
        raise _refused(exc) from exc
    return {
        "subscription": subscription_object(await shown_subscription(session, org.id, external_id))
    }


@router.post("/subscriptions/{external_id}/pause")
async def pause_subscription(
    external_id: str,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    body: Annotated[PauseBody | None, Body()] = None,
) -> dict[str, Any]:
    data = (body or PauseBody()).subscription
    request = PauseRequest(at_period_end=data.pause_at == "end_of_period", resume_at=data.resume_at)
    return await _send(session, org, external_id, temporal, settings, "pause", request)


@router.post("/subscriptions/{external_id}/resume")
async def resume_subscription(
    external_id: str,
    org: OrgDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    body: Annotated[ResumeBody | None, Body()] = None,
) -> dict[str, Any]:
    data = (body or ResumeBody()).subscription
    request = ResumeRequest(resume_at=data.resume_at)
    return await _send(session, org, external_id, temporal, settings, "resume", request)
