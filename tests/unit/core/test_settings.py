from __future__ import annotations

from pathlib import Path

import pytest

from bxb.core.settings import Settings, normalize_database_url


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "TEMPORAL_ADDRESS", "BXB_DATA_DIR", "CLICKHOUSE_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.embedded_database
    assert settings.embedded_temporal
    assert settings.data_dir == Path(".bxb")
    assert settings.resolved_database_url == "postgresql+asyncpg://postgres@127.0.0.1:5433/bxb"
    assert settings.resolved_temporal_address == "127.0.0.1:7233"
    assert settings.temporal_task_queue == "bxb"


def test_every_service_can_be_external(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://bxb:secret@db.internal:5432/ledger")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "billing")
    monkeypatch.setenv("TEMPORAL_TASK_QUEUE", "bxb-prod")
    monkeypatch.setenv("CLICKHOUSE_URL", "http://ch.internal:8123")
    monkeypatch.setenv("STRIPE_API_KEY", "sk_live_x")
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:8420")
    monkeypatch.setenv("BXB_DATA_DIR", "/var/lib/bxb")
    monkeypatch.setenv("BXB_BOOTSTRAP_API_KEY", "k" * 20)
    settings = Settings()
    assert not settings.embedded_database
    assert not settings.embedded_temporal
    assert (
        settings.resolved_database_url == "postgresql+asyncpg://bxb:secret@db.internal:5432/ledger"
    )
    assert settings.resolved_temporal_address == "temporal.internal:7233"
    assert settings.temporal_namespace == "billing"
    assert settings.temporal_task_queue == "bxb-prod"
    assert settings.clickhouse_url == "http://ch.internal:8123"
    assert settings.stripe_api_key == "sk_live_x"
    assert settings.stripe_api_base == "http://127.0.0.1:8420"
    assert settings.data_dir == Path("/var/lib/bxb")
    assert settings.bootstrap_api_key == "k" * 20


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_database_url_spellings(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected


def test_non_postgres_database_is_refused() -> None:
    with pytest.raises(ValueError, match="must be a PostgreSQL URL"):
        normalize_database_url("sqlite:///bxb.db")


def test_the_workers_workflow_cache_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BXB_WORKER_MAX_CACHED_WORKFLOWS", raising=False)
    assert Settings().worker_max_cached_workflows == 1000  # Temporal's own default
    monkeypatch.setenv("BXB_WORKER_MAX_CACHED_WORKFLOWS", "250")
    assert Settings().worker_max_cached_workflows == 250
    monkeypatch.setenv("BXB_WORKER_MAX_CACHED_WORKFLOWS", "-1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings()
