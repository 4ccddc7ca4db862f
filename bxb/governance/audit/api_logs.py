"""API logs: one row per POST, PUT or DELETE to /api/v1, written after the answer.

The middleware is on the event-ingestion hot path, so it does no I/O: it appends a
record to a bounded in-memory buffer and returns. A background task writes the buffer
in batches (one INSERT per batch), redacting bodies there, not in the request. When the
buffer is full a record is dropped and counted (`bxb_api_logs_dropped_total`) rather
than making requests wait; the buffer is flushed when the app shuts down.

Bodies are kept only for organizations that turned `api_log_bodies` on; the writer
learns the setting when it writes a batch and the middleware reads what it learned (a
newly enabled setting applies from the next batch, a disabled one at once in the writer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bxb.core.logging import request_id_var
from bxb.governance.actor import SCOPE_KEY, Actor, current_actor
from bxb.governance.audit.redaction import redact_body
from bxb.models import ApiLog, Organization
from bxb.models.base import utcnow

log = logging.getLogger("bxb.api_logs")

DROPPED = Counter("bxb_api_logs_dropped_total", "API log records dropped (buffer full)")
WRITTEN = Counter("bxb_api_logs_written_total", "API log records written")

LOGGED_METHODS = frozenset({"POST", "PUT", "DELETE"})  # Lago's http_methods enum
PREFIX = "/api/v1"
MAX_CAPTURED_BYTES = 262_144  # bodies beyond this are not kept for the log


@dataclass
class Record:
    request_id: uuid.UUID
    actor: Actor
    method: str
    path: str
    origin: str
    client: str
    status: int
    duration_ms: float
    logged_at: datetime
    request_body: bytes | None
    response_body: bytes | None


class ApiLogWriter:
    """The buffer and the task that empties it into `api_logs`."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        max_buffer: int = 10_000,
        batch_size: int = 500,
        interval: float = 1.0,
    ) -> None:
        self.engine = engine
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.interval = interval
        self.buffer: deque[Record] = deque()
        self.bodies_on: dict[uuid.UUID, bool] = {}  # learned per organization
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="api-log-writer")

    def keep_bodies(self, organization_id: uuid.UUID) -> bool:
        return self.bodies_on.get(organization_id, True)  # unknown: keep, the writer decides

    def add(self, record: Record) -> None:
        if len(self.buffer) >= self.max_buffer:
            DROPPED.inc()
            return
        self.buffer.append(record)
        if len(self.buffer) >= self.batch_size:
            self._wake.set()

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self.flush()

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:  # a database hiccup must not end the writer
                log.exception("writing API logs failed; %d records waiting", len(self.buffer))

    async def flush(self) -> None:
        while self.buffer:
            batch = [self.buffer.popleft() for _ in range(min(self.batch_size, len(self.buffer)))]
            try:
                await self._write(batch)
            except Exception:
                self.buffer.extendleft(reversed(batch))  # retried at the next tick
                raise

    async def _write(self, batch: list[Record]) -> None:
        organizations = {record.actor.organization_id for record in batch}
        async with self.engine.begin() as conn:
            flags = await conn.execute(
                select(Organization.id, Organization.api_log_bodies).where(
                    Organization.id.in_(organizations)
                )
            )
            self.bodies_on.update({row.id: row.api_log_bodies for row in flags})
            rows = [self._row(record) for record in batch]
            await conn.execute(insert(ApiLog), rows)
        WRITTEN.inc(len(rows))

    def _row(self, record: Record) -> dict[str, Any]:
        bodies = self.bodies_on.get(record.actor.organization_id, False)
        actor = record.actor
        return {
            "request_id": record.request_id,
            "organization_id": actor.organization_id,
            "api_version": "v1",
            "client": record.client[:255],
            "http_method": record.method.lower(),
            "http_status": record.status,
            "request_path": record.path[:2048],
            "request_origin": record.origin[:2048],
            "request_body": redact_body(record.request_body or b"") if bodies else None,
            "request_response": redact_body(record.response_body or b"") if bodies else None,
            "duration_ms": record.duration_ms,
            "actor_kind": actor.kind,
            "actor_id": actor.id,
            "actor_label": actor.label,
            "user_email": actor.email,
            "logged_at": record.logged_at,
        }


def _request_uuid() -> uuid.UUID:
    """The request id the answer carries (X-Request-Id) when it is a UUID, else a new one."""
    try:
        return uuid.UUID(request_id_var.get())
    except (ValueError, LookupError, TypeError):
        return uuid.uuid4()


class ApiLogMiddleware:
    """Pure ASGI; sits inside RequestContextMiddleware (the request id and body are known)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in LOGGED_METHODS
            or not scope["path"].startswith(PREFIX)
        ):
            await self.app(scope, receive, send)
            return
        writer: ApiLogWriter | None = getattr(scope["app"].state, "api_logs", None)
        started = time.perf_counter()
        status = 500
        request_chunks: list[bytes] = []
        response_chunks: list[bytes] = []
        captured = 0

        async def receive_kept() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_chunks.append(message.get("body", b""))
            return message

        async def send_kept(message: Message) -> None:
            nonlocal status, captured
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and captured < MAX_CAPTURED_BYTES:
                body = message.get("body", b"")
                captured += len(body)
                response_chunks.append(body)
            await send(message)

        # The actor the auth dependency sets lives only for this request.
        token = current_actor.set(None)
        try:
            await self.app(scope, receive_kept, send_kept)
        finally:
            current_actor.reset(token)
            actor: Actor | None = scope.get(SCOPE_KEY)
            if writer is not None and actor is not None:
                keep = writer.keep_bodies(actor.organization_id) and captured < MAX_CAPTURED_BYTES
                writer.add(
                    _record(scope, actor, status, started, keep, request_chunks, response_chunks)
                )


def _record(
    scope: Scope,
    actor: Actor,
    status: int,
    started: float,
    keep: bool,
    request_chunks: list[bytes],
    response_chunks: list[bytes],
) -> Record:
    headers = dict(scope["headers"])
    host = headers.get(b"host", b"").decode("latin-1")
    origin = (
        headers.get(b"origin", b"").decode("latin-1") or f"{scope.get('scheme', 'http')}://{host}/"
    )
    return Record(
        request_id=_request_uuid(),
        actor=actor,
        method=scope["method"],
        path=scope["path"][len(PREFIX) :] or "/",
        origin=origin,
        client=headers.get(b"user-agent", b"").decode("latin-1"),
        status=status,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        logged_at=utcnow(),
        request_body=b"".join(request_chunks) if keep else None,
        response_body=b"".join(response_chunks) if keep else None,
    )
