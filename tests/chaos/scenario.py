"""A chaos run: N Stripe-paying subscriptions on one test clock, billed month after month
while their infrastructure fails.

All subscriptions start on the clock's first instant (calendar monthly, paid in advance),
so one advance of the clock closes every period at once: N invoices, N charges and their
webhooks. Each phase is one such cycle with its faults, fired when billing has made a
given share of the cycle's progress; after each, every invariant is checked
(tests/chaos/invariants.py). The last phase is calm: it shows that every subscription
still bills after everything that happened to it.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import func, select

from bxb.core.db import transaction
from bxb.core.organizations import create_organization
from bxb.core.subscriptions import ADVANCE_CONCURRENCY
from bxb.models import Webhook
from tests.chaos.invariants import Expected, check_all
from tests.chaos.observers import Answer, ApiPoller, ProgressMonitor, running
from tests.chaos.stack import WEBHOOK_TIMEOUT_SECONDS, ChaosStack
from tests.support.holding_proxy import StripeFault
from tests.support.stripe_cards import GOOD_CARD, stripe_customer

START = datetime(2026, 1, 1, tzinfo=UTC)
AMOUNT_CENTS = 1900
PLAN = {
    "name": "Chaos",
    "code": "chaos",
    "interval": "monthly",
    "amount_cents": AMOUNT_CENTS,
    "amount_currency": "USD",
    "pay_in_advance": True,
}
METRIC = {"name": "Chaos calls", "code": "chaos_calls", "aggregation_type": "count_agg"}
SETUP_CONCURRENCY = 8
# A loaded machine can keep a subscription's creation waiting on its workflow for minutes.
REQUEST_TIMEOUT_SECONDS = 600.0
BUSY_RETRIES = 30
ADVANCE_ATTEMPTS = 5
ADVANCE_TIMEOUT_SECONDS = 3600.0
SETTLE_SECONDS = 600.0
# Where in a cycle (share of its invoices and charges done) the services go down.
OUTAGE_AT = 0.4


@dataclass(frozen=True)
class Phase:
    name: str
    worker_kills: int = 0
    temporal_restart: bool = False
    postgres_restart: bool = False
    stripe_faults: tuple[StripeFault | None, ...] = ()  # one per PaymentIntent creation
    webhook_faults: bool = False


@dataclass(frozen=True)
class ChaosPlan:
    subscriptions: int
    phases: tuple[Phase, ...]
    temporal_down_seconds: float = 2.0
    postgres_down_seconds: float = 5.0
    # The receiver fails for this long, then times out for as long.
    webhook_fault_seconds: float = 8.0


def month(n: int) -> datetime:
    """The first instant of the n-th month after START."""
    months = START.month - 1 + n
    return START.replace(year=START.year + months // 12, month=months % 12 + 1)


@dataclass
class ChaosRun:
    stack: ChaosStack
    plan: ChaosPlan
    api: httpx.AsyncClient
    organization_id: uuid.UUID
    clock_id: str = ""
    epoch: float = field(default_factory=time.monotonic)  # "at" times count from here
    monitor: ProgressMonitor = field(init=False)
    poller: ApiPoller = field(init=False)

    def __post_init__(self) -> None:
        self.monitor = ProgressMonitor(self.stack.sessions, self.organization_id)
        self.poller = ApiPoller(
            self.stack.api_url,
            dict(self.api.headers),
            gets=[
                "/health",
                "/api/v1/invoices?per_page=5",
                "/api/v1/payments?per_page=5",
                "/api/v1/customers/cus_0",
                "/api/v1/subscriptions/sub_0",
            ],
            metric_code=METRIC["code"],
            subscription="sub_0",
        )

    async def ok(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        """Call the API as a careful client: a 503 (a subscription's workflow busy past the
        API's wait) is asked again; these calls are idempotent."""
        for _ in range(BUSY_RETRIES):
            response = await self.api.request(method, path, json=body)
            if response.status_code != 503:
                break
            await asyncio.sleep(2)
        assert response.status_code == 200, f"{method} {path}: {response.text}"
        answer: dict[str, Any] = response.json()
        return answer

    # ---- setting up ------------------------------------------------------------------

    async def set_up(self) -> None:
        secret = await self.ok("GET", "/api/v1/webhook_endpoints/signing_secret")
        self.stack.receiver.secret = secret["webhook_signing_secret"]["secret"]
        endpoint = {"webhook_url": self.stack.receiver.url, "signature_algo": "hmac"}
        await self.ok("POST", "/api/v1/webhook_endpoints", {"webhook_endpoint": endpoint})
        clock = {"name": "chaos", "frozen_time": START.isoformat()}
        created = await self.ok("POST", "/api/v1/test_clocks", {"test_clock": clock})
        self.clock_id = created["test_clock"]["lago_id"]
        await self.ok("POST", "/api/v1/plans", {"plan": PLAN})
        await self.ok("POST", "/api/v1/billable_metrics", {"billable_metric": METRIC})

    async def subscribe_all(self) -> None:
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def subscribe(i: int) -> None:
            async with gate:
                card_holder = await stripe_customer(self.stack.localstripe_url, GOOD_CARD)
                customer = {
                    "external_id": f"cus_{i}",
                    "currency": "USD",
                    "test_clock_id": self.clock_id,
                    "billing_configuration": {
                        "payment_provider": "stripe",
                        "provider_customer_id": card_holder,
                    },
                }
                await self.ok("POST", "/api/v1/customers", {"customer": customer})
                subscription = {
                    "external_customer_id": f"cus_{i}",
                    "plan_code": PLAN["code"],
                    "external_id": f"sub_{i}",
                }
                await self.ok("POST", "/api/v1/subscriptions", {"subscription": subscription})

        await asyncio.gather(*(subscribe(i) for i in range(self.plan.subscriptions)))

    # ---- one cycle -------------------------------------------------------------------

    async def cycle(self, n: int, phase: Phase) -> dict[str, Any]:
        """Advance the clock to month n with phase's faults; then check everything."""
        self.poller.phase = phase.name
        started = time.monotonic()
        # Each cycle adds one invoice and one successful payment per subscription.
        base, total = 2 * self.plan.subscriptions * n, 2 * self.plan.subscriptions * (n + 1)
        faults: list[Coroutine[Any, Any, Any]] = []
        kills: list[dict[str, float]] = []
        if phase.worker_kills:
            faults.append(self._kill_workers(phase.worker_kills, n, kills))
        if phase.temporal_restart:
            faults.append(self._outage(base, total, "temporal"))
        if phase.postgres_restart:
            faults.append(self._outage(base, total, "postgres"))
        if phase.webhook_faults:
            faults.append(self._webhook_faults())
        self.stack.proxy.inject(phase.stripe_faults)
        faults_done = asyncio.ensure_future(asyncio.gather(*faults))
        answers = await self._advance(month(n))
        advanced = time.monotonic()
        problems: list[str] = []
        outages: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(SETTLE_SECONDS):
                await self.monitor.reached(total)
                outages = [o for o in await faults_done if o is not None]
        except TimeoutError:
            faults_done.cancel()
            problems.append(
                f"cycle unfinished: {self.monitor.units - base} of {total - base} invoices"
                f" and charges; faults finished: {faults_done.done()}"
            )
        done = self.monitor.time_of(total) if self.monitor.units >= total else time.monotonic()
        settled = await self._webhooks_settled()
        self.stack.check_processes()
        report = await check_all(
            self.stack,
            Expected(
                self.organization_id,
                self.plan.subscriptions,
                AMOUNT_CENTS,
                [month(i) for i in range(n + 2)],
            ),
            self.poller.acknowledged_events,
        )
        report.violations += problems
        if self.stack.proxy.pending_faults:
            report.violations.append(
                f"stripe faults never fired: {len(self.stack.proxy.pending_faults)}"
            )
        # A kill's window ends at the next kill, or when the cycle's work is all done.
        ends = [*[k["killed_at"] for k in kills][1:], done]
        return {
            "phase": phase.name,
            "clock": month(n).isoformat(),
            "at_s": round(started - self.epoch, 1),
            # Every invoice and charge of the cycle done; the advance answered.
            "work_done_s": round(done - started, 2),
            "advance_s": round(advanced - started, 2),
            "webhooks_settled_s": round(settled - started, 2),
            "advance_answers": answers,
            "worker_kills": [
                {
                    "at_s": round(k["killed_at"] - self.epoch, 1),
                    # The replacement polls Temporal; then it has resumed what a crash
                    # left undone (webhooks to dispatch, collections to start).
                    "worker_polling_s": round(k["ready_at"] - k["killed_at"], 2),
                    "worker_start_up_s": round(k["started"] - k["killed_at"], 2),
                }
                | self.monitor.recovery(k["killed_at"], k["ready_at"], end)
                for k, end in zip(kills, ends, strict=False)
            ],
            "outages": outages,
            "stripe_faults": dict(self.stack.proxy.injected),
            "violations": report.violations,
            "stats": report.stats,
            "api": self.poller.tally(self._label, phase=phase.name),
            "progress": self.monitor.per_second(started, done),
        }

    async def _advance(self, to: datetime) -> list[str]:
        """Advance the clock; a failed advance is recorded and sent again (same instant)."""
        answers: list[str] = []
        path = f"/api/v1/test_clocks/{self.clock_id}/advance"
        body = {"test_clock": {"frozen_time": to.isoformat()}}
        for _ in range(ADVANCE_ATTEMPTS):
            try:
                response = await self.api.post(path, json=body, timeout=ADVANCE_TIMEOUT_SECONDS)
            except httpx.HTTPError as exc:
                answers.append(type(exc).__name__)
            else:
                if response.status_code == 200:
                    answers.append("200")
                    return answers
                answers.append(f"{response.status_code} {response.text[:300]}")
            await asyncio.sleep(1)
        return answers

    async def _kill_workers(self, count: int, cycle: int, kills: list[dict[str, float]]) -> None:
        """Kill the worker while it closes periods, where every subscription still to
        invoice is already being advanced (ADVANCE_CONCURRENCY at a time): a period close
        the dead worker held then holds the cycle up until it is taken over."""
        n = self.plan.subscriptions
        waiting = max(0.0, 1 - ADVANCE_CONCURRENCY / n)
        for k in range(1, count + 1):
            share = waiting + (1 - waiting) * k / (count + 1)
            await self.monitor.invoiced(n * cycle + int(n * share))
            killed_at = await self.stack.kill_worker()
            polling_at, started_at = await self.stack.start_worker()
            kills.append({"killed_at": killed_at, "ready_at": polling_at, "started": started_at})

    async def _outage(self, base: int, total: int, service: str) -> dict[str, Any]:
        await self.monitor.reached(base + int((total - base) * OUTAGE_AT))
        down = {
            "temporal": self.plan.temporal_down_seconds,
            "postgres": self.plan.postgres_down_seconds,
        }[service]
        outage = await self.stack.crash(service, down)
        assert outage.ended is not None
        return {
            "service": service,
            "at_s": round(outage.started - self.epoch, 1),
            "down_s": round(outage.ended - outage.started, 2),
        }

    async def _webhook_faults(self) -> None:
        receiver = self.stack.receiver
        receiver.always_fail = True
        await asyncio.sleep(self.plan.webhook_fault_seconds)
        receiver.always_fail = False
        receiver.delay = WEBHOOK_TIMEOUT_SECONDS + 1
        await asyncio.sleep(self.plan.webhook_fault_seconds)
        receiver.delay = 0.0

    async def _webhooks_settled(self) -> float:
        """Wait until no delivery is pending (or the deadline); returns when."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            async with self.stack.sessions() as session:
                pending = await session.scalar(
                    select(func.count()).where(
                        Webhook.organization_id == self.organization_id,
                        Webhook.status == "pending",
                    )
                )
            if not pending:
                break
            await asyncio.sleep(0.5)
        return time.monotonic()

    def failures(self, *, outages: bool) -> list[str]:
        found = []
        for sent, answered, what in self.poller.failures:
            during = any(o.overlaps(sent, answered) for o in self.stack.outages)
            if during == outages:
                found.append(f"{sent - self.epoch:.1f} s: {what}")
        return found

    def _label(self, answer: Answer) -> str:
        """What was down when the request was in flight."""
        for outage in self.stack.outages:
            if outage.overlaps(answer.sent, answer.answered):
                return f"{outage.service}-down"
        return "up"


def api_violations(results: list[dict[str, Any]]) -> list[str]:
    """Only 200 while everything is up or Temporal restarts; 503 (never 500) while
    PostgreSQL is down."""
    found: list[str] = []
    for result in results:
        for label, endpoints in result["api"].items():
            allowed = {"200", "503"} if label == "postgres-down" else {"200"}
            for endpoint, statuses in endpoints.items():
                wrong = {s: n for s, n in statuses.items() if s not in allowed}
                if wrong:
                    found.append(f"{result['phase']} / {label}: {endpoint} answered {wrong}")
    return found


async def run_chaos(stack: ChaosStack, plan: ChaosPlan) -> dict[str, Any]:
    started = time.monotonic()
    async with transaction(stack.sessions) as session:
        organization, issued = await create_organization(session, "Chaos")
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    async with httpx.AsyncClient(
        base_url=stack.api_url, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
    ) as api:
        run = ChaosRun(stack, plan, api, organization.id, epoch=started)
        await run.set_up()
        await run.subscribe_all()
        subscribed = time.monotonic()
        async with running(run.monitor.run(), run.poller.run()):
            # Advancing to where the clock is waits for every start and its payment.
            phases = [Phase("setup"), *plan.phases]
            results = [await run.cycle(n, phase) for n, phase in enumerate(phases)]
    return {
        "suite": "chaos",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "subscriptions": plan.subscriptions,
        "subscribe_s": round(subscribed - started, 2),
        "total_s": round(time.monotonic() - started, 2),
        "unexpected_exits": stack.unexpected_exits,
        # Every 5xx or broken connection while nothing was down, and the first few others.
        "api_failures": run.failures(outages=False),
        "api_failures_during_outages": run.failures(outages=True)[:10],
        "phases": results,
    }
