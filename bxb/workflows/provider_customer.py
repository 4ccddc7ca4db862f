"""ProviderCustomerWorkflow: create a customer at its payment provider, once.

Started by the API after it commits a customer with `sync_with_provider` (id
`provider-customer/<customer id>`, so a second start while one runs joins it). Its one
activity is idempotent (see bxb/payments/customers.py); transient provider or database
failures are retried with backoff until they pass. A provider refusal (invalid details) is
a result, not an error: the activity reports it with a webhook and the workflow ends.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

from bxb.workflows.heartbeats import HEARTBEAT_TIMEOUT

SYNC_ACTIVITY = "sync_provider_customer"
SYNC_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


def provider_customer_workflow_id(customer_id: uuid.UUID) -> str:
    return f"provider-customer/{customer_id}"


@workflow.defn
class ProviderCustomerWorkflow:
    @workflow.run
    async def run(self, customer_id: uuid.UUID) -> str:
        status: str = await workflow.execute_activity(
            SYNC_ACTIVITY,
            customer_id,
            result_type=str,
            start_to_close_timeout=timedelta(minutes=2),
            # The activity heartbeats: a dead worker's attempt is retried within seconds.
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=SYNC_RETRY,
            summary="create the customer at its payment provider",
        )
        return status
