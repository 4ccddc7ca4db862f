"""InvoicePaymentWorkflow: one payment attempt for an invoice no subscription owns.

One-off and wallet top-up invoices have no subscription workflow to collect them. Each
attempt is its own short workflow (id `invoice-payment/<invoice>/<attempt>`), so starting
an attempt twice runs it once. Transient provider failures are retried by Temporal; a
decline leaves the invoice failed, and POST /invoices/{id}/retry_payment starts the next
attempt. (Dunning campaigns on timers belong to subscription invoices.)
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from bxb.workflows.heartbeats import HEARTBEAT_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from bxb.workflows.billing_requests import PAYMENT_DECLINED, InvoiceStep, PaymentResult

ATTEMPT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=[PAYMENT_DECLINED],
)


def invoice_payment_workflow_id(step: InvoiceStep) -> str:
    return f"invoice-payment/{step.invoice_id}/{step.attempt}"


@workflow.defn
class InvoicePaymentWorkflow:
    @workflow.run
    async def run(self, step: InvoiceStep) -> str:
        try:
            result: PaymentResult = await workflow.execute_activity(
                "collect_payment",
                step,
                result_type=PaymentResult,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=ATTEMPT_RETRY,
                heartbeat_timeout=HEARTBEAT_TIMEOUT,
                summary=f"payment attempt {step.attempt}",
            )
        except ActivityError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == PAYMENT_DECLINED:
                return "failed"
            raise
        return result.status
