from __future__ import annotations

import json
import logging

import pytest

from bxb.core.logging import JsonFormatter, configure_logging, request_id_var


def _record(msg: str, **extra: object) -> logging.LogRecord:
    record = logging.makeLogRecord({"name": "bxb.test", "levelname": "INFO", "msg": msg})
    record.__dict__.update(extra)
    return record


def test_lines_are_json_with_request_id_and_extra_fields() -> None:
    token = request_id_var.set("req-42")
    try:
        line = JsonFormatter().format(_record("charged %s", status=200))
    finally:
        request_id_var.reset(token)
    entry = json.loads(line)
    assert entry["msg"] == "charged %s"
    assert entry["request_id"] == "req-42"
    assert entry["status"] == 200
    assert entry["level"] == "info"


def test_exceptions_are_included() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        import sys

        record = _record("failed")
        record.exc_info = sys.exc_info()
    entry = json.loads(JsonFormatter().format(record))
    assert "ValueError: bad" in entry["exc"]
    assert "request_id" not in entry


def test_configure_logging_writes_json_to_current_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("debug")
        logging.getLogger("bxb.test").warning("hello")
        entry = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
        assert entry["msg"] == "hello"
        assert entry["level"] == "warning"
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_served_app_tunes_the_garbage_collector(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    from bxb.api.app import create_served_app

    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    before = gc.get_threshold()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        app = create_served_app()
        assert gc.get_threshold()[0] > before[0]
        # The events router is matched right after the unauthenticated operations routes.
        tags = [getattr(getattr(r, "original_router", None), "tags", None) for r in app.routes]
        included = [t for t in tags if t is not None]
        assert included[:2] == [["operations"], ["events"]]
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        root.handlers[:], level = saved
        root.setLevel(level)
