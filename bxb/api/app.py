"""The FastAPI application: resources for the lifetime of the process, routers, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from fastapi import APIRouter, FastAPI

from bxb.api import (
    add_ons,
    alerts,
    analytics,
    api_keys,
    applied_coupons,
    audit_logs,
    auth,
    billable_metric_expressions,
    billable_metrics,
    billing_entities,
    checkout_links,
    coupons,
    credit_note_documents,
    credit_notes,
    customer_lists,
    customer_portal_urls,
    customer_usage,
    customers,
    dashboard_mrr,
    dashboard_overview,
    dashboard_revenue,
    data_exports,
    dunning_campaigns,
    events,
    features,
    fee_estimates,
    fees,
    fixed_charges,
    health,
    invoice_actions,
    invoices,
    lifetime_usages,
    members,
    metadata,
    organizations,
    payment_methods,
    payment_requests,
    payments,
    plan_charge_filters,
    plan_charges,
    plan_entitlements,
    plans,
    portal_coupons,
    portal_invoices,
    portal_payment_method,
    portal_profile,
    portal_subscriptions,
    portal_usage,
    portal_wallet,
    rate_limits,
    search,
    stripe_webhooks,
    subscription_charge_filters,
    subscription_charges,
    subscription_entitlements,
    subscription_overrides,
    subscription_pauses,
    subscriptions,
    taxes,
    test_clocks,
    wallet_alerts,
    wallet_metadata,
    wallet_transactions,
    wallets,
    webhook_endpoints,
)
from bxb.api.docs_pages import install_docs
from bxb.api.errors import install_error_handlers
from bxb.api.idempotency import IdempotencyMiddleware
from bxb.api.middleware import RequestContextMiddleware
from bxb.api.openapi_document import install_openapi, operation_id
from bxb.api.test_clock_prefix import TestClockPrefixMiddleware
from bxb.core.db import create_engine, create_sessionmaker
from bxb.core.settings import Settings
from bxb.core.temporal import TemporalConnector
from bxb.core.tracing import active as active_tracing
from bxb.core.tracing import configure_tracing
from bxb.governance.audit import recorder  # noqa: F401 - installs the activity-log events
from bxb.governance.audit.api_logs import ApiLogMiddleware, ApiLogWriter
from bxb.governance.email import transport_from_settings
from bxb.webapp import install_webapp
from bxb.webhooks import outbox

# Events first: routers are matched in order, and events are the hot path.
ROUTERS = (
    events,
    fee_estimates,
    rate_limits,
    organizations,
    billing_entities,
    customers,
    customer_portal_urls,
    taxes,
    add_ons,
    coupons,
    applied_coupons,
    billable_metric_expressions,
    billable_metrics,
    plans,
    features,
    plan_entitlements,
    subscriptions,
    customer_usage,
    subscription_pauses,
    subscription_entitlements,
    alerts,
    lifetime_usages,
    test_clocks,
    invoices,
    invoice_actions,
    checkout_links,
    credit_notes,
    credit_note_documents,
    metadata,
    fees,
    payments,
    payment_methods,
    payment_requests,
    customer_lists,
    dunning_campaigns,
    wallets,
    wallet_transactions,
    wallet_metadata,
    wallet_alerts,
    webhook_endpoints,
    stripe_webhooks,
    fixed_charges,
    plan_charges,
    plan_charge_filters,
    subscription_charges,
    subscription_charge_filters,
    subscription_overrides,
    dashboard_mrr,
    portal_profile,
    portal_invoices,
    portal_wallet,
    portal_coupons,
    portal_subscriptions,
    portal_usage,
    portal_payment_method,
    analytics,
    dashboard_revenue,
    dashboard_overview,
    members,
    auth,
    data_exports,
    audit_logs,
    api_keys,
    search,
)


@cache
def api_router() -> APIRouter:
    """Every API route, included once per process; the apps built in it share its routes.

    FastAPI resolves an included router's dependencies on its first request (about 0.3 s
    for these ~290 routes), and the test suite builds an app per test. An app's own routes
    stay its own (`app.router.routes` is the app's list); the routers' lifespans (the event
    pipeline, the rate limiter), merged into this router's, run in the app's.
    """
    router = APIRouter(generate_unique_id_function=operation_id)
    router.include_router(health.router)
    for module in ROUTERS:
        router.include_router(module.router)
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.resolved_database_url, pool_size=settings.database_pool_size
        )
        app.state.sessions = create_sessionmaker(engine)
        app.state.read_sessions = create_sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        app.state.temporal = TemporalConnector(settings)
        app.state.api_logs = ApiLogWriter(engine) if settings.api_logs_enabled else None
        if app.state.api_logs is not None:
            app.state.api_logs.start()
        outbox.configure(settings)  # the task queue and retry policy of webhook deliveries
        try:
            async with api_router().lifespan_context(app):
                yield
        finally:
            if app.state.api_logs is not None:  # what is buffered is written before we go
                await app.state.api_logs.close()
            await engine.dispose()

    app = FastAPI(
        title="bxb",
        summary="Billing and metering; every subscription a durable Temporal workflow.",
        version="0.1.0",
        lifespan=lifespan,
        # Served from the installed package by install_docs, not from a CDN.
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,  # Lago's ids where shared (see module)
    )
    app.state.settings = settings
    app.state.email = transport_from_settings(settings)  # tests swap in a capturing one
    install_error_handlers(app)
    # Inside the request middleware (added later = outside): it gets the buffered body.
    app.add_middleware(IdempotencyMiddleware, wait_seconds=settings.idempotency_wait_seconds)
    app.add_middleware(ApiLogMiddleware)  # inside the next one: request id and body known
    app.add_middleware(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(TestClockPrefixMiddleware)  # outermost: the others see /api/v1/...
    app.router.routes.extend(api_router().routes)
    install_openapi(app)
    install_docs(app)
    install_webapp(app)  # last: it answers only what no route above matched
    tracing = active_tracing()
    if tracing is not None:  # a server span per request, only when tracing is on
        tracing.instrument_app(app)
    return app


def create_served_app() -> FastAPI:
    """The app as `bxb api` serves it in each worker process (uvicorn factory).

    Settings come from the environment; the garbage collector is tuned for serving once the
    app is built (see bxb.core.gc_tuning).
    """
    from bxb.core.gc_tuning import tune_gc_for_serving
    from bxb.core.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)
    # Once per process; spans still pending are exported at exit (the SDK's atexit hook).
    configure_tracing(settings, "bxb-api")
    app = create_app(settings)
    tune_gc_for_serving()
    return app
