"""One pure-ASGI middleware: request id, body size limit, the input rule, the answer to
unexpected errors, access log, Prometheus metrics.

Pure ASGI (not BaseHTTPMiddleware) because it sits on the event-ingestion hot path.

The body is read here in full (up to the size limit), checked against the input rule
(bxb.api.input_rules), and handed to the app. An exception that no handler took is
answered here, as a complete Lago-shaped 500 (or 503), and not re-raised: Starlette's
outermost error middleware would re-raise it to the server, which then drops the
kept-alive connection under the client's next request.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bxb.api import input_rules
from bxb.api.errors import ApiError, unexpected_error
from bxb.core import fast_json
from bxb.core.logging import request_id_var

log = logging.getLogger("bxb.access")

REQUESTS = Counter(
    "bxb_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
LATENCY = Histogram(
    "bxb_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


TOO_LARGE = json.dumps(
    {"status": 413, "error": "Payload Too Large", "code": "payload_too_large"}
).encode()


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = response_complete = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started, response_complete
            if message["type"] == "http.response.body" and not message.get("more_body"):
                response_complete = True
            elif message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        async def read_body() -> bytes | None:
            """The whole body; None when the client left or a 413 was answered."""
            chunks: list[bytes] = []
            received = 0
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return None
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > self.max_body_bytes:
                    await _send_json(send_with_id, 413, TOO_LARGE)
                    return None
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return chunks[0] if len(chunks) == 1 else b"".join(chunks)

        try:
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                await _send_json(send_with_id, 413, TOO_LARGE)
                return
            body = await read_body()
            if body is None:
                return
            refused = input_rules.refusal(scope, body)
            if refused is not None:
                await _send_error(send_with_id, refused)
                return
            replayed = False

            async def replay_body() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()  # e.g. waiting for a disconnect
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}

            await self.app(scope, replay_body, send_with_id)
        except Exception as exc:
            if response_complete:  # e.g. a clean-up after the answer: log it, keep the line
                log.error("error after answering %s", scope["path"], exc_info=exc)
            elif response_started:
                raise  # half an answer is out: only closing the connection can tell
            else:
                error = unexpected_error(exc, scope["method"], scope["path"])
                await _send_error(send_with_id, error)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
            LATENCY.labels(scope["method"], route).observe(elapsed)
            if not route.startswith("/health") and route != "/metrics":
                log.info(
                    "%s %s %s",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"status": status, "duration_ms": round(elapsed * 1000, 2)},
                )
            request_id_var.reset(token)


def _route_template(scope: Scope) -> str:
    """The matched route's path template keeps metric label cardinality bounded."""
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


async def _send_error(send: Send, error: ApiError) -> None:
    headers = [(b"retry-after", b"1")] if error.status == 503 else []
    body = fast_json.dumps(error.body())
    await _send_json(send, error.status, body, headers)


async def _send_json(
    send: Send, status: int, body: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(extra_headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
