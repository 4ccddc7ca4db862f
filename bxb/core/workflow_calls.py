"""Calls from the API to subscription workflows, each answered within a bound.

- Transport errors (Temporal restarting, a dropped connection) are retried until the bound;
  an update is re-sent under the same update id, which Temporal deduplicates, so it never
  runs twice.
- An update the workflow refuses raises WorkflowRequestError with its reason (422), unless
  the subscription is only unable to take it now (a stalled transition): that one, like
  a call still unanswered at the bound, raises TemporalUnavailable (503) naming the last
  error the workflow reports. Nothing is ever left hanging.
- Each command carries the bound (`answer_within_seconds`): one that the workflow has not
  started by then is dropped, so a request the caller was told failed is not applied later.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio.api.errordetails.v1 import WorkflowNotReadyFailure
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError, RPCStatusCode

from bxb.core.temporal import TemporalUnavailable
from bxb.workflows.state import REQUEST_EXPIRED, SUBSCRIPTION_STALLED, Command, SubscriptionView
from bxb.workflows.subscription import SubscriptionWorkflow

T = TypeVar("T")
# What the API waits for a workflow by default (the setting BXB_WORKFLOW_UPDATE_TIMEOUT).
DEFAULT_WAIT = 15.0
# Statuses of a call that may succeed if sent again: the server or the way to it failed.
TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.UNKNOWN,
        RPCStatusCode.INTERNAL,
    }
)
RETRY_DELAY_MAX = 1.0
# After the bound: how long to spend finding out why there was no answer.
EXPLAIN_SECONDS = 1.5
BUSY = "subscription_busy"
DID_NOT_FINISH = "the subscription did not finish the request in time"


def not_ready(exc: RPCError) -> bool:
    """The workflow cannot take an update now: its last workflow task failed (a worker
    killed or starved mid-task, a deadlock detector tripped) and Temporal retries it. Not a
    refusal: sending the update again succeeds once the task does."""
    details = exc.grpc_status.details if exc.status == RPCStatusCode.FAILED_PRECONDITION else []
    return any(d.Is(WorkflowNotReadyFailure.DESCRIPTOR) for d in details)


class WorkflowRequestError(Exception):
    """The workflow refused a request (a validator or a command said why)."""


def busy(reason: str) -> TemporalUnavailable:
    return TemporalUnavailable(reason, code=BUSY, field="subscription")


async def within(
    wait: float,
    call: Callable[[float], Awaitable[T]],
    unanswered: Callable[[], Awaitable[TemporalUnavailable]],
) -> T:
    """call(seconds left) until it answers, retrying transport errors, for `wait` seconds;
    then raise what `unanswered` says."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    transport: str | None = None
    delay = 0.1
    try:
        async with asyncio.timeout(wait):
            while True:
                try:
                    return await call(max(deadline - loop.time(), 0.0))
                except WorkflowUpdateFailedError as exc:
                    raise refusal(exc) from exc
                except WorkflowQueryFailedError as exc:
                    raise busy(f"the subscription cannot answer: {exc.message}") from exc
                except WorkflowUpdateRPCTimeoutOrCancelledError:
                    _reraise_if_cancelled()
                    transport = None  # the server answered; the workflow has not yet
                except RPCError as exc:
                    if not_ready(exc):
                        transport = None  # Temporal answered: the workflow is not ready
                    elif exc.status not in TRANSIENT:
                        raise WorkflowRequestError(exc.message) from exc
                    else:
                        transport = exc.message or exc.status.name
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, RETRY_DELAY_MAX)
    except TimeoutError:
        if transport is not None:
            raise TemporalUnavailable(f"Temporal did not answer: {transport}") from None
        raise await unanswered() from None


async def send_update(
    client: Client,
    wf_id: str,
    update: str,
    arg: object | None = None,
    *,
    wait: float = DEFAULT_WAIT,
) -> SubscriptionView:
    """Send an update and wait for its result, at most `wait` seconds."""
    handle = client.get_workflow_handle(wf_id)
    update_id = str(uuid.uuid4())

    async def attempt(left: float) -> SubscriptionView:
        args = [] if arg is None else [with_answer_time(arg, left)]
        result: SubscriptionView = await handle.execute_update(
            update, args=args, id=update_id, result_type=SubscriptionView
        )
        return result

    return await within(wait, attempt, lambda: unanswered(client, wf_id))


def with_answer_time(arg: Any, seconds: float) -> Any:
    """The command, telling the workflow how long its caller waits for the answer."""
    if isinstance(arg, Command):
        return arg.model_copy(update={"answer_within_seconds": seconds})
    return arg


async def query_view(client: Client, wf_id: str, *, wait: float = DEFAULT_WAIT) -> SubscriptionView:
    """The subscription's live state (a query), within the bound."""
    handle = client.get_workflow_handle(wf_id)

    async def attempt(_: float) -> SubscriptionView:
        return await handle.query(SubscriptionWorkflow.view)

    return await within(wait, attempt, lambda: unanswered(client, None))


async def unanswered(client: Client, wf_id: str | None) -> TemporalUnavailable:
    """Why a workflow did not answer in time: the error it reports (it is retrying a
    transition), or that it is still busy, or that Temporal itself does not answer (the
    SDK retries a call to an unreachable server on its own until the bound)."""
    if wf_id is not None:
        try:
            async with asyncio.timeout(EXPLAIN_SECONDS):
                view = await client.get_workflow_handle(wf_id).query(SubscriptionWorkflow.view)
            return busy(view.last_error or DID_NOT_FINISH)
        except (TimeoutError, RPCError, WorkflowQueryFailedError):
            pass
    try:
        async with asyncio.timeout(EXPLAIN_SECONDS):
            healthy = await client.service_client.check_health()
    except (TimeoutError, RPCError):
        healthy = False
    return busy(DID_NOT_FINISH) if healthy else TemporalUnavailable("Temporal does not answer")


def refusal(exc: WorkflowUpdateFailedError) -> Exception:
    """What the workflow's refusal means to the caller: 422, or 503 when only "not now"."""
    failure = exc.cause
    cause: BaseException = failure
    while cause.__cause__ is not None:
        cause = cause.__cause__
    reason = str(getattr(cause, "message", None) or cause)
    if getattr(failure, "type", None) in (SUBSCRIPTION_STALLED, REQUEST_EXPIRED):
        return busy(reason)
    return WorkflowRequestError(reason)


def _reraise_if_cancelled() -> None:
    """The SDK reports our own cancellation (the bound, a shutdown) as an RPC timeout;
    that one must propagate, not be retried."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
