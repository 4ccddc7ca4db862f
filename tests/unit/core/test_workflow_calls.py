"""Bounded calls to a subscription's workflow: what counts as "try again" (issue 9).

Seen in the chaos suite: with its worker killed (or starved) mid-task, a workflow's task
fails and Temporal retries it; meanwhile Temporal answers an update with
FAILED_PRECONDITION / WorkflowNotReadyFailure. That is "not now", not a refusal: the call
is sent again within its bound, and never answered 422.
"""

from __future__ import annotations

import pytest
from google.protobuf.any_pb2 import Any as AnyProto
from temporalio.api.common.v1 import GrpcStatus
from temporalio.api.errordetails.v1 import NotFoundFailure, WorkflowNotReadyFailure
from temporalio.service import RPCError, RPCStatusCode

from bxb.core.temporal import TemporalUnavailable
from bxb.core.workflow_calls import BUSY, WorkflowRequestError, not_ready, within

NOT_READY = "Unable to perform workflow execution update due to Workflow Task in failed state."


def rpc_error(status: RPCStatusCode, message: str, detail: object | None) -> RPCError:
    proto = GrpcStatus(code=int(status), message=message)
    if detail is not None:
        packed = AnyProto()
        packed.Pack(detail)  # type: ignore[arg-type]
        proto.details.append(packed)
    return RPCError(message, status, proto.SerializeToString())


def test_a_failed_workflow_task_is_not_ready_other_errors_are_not() -> None:
    code = RPCStatusCode.FAILED_PRECONDITION
    assert not_ready(rpc_error(code, NOT_READY, WorkflowNotReadyFailure()))
    assert not not_ready(rpc_error(code, "something else", None))
    assert not not_ready(rpc_error(RPCStatusCode.NOT_FOUND, "gone", NotFoundFailure()))


async def test_not_ready_is_sent_again_until_it_answers() -> None:
    calls = 0

    async def call(left: float) -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise rpc_error(RPCStatusCode.FAILED_PRECONDITION, NOT_READY, WorkflowNotReadyFailure())
        return "done"

    async def unanswered() -> TemporalUnavailable:
        raise AssertionError("answered within the bound")

    assert await within(5.0, call, unanswered) == "done"
    assert calls == 3


async def test_not_ready_until_the_bound_is_busy_not_a_refusal() -> None:
    async def call(left: float) -> str:
        raise rpc_error(RPCStatusCode.FAILED_PRECONDITION, NOT_READY, WorkflowNotReadyFailure())

    async def unanswered() -> TemporalUnavailable:
        return TemporalUnavailable("still busy", code=BUSY, field="subscription")

    with pytest.raises(TemporalUnavailable) as caught:
        await within(0.5, call, unanswered)
    assert caught.value.code == BUSY


async def test_another_precondition_failure_is_a_refusal() -> None:
    async def call(left: float) -> str:
        raise rpc_error(RPCStatusCode.FAILED_PRECONDITION, "no such thing", None)

    async def unanswered() -> TemporalUnavailable:
        raise AssertionError("refused at once")

    with pytest.raises(WorkflowRequestError):
        await within(5.0, call, unanswered)
