"""Tracing's settings: the standard OTEL_* variables, and off unless an endpoint is given."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import SERVICE_NAME

from bxb.core import tracing
from bxb.core.settings import Settings
from bxb.core.stack import service_name
from bxb.core.tracing import configure_tracing

OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_SERVICE_NAME",
    "OTEL_SDK_DISABLED",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_off_unless_an_endpoint_is_given() -> None:
    assert Settings().otel_traces_url is None


def test_the_endpoint_is_a_base_url_and_traces_go_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    assert Settings().otel_traces_url == "http://collector:4318/v1/traces"


def test_the_traces_endpoint_is_taken_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:9999/ingest")
    assert Settings().otel_traces_url == "http://traces:9999/ingest"


def test_sdk_disabled_wins_over_any_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    settings = Settings()
    assert settings.otel_traces_url is None
    configure_tracing(settings, "bxb")()
    assert tracing.active() is None


def test_grpc_is_refused_with_what_to_set_instead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(ValueError, match="OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"):
        configure_tracing(Settings(), "bxb")
    assert tracing.active() is None


def test_once_per_process_and_named_by_the_process_or_otel_service_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nothing listens there: no span is made, so nothing is sent.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    stop = configure_tracing(Settings(), service_name(worker=True, api=False))
    first = tracing.active()
    try:
        assert first is not None
        assert first.provider.resource.attributes[SERVICE_NAME] == "bxb-worker"
        # A second call (another app in the same process) keeps the first one.
        configure_tracing(Settings(), "bxb-api")()
        assert tracing.active() is first
    finally:
        stop()
    assert tracing.active() is None

    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing")
    stop = configure_tracing(Settings(), "bxb")
    try:
        named = tracing.active()
        assert named is not None
        assert named.provider.resource.attributes[SERVICE_NAME] == "billing"
    finally:
        stop()


def test_each_process_has_its_own_default_name() -> None:
    assert service_name(worker=True, api=True) == "bxb"
    assert service_name(worker=False, api=True) == "bxb-api"
    assert service_name(worker=True, api=False) == "bxb-worker"
