"""The Temporal worker: every workflow and activity bxb runs, on one task queue."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Interceptor, UnsandboxedWorkflowRunner, Worker

from bxb.activities.audit_retention import AuditRetentionActivities
from bxb.activities.collection import CollectionActivities
from bxb.activities.data_exports import DataExportActivities
from bxb.activities.dunning_campaigns import DunningCampaignActivities
from bxb.activities.dunning_campaigns import ensure_schedule as dunning_schedule
from bxb.activities.health import HealthActivities
from bxb.activities.provider_customers import ProviderCustomerActivities
from bxb.activities.refunds import RefundActivities
from bxb.activities.subscriptions import SubscriptionActivities
from bxb.activities.usage import UsageActivities
from bxb.activities.wallet_top_ups import WalletTopUpActivities
from bxb.activities.webhooks import WebhookActivities
from bxb.core import tracing
from bxb.core.db import create_engine, create_sessionmaker
from bxb.core.invoice_collection import resume_unstarted_collections
from bxb.core.metrics import serve_worker_metrics
from bxb.core.settings import Settings
from bxb.core.temporal import connect, ensure_search_attributes
from bxb.events.store import EventStore, create_event_store
from bxb.governance.audit import retention
from bxb.ledger import wallet_schedule
from bxb.payments.customers import resume_unstarted_syncs
from bxb.payments.refund_starts import resume_unstarted_refunds
from bxb.webhooks import outbox
from bxb.workflows.audit_retention import AuditRetentionWorkflow
from bxb.workflows.credit_note_refund import CreditNoteRefundWorkflow
from bxb.workflows.data_export import DataExportWorkflow
from bxb.workflows.dunning_campaigns import DunningCampaignsWorkflow
from bxb.workflows.invoice_payment import InvoicePaymentWorkflow
from bxb.workflows.pipeline_check import PipelineCheckWorkflow
from bxb.workflows.provider_customer import ProviderCustomerWorkflow
from bxb.workflows.subscription import SubscriptionWorkflow
from bxb.workflows.wallet_top_ups import WalletTopUpsWorkflow
from bxb.workflows.webhook_delivery import WebhookDeliveryWorkflow

log = logging.getLogger(__name__)

WORKFLOWS = [
    SubscriptionWorkflow,
    PipelineCheckWorkflow,
    WebhookDeliveryWorkflow,
    InvoicePaymentWorkflow,
    CreditNoteRefundWorkflow,
    ProviderCustomerWorkflow,
    DataExportWorkflow,
    AuditRetentionWorkflow,
    WalletTopUpsWorkflow,
    DunningCampaignsWorkflow,
]

# Workflows run without the sandbox. Every closed period starts a new run, and building a
# sandbox per run (and crossing it for every payload) cost more CPU than the billing
# itself. Determinism is guarded instead by tests/workflows/test_determinism_rules.py
# (no clock, randomness or I/O in workflows/ and billing/) and by replaying recorded
# histories (tests/workflows/test_replay.py).
WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()
STICKY_QUEUE_TIMEOUT = timedelta(seconds=2)


def build_worker(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[AsyncSession],
    events: EventStore,
    settings: Settings | None = None,
    *,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    """bxb's worker on `task_queue`; `interceptors` run before tracing's (the billing-cycle
    bench counts each process's activities with one)."""
    settings = settings or Settings()
    health = HealthActivities(sessions)
    subscriptions = SubscriptionActivities(sessions, events)
    collection = CollectionActivities(sessions, events, settings)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=WORKFLOW_RUNNER,
        activities=[
            health.check_database,
            *subscriptions.all(),
            *collection.all(),
            *UsageActivities(sessions, events).all(),
            *WebhookActivities(sessions, settings).all(),
            *ProviderCustomerActivities(sessions, settings).all(),
            *RefundActivities(sessions, settings).all(),
            *DataExportActivities(sessions, events, settings).all(),
            AuditRetentionActivities(sessions, settings).delete_expired_audit_rows,
            WalletTopUpActivities(sessions, settings).run_recurring_top_ups,
            DunningCampaignActivities(sessions).process_dunning_campaigns,
        ],
        max_concurrent_activities=settings.worker_max_activities,
        max_concurrent_workflow_tasks=settings.worker_max_workflow_tasks,
        # Activities are async; the executor only serves any sync ones added later.
        activity_executor=ThreadPoolExecutor(max_workers=settings.worker_max_activities),
        # On shutdown, running activities get this long, then are cancelled; Temporal
        # retries them on another worker (they are idempotent).
        graceful_shutdown_timeout=timedelta(seconds=settings.shutdown_timeout),
        # A workflow's next task waits on this worker's own (sticky) queue at most this
        # long before any worker may take it: short, so a dead worker's workflows move on
        # within seconds (the default, 10 s, doubled the takeover after a crash).
        sticky_queue_schedule_to_start_timeout=STICKY_QUEUE_TIMEOUT,
        # The workflows kept in memory between tasks: what bounds the worker's memory.
        max_cached_workflows=settings.worker_max_cached_workflows,
        # While tracing is on, and the client does not trace already (see bxb.core.tracing).
        interceptors=[*interceptors, *tracing.worker_interceptors(client)],
    )


async def _recover_unstarted(
    sessions: async_sessionmaker[AsyncSession], client: Client, settings: Settings
) -> None:
    """Start what a crash left unstarted after its commit: webhook deliveries (dispatching
    twice does nothing, so every pending row is dispatched again), collections, provider
    syncs and refunds."""
    queue = settings.temporal_task_queue
    try:
        webhooks = await outbox.redispatch_pending(
            sessions,
            client,
            timedelta(0),
            task_queue=queue,
            policy=outbox.policy_from_settings(settings),
        )
        await resume_unstarted_collections(sessions, client, queue)
        await resume_unstarted_syncs(sessions, client, queue)
        await resume_unstarted_refunds(sessions, client, queue)
    except asyncio.CancelledError:
        raise
    except Exception:  # the next start-up tries again; polling goes on meanwhile
        log.exception("recovering unstarted work failed")
        return
    log.info("worker recovered unstarted work (%d webhook deliveries)", webhooks)


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Run the worker until stop is set, then drain in-flight tasks and return."""
    client = await connect(settings.resolved_temporal_address, settings.temporal_namespace)
    await ensure_search_attributes(client)
    engine = create_engine(settings.resolved_database_url, pool_size=settings.database_pool_size)
    events = create_event_store(settings, engine)
    metrics = None
    if settings.worker_metrics_port is not None:
        metrics = serve_worker_metrics(settings.worker_metrics_host, settings.worker_metrics_port)
    try:
        sessions = create_sessionmaker(engine)
        outbox.configure(settings)
        async with build_worker(client, settings.temporal_task_queue, sessions, events, settings):
            log.info("worker polling task queue %s", settings.temporal_task_queue)
            try:
                await retention.ensure_schedule(client, settings.temporal_task_queue)
            except Exception:  # the next start-up tries again; billing goes on meanwhile
                log.exception("creating the audit retention schedule failed")
            try:
                await wallet_schedule.ensure_schedule(client, settings.temporal_task_queue)
            except Exception:  # likewise
                log.exception("creating the wallet top-up schedule failed")
            try:
                await dunning_schedule(client, settings.temporal_task_queue)
            except Exception:  # the next start-up tries again; billing goes on meanwhile
                log.exception("creating the dunning campaigns schedule failed")
            # Catching up on what a crash left unstarted runs beside the polling, so a worker
            # with thousands of pending rows takes its share of the queue at once.
            recovery = asyncio.create_task(_recover_unstarted(sessions, client, settings))
            try:
                await stop.wait()
            finally:
                recovery.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await recovery
    finally:
        if metrics is not None:
            metrics.stop()
        await events.close()
        await engine.dispose()
