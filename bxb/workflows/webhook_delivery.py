"""WebhookDeliveryWorkflow: deliver one webhook row, retrying with backoff, then give up.

One workflow per delivery row (id ``webhook/<row id>``; a manual retry adds a suffix).
Temporal's activity retry policy is the retry schedule: each attempt is one
`deliver_webhook` activity that records itself and raises unless the receiver answered
2xx. When the attempts run out, `mark_webhook_failed` records the outcome.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from bxb.workflows.heartbeats import HEARTBEAT_TIMEOUT

# Time for the bookkeeping around one HTTP request (loading the row, recording the attempt).
BOOKKEEPING_SECONDS = 20.0
# The activities heartbeat: an attempt held by a dead worker is retried within seconds.
HEARTBEAT = HEARTBEAT_TIMEOUT


@dataclass(frozen=True)
class DeliveryPolicy:
    """The retry schedule; bxb.core.settings gives the defaults, tests shrink them."""

    initial_interval_seconds: float = 5.0
    backoff_coefficient: float = 2.0
    maximum_interval_seconds: float = 3600.0
    maximum_attempts: int = 12
    request_timeout_seconds: float = 10.0


@dataclass(frozen=True)
class WebhookDelivery:
    webhook_id: uuid.UUID
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)


@dataclass(frozen=True)
class DeliveryAttempt:
    """Input of one `deliver_webhook` activity."""

    webhook_id: uuid.UUID
    request_timeout_seconds: float


def workflow_id(webhook_id: uuid.UUID, manual_retries: int = 0) -> str:
    """The delivery workflow's id: stable, so starting it twice starts it once."""
    base = f"webhook/{webhook_id}"
    return base if manual_retries == 0 else f"{base}/retry-{manual_retries}"


@workflow.defn
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, delivery: WebhookDelivery) -> str:
        policy = delivery.policy
        try:
            await workflow.execute_activity(
                "deliver_webhook",
                DeliveryAttempt(delivery.webhook_id, policy.request_timeout_seconds),
                start_to_close_timeout=timedelta(
                    seconds=policy.request_timeout_seconds + BOOKKEEPING_SECONDS
                ),
                heartbeat_timeout=HEARTBEAT,
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=policy.initial_interval_seconds),
                    backoff_coefficient=policy.backoff_coefficient,
                    maximum_interval=timedelta(seconds=policy.maximum_interval_seconds),
                    maximum_attempts=policy.maximum_attempts,
                ),
            )
        except ActivityError:
            await workflow.execute_activity(
                "mark_webhook_failed",
                delivery.webhook_id,
                start_to_close_timeout=timedelta(seconds=BOOKKEEPING_SECONDS),
                heartbeat_timeout=HEARTBEAT,
            )
            return "failed"
        return "succeeded"
