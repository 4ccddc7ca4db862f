"""Invoice collection inside the subscription workflow: grace period, payments, dunning.

A mixin of SubscriptionWorkflow, kept apart so each file reads as one subject. It tracks the
subscription's invoices still to finalize or to get paid (`state.collections`, carried
across continue-as-new), and acts when they are due: finalize a draft when its grace period
ends, attempt a payment, schedule the dunning campaign's retries counted from the first
failure, and give up with the organization's outcome. All I/O is in activities.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from bxb.workflows import story
from bxb.workflows.billing_requests import (
    PAYMENT_DECLINED,
    BillingResult,
    DunningPolicy,
    InvoiceStanding,
    InvoiceStep,
    PaymentResult,
)
from bxb.workflows.heartbeats import HEARTBEAT_TIMEOUT
from bxb.workflows.state import (
    Collection,
    InvoiceCommand,
    PaymentNotice,
    Status,
    SubscriptionState,
)

# Payments: transient provider failures are retried with backoff by Temporal; a decline
# is not retried, it starts the dunning campaign (durable timers).
PAYMENT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=6,
    non_retryable_error_types=[PAYMENT_DECLINED],
)
# A payment attempt heartbeats while it waits on the provider, so a crashed worker's
# attempt is retried elsewhere within seconds (it is idempotent per attempt number).
PAYMENT_HEARTBEAT = HEARTBEAT_TIMEOUT
# Due kinds that wait for queued commands (an API call never waits on a provider).
COLLECTION_KINDS = ("finalize_invoice", "collect_payment")

R = TypeVar("R")


class DeclinedError(Exception):
    """A payment attempt was declined; carries the campaign in force."""

    def __init__(self, policy: DunningPolicy) -> None:
        super().__init__("payment declined")
        self.policy = policy


class InvoiceCollection:
    # Provided by SubscriptionWorkflow.
    state: SubscriptionState
    _run_until_done: Callable[..., Awaitable[Any]]
    _terminate: Callable[[datetime], Awaitable[None]]

    def _track(self, result: BillingResult, at: datetime) -> None:
        """Follow a new invoice: finalize it after its grace period, or collect it now."""
        assert result.invoice_id is not None
        if self._find_collection(result.invoice_id) is not None:
            return
        if result.invoice_status == "draft":
            collection = Collection(
                invoice_id=result.invoice_id,
                number=result.invoice_number,
                finalize_at=result.finalize_at,
            )
        elif (
            result.payment_status == "pending"
            and result.total_amount_cents > 0
            and result.collectable
        ):
            collection = Collection(
                invoice_id=result.invoice_id, number=result.invoice_number, next_attempt_at=at
            )
        else:
            return
        self.state.collections.append(collection)

    def _find_collection(self, invoice_id: UUID) -> Collection | None:
        return next((c for c in self.state.collections if c.invoice_id == invoice_id), None)

    def _collection(self, invoice_id: UUID) -> Collection:
        collection = self._find_collection(invoice_id)
        assert collection is not None
        return collection

    def _forget(self, collection: Collection) -> None:
        self.state.collections = [
            c for c in self.state.collections if c.invoice_id != collection.invoice_id
        ]

    async def _finalize_invoice(self, collection: Collection, at: datetime) -> None:
        standing = await self._run_until_done(
            "finalize_invoice",
            InvoiceStep(invoice_id=collection.invoice_id, at=at),
            InvoiceStanding,
            story.invoice("finalize", collection, self.state),
        )
        collection.finalize_at = None
        collection.number = standing.number or collection.number
        unpaid = standing.payment_status in ("pending", "failed")
        due = standing.amount_due_cents > 0 and standing.collectable
        if standing.status == "finalized" and unpaid and due:
            collection.next_attempt_at = at
        else:
            self._forget(collection)

    async def _collect(self, collection: Collection, at: datetime) -> None:
        """One payment attempt; a decline moves the dunning campaign on."""
        collection.next_attempt_at = None
        collection.attempts += 1
        step = InvoiceStep(invoice_id=collection.invoice_id, at=at, attempt=collection.attempts)
        try:
            result = await self._run_until_done(
                "collect_payment",
                step,
                PaymentResult,
                story.invoice(f"payment attempt {collection.attempts} of", collection, self.state),
                PAYMENT_RETRY,
                PAYMENT_HEARTBEAT,
            )
        except DeclinedError as declined:
            await self._on_decline(collection, at, declined.policy)
            return
        collection.retry_days, collection.outcome = result.policy.retry_days, result.policy.outcome
        if result.status != "pending":  # pending: the provider's webhook will tell
            self._forget(collection)

    async def _on_decline(
        self, collection: Collection, at: datetime, policy: DunningPolicy
    ) -> None:
        """Schedule the campaign's next retry, counted from the first failure, or give up."""
        collection.retry_days, collection.outcome = policy.retry_days, policy.outcome
        collection.failures += 1
        if collection.first_failed_at is None:
            collection.first_failed_at = at
        while collection.failures <= len(collection.retry_days):
            retry_day = collection.retry_days[collection.failures - 1]
            retry_at = collection.first_failed_at + timedelta(days=retry_day)
            if retry_at > at:
                collection.next_attempt_at = retry_at
                return
            collection.failures += 1  # a manual retry already used this slot
        await self._give_up(collection, at)

    async def _give_up(self, collection: Collection, at: datetime) -> None:
        self._forget(collection)
        await self._run_until_done(
            "mark_payment_overdue",
            InvoiceStep(invoice_id=collection.invoice_id, at=at),
            InvoiceStanding,
            story.invoice("mark past due", collection, self.state),
        )
        if collection.outcome == "terminate" and self.state.status is Status.ACTIVE:
            await self._terminate(at)

    async def _finalize_command(self, command: InvoiceCommand, now: datetime) -> None:
        collection = self._find_collection(command.invoice_id)
        if collection is None or collection.finalize_at is None:
            raise ApplicationError("invoice is not a draft", non_retryable=True)
        await self._finalize_invoice(collection, now)

    async def _retry_command(self, command: InvoiceCommand, now: datetime) -> None:
        collection = self._find_collection(command.invoice_id)
        if collection is not None and collection.finalize_at is not None:
            raise ApplicationError("invoice is a draft", non_retryable=True)
        if collection is None:
            collection = Collection(invoice_id=command.invoice_id)
            self.state.collections.append(collection)
        if command.next_attempt is not None:
            collection.attempts = max(collection.attempts, command.next_attempt - 1)
        await self._collect(collection, now)

    async def _on_notice(self, notice: PaymentNotice, now: datetime) -> None:
        collection = self._find_collection(notice.invoice_id)
        if collection is None:
            return
        if notice.status == "failed":
            # Waiting on the provider means an attempt was made: the campaign is known.
            policy = DunningPolicy(retry_days=collection.retry_days, outcome=collection.outcome)
            if collection.next_attempt_at is None and collection.finalize_at is None:
                await self._on_decline(collection, now, policy)
            return
        self._forget(collection)  # paid or voided: collection and dunning end
