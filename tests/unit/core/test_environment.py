"""Tests don't depend on the caller's environment: what `Settings` reads is cleared."""

from __future__ import annotations

import os

from bxb.core.settings import Settings
from tests.conftest import settings_environment


def test_the_documented_variables_are_cleared_for_the_tests() -> None:
    names = settings_environment()
    for documented in (
        "BXB_EMBEDDED_POSTGRES_PORT",
        "BXB_EMBEDDED_TEMPORAL_PORT",
        "DATABASE_URL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "BXB_RATE_LIMITS",
    ):
        assert documented in names
        assert documented not in os.environ
    assert Settings().embedded_postgres_port == 5433
