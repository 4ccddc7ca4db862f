"""Tracing with OpenTelemetry: off unless an OTLP endpoint is configured (docs/tracing.md).

A process that serves (``bxb up``, ``bxb api``, ``bxb worker``, each ``bxb api --workers N``
process) calls `configure_tracing` once. When the settings name no endpoint it does nothing
at all: no provider, no middleware, no SQL listener, no Temporal interceptor, no patched
httpx, so the hot path costs what it cost before. When they do, one `Tracing` holds the
process's provider (spans batched and exported by OTLP over HTTP) and every part of bxb asks
`active()` for it when it is built:

- the FastAPI app (`create_app`): a server span per request;
- each SQLAlchemy engine (`bxb.core.db.create_engine`): a client span per statement;
- each Temporal client (`bxb.core.temporal.connect`) and worker (`bxb.worker.build_worker`):
  the SDK's `TracingInterceptor`, which carries the request's trace context in the headers
  of the workflow start, update or signal, so the workflow and its activities join it;
- httpx (webhook deliveries and any other outgoing call): a client span per request.

No global tracer provider is installed: each instrumentation is handed this one, so an
application embedding bxb keeps its own, and tests can turn tracing on and off in one
process.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context

from bxb.core.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from sqlalchemy.ext.asyncio import AsyncEngine
    from temporalio.client import Client
    from temporalio.contrib.opentelemetry import TracingInterceptor

log = logging.getLogger(__name__)

# Probes and scrapes would be most of the traces and say nothing; the standard
# OTEL_PYTHON_FASTAPI_EXCLUDED_URLS replaces this list when set.
DEFAULT_EXCLUDED_URLS = "/health,/ready,/metrics"
EXCLUDED_URLS_ENV = "OTEL_PYTHON_FASTAPI_EXCLUDED_URLS"
SUPPORTED_PROTOCOL = "http/protobuf"


class Tracing:
    """The process's tracer provider and the instrumentation attached to it."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self._apps: weakref.WeakSet[FastAPI] = weakref.WeakSet()
        self._interceptor: TracingInterceptor | None = None

    def instrument_app(self, app: FastAPI) -> None:
        """A server span per request (per app instance: tests build many apps)."""
        import os

        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        excluded = None if os.environ.get(EXCLUDED_URLS_ENV) else DEFAULT_EXCLUDED_URLS
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=self.provider,
            excluded_urls=excluded,
            # The ASGI receive/send spans would double the spans of every request.
            exclude_spans=["receive", "send"],
        )
        self._apps.add(app)

    def instrument_engine(self, engine: AsyncEngine) -> None:
        """A client span per SQL statement run inside a trace, on this engine only."""
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
        from opentelemetry.instrumentation.sqlalchemy.version import __version__
        from opentelemetry.metrics import NoOpUpDownCounter

        tracer = _InsideTraces(
            self.provider.get_tracer("opentelemetry.instrumentation.sqlalchemy", __version__)
        )
        # bxb's pool figures are Prometheus metrics already; no OTel meter here.
        usage = NoOpUpDownCounter("db.client.connections.usage")
        EngineTracer(tracer, engine.sync_engine, usage)  # type: ignore[no-untyped-call]

    def temporal_interceptor(self) -> TracingInterceptor:
        """One interceptor for every client and worker of the process."""
        if self._interceptor is None:
            from temporalio.contrib.opentelemetry import TracingInterceptor

            self._interceptor = TracingInterceptor(self.provider.get_tracer("temporalio"))
        return self._interceptor

    def force_flush(self, timeout_millis: int = 5_000) -> bool:
        return self.provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Export what is pending, then detach every instrumentation this one attached."""
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer

        for app in list(self._apps):
            FastAPIInstrumentor.uninstrument_app(app)
        EngineTracer.remove_all_event_listeners()  # type: ignore[no-untyped-call]
        HTTPXClientInstrumentor().uninstrument()
        self.provider.shutdown()


class _InsideTraces(trace.Tracer):
    """A tracer whose spans only continue a trace. A statement run outside any (a cache
    refresh, a start-up recovery, a route excluded from tracing) would otherwise become a
    trace of its own, one per statement, and cost as much as a traced one."""

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(  # the same parameters, passed through
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> trace.Span:
        if not trace.get_current_span(context).get_span_context().is_valid:
            return trace.INVALID_SPAN
        return self._tracer.start_span(name, context, *args, **kwargs)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, name: str, context: Context | None = None, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        if not trace.get_current_span(context).get_span_context().is_valid:
            yield trace.INVALID_SPAN
            return
        with self._tracer.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span


_active: Tracing | None = None


def active() -> Tracing | None:
    """The process's tracing, or None when it is off (the default)."""
    return _active


def configure_tracing(settings: Settings, service_name: str) -> Callable[[], None]:
    """Turn tracing on for this process if the settings name an OTLP endpoint.

    Returns the hook that exports what is pending and turns it off again. Idempotent: while
    tracing is on, another call keeps it as it is and returns a hook that does nothing.
    """
    global _active
    url = settings.otel_traces_url
    if url is None or _active is not None:
        return _nothing
    if settings.otel_exporter_otlp_protocol != SUPPORTED_PROTOCOL:
        raise ValueError(
            "bxb exports traces by OTLP over HTTP: set OTEL_EXPORTER_OTLP_PROTOCOL="
            f"{SUPPORTED_PROTOCOL} and point OTEL_EXPORTER_OTLP_ENDPOINT at the collector's "
            f"HTTP port (4318), got {settings.otel_exporter_otlp_protocol!r}"
        )
    tracing = Tracing(_provider(url, settings.otel_service_name or service_name))
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    # httpx is patched for the whole process (it has no per-client hook bxb could reach
    # everywhere); `shutdown` takes the patch off again.
    HTTPXClientInstrumentor().instrument(tracer_provider=tracing.provider)
    _active = tracing
    log.info("tracing on: spans exported to %s", url)

    def shutdown() -> None:
        global _active
        if _active is tracing:
            _active = None
            tracing.shutdown()

    return shutdown


def _provider(url: str, service_name: str) -> TracerProvider:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # Resource.create adds OTEL_RESOURCE_ATTRIBUTES; the sampler comes from
    # OTEL_TRACES_SAMPLER (default: parent-based, always on), the batching from OTEL_BSP_*,
    # and the exporter reads OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION itself.
    resource = Resource.create({SERVICE_NAME: service_name, SERVICE_VERSION: _version()})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
    return provider


def _version() -> str:
    try:
        return metadata.version("bxb")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "unknown"


def client_interceptors() -> Sequence[TracingInterceptor]:
    """Interceptors for a new Temporal client: the tracing one while tracing is on."""
    return [] if _active is None else [_active.temporal_interceptor()]


def worker_interceptors(client: Client) -> Sequence[TracingInterceptor]:
    """Interceptors for a worker on client: none if the client already traces (a worker
    uses its client's interceptors too; two would make every span twice)."""
    if _active is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    if any(isinstance(i, TracingInterceptor) for i in client.config()["interceptors"]):
        return []
    return [_active.temporal_interceptor()]


def _nothing() -> None:
    return None
