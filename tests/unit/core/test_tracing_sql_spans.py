"""SQL spans only continue a trace: a statement outside any makes no trace of its own."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bxb.core.tracing import _InsideTraces


def _traced() -> tuple[TracerProvider, InMemorySpanExporter]:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    return provider, exported


def test_outside_a_trace_no_span_is_made() -> None:
    provider, exported = _traced()
    sql = _InsideTraces(provider.get_tracer("sql"))
    assert sql.start_span("SELECT") is trace.INVALID_SPAN
    with sql.start_as_current_span("SELECT") as span:
        assert span is trace.INVALID_SPAN
    assert exported.get_finished_spans() == ()


def test_inside_a_trace_the_statement_is_a_child_span() -> None:
    provider, exported = _traced()
    sql = _InsideTraces(provider.get_tracer("sql"))
    with provider.get_tracer("app").start_as_current_span("POST /api/v1/customers") as request:
        sql.start_span("INSERT", kind=trace.SpanKind.CLIENT).end()
        with sql.start_as_current_span("SELECT"):
            pass
    finished = {s.name: s for s in exported.get_finished_spans()}
    assert set(finished) == {"POST /api/v1/customers", "INSERT", "SELECT"}
    for name in ("INSERT", "SELECT"):
        parent = finished[name].parent
        assert parent is not None
        assert parent.span_id == request.get_span_context().span_id
    assert finished["INSERT"].kind == trace.SpanKind.CLIENT
