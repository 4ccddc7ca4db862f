"""Business metrics for Prometheus, beside the HTTP ones (bxb.api.middleware).

Each counter moves in the process where its effect happens, once per effect, and only
after the transaction that made the effect has committed:

- `bxb_invoices_finalized_total`: an invoice got its number (bxb.ledger.numbering), in
  the worker (billing, finalizing drafts, instant fees) or the API (wallet top-ups);
- `bxb_payments_attempts_total{status}`: a provider attempt reached succeeded or failed
  (bxb.payments.settle), in the worker (collection) or the API (Stripe's webhook);
- `bxb_webhook_deliveries_total{outcome}`: one HTTP attempt at delivering a webhook,
  succeeded or failed (bxb.activities.webhooks), in the worker;
- `bxb_events_ingested_total`: events stored by the ingestion pipeline (duplicates left
  out), in the API.

A retried activity that finds its effect already made changes nothing and counts
nothing: counts are attached to the session (`count_on_commit`) and added when it
commits, dropped when it rolls back.

The API serves the process's registry at /metrics; `bxb worker` serves its own on
BXB_WORKER_METRICS_PORT (`serve_worker_metrics`); `bxb up` runs both in one process, so
its /metrics has everything. The MRR gauge (`bxb_mrr_amount_cents{organization_id,
currency}`) is computed when /metrics is scraped, at most every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, start_http_server
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

INVOICES_FINALIZED = Counter("bxb_invoices_finalized_total", "Invoices finalized (numbered)")
PAYMENT_ATTEMPTS = Counter(
    "bxb_payments_attempts_total",
    "Payment attempts at the provider, by the status they ended in",
    ["status"],
)
WEBHOOK_DELIVERIES = Counter(
    "bxb_webhook_deliveries_total",
    "HTTP attempts at delivering a webhook, by outcome",
    ["outcome"],
)
EVENTS_INGESTED = Counter(
    "bxb_events_ingested_total", "Usage events stored by ingestion (duplicates left out)"
)
MRR = Gauge(
    "bxb_mrr_amount_cents",
    "Monthly recurring revenue now, in the currency's minor unit, per organization",
    ["organization_id", "currency"],
)

_PENDING = "bxb_metrics_pending"
Pending = list[tuple[Counter, tuple[str, ...], float]]


def count_on_commit(
    session: AsyncSession | Session, counter: Counter, *labels: str, amount: float = 1
) -> None:
    """Add amount to counter (with labels) when session's transaction commits."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    pending: Pending = sync.info.setdefault(_PENDING, [])
    pending.append((counter, labels, amount))


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    pending: Pending = session.info.pop(_PENDING, [])
    for counter, labels, amount in pending:
        (counter.labels(*labels) if labels else counter).inc(amount)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class MetricsServer:
    port: int
    stop: Callable[[], None]


def serve_worker_metrics(host: str, port: int) -> MetricsServer:
    """Serve this process's registry on host:port (0: any free port) from a thread."""
    server: WSGIServer
    thread: threading.Thread
    server, thread = start_http_server(port, addr=host)
    log.info("worker metrics on http://%s:%s/metrics", host, server.server_port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return MetricsServer(int(server.server_port), stop)


MrrSource = Callable[[], Awaitable[dict[tuple[str, str], int]]]


class MrrGauge:
    """The MRR gauge, recomputed on scrape when its figures are older than `ttl` seconds."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._at = float("-inf")
        self._lock = asyncio.Lock()

    async def refresh(self, source: MrrSource) -> None:
        async with self._lock:
            if time.monotonic() - self._at < self.ttl:
                return
            figures = await source()
            MRR.clear()
            for (organization_id, currency), cents in figures.items():
                MRR.labels(organization_id, currency).set(cents)
            self._at = time.monotonic()

    def forget(self) -> None:
        """Recompute at the next scrape (tests)."""
        self._at = float("-inf")


MRR_GAUGE = MrrGauge()
