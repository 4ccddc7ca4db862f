"""docker-compose.yml stays in step with Settings (docker itself does not run here)."""

from __future__ import annotations

from pathlib import Path

import yaml  # type: ignore[import-untyped]
from pydantic import AliasChoices

from bxb.core.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def _env_names() -> set[str]:
    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices)
        names.update(str(choice) for choice in alias.choices)
    return names


def test_compose_runs_api_worker_and_every_service() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "temporal", "temporal-ui", "clickhouse", "api", "worker"} <= set(services)
    assert services["api"]["command"] == ["bxb", "api"]
    assert services["worker"]["command"] == ["bxb", "worker"]
    assert services["temporal"]["environment"]["DB"] == "postgres12"
    for name in ("api", "worker", "migrate"):
        assert set(services[name]["environment"]) <= _env_names(), name
