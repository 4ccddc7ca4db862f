"""One pure-ASGI middleware: request id, body size limit, access log, Prometheus metrics.

Pure ASGI (not BaseHTTPMiddleware) because it sits on the event-ingestion hot path.
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


class BodyTooLargeError(Exception):
    pass


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
        response_started = False

        rejected = False  # set once we answered 413; later app output is dropped

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if rejected:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        async def reject_too_large() -> None:
            nonlocal rejected
            if not response_started:
                await _send_json(send_with_id, 413, TOO_LARGE)
            rejected = True

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # Frameworks turn errors while reading into 400s; answer 413 first.
                    await reject_too_large()
                    raise BodyTooLargeError
            return message

        try:
            declared = headers.get(b"content-length", b"")
            if declared.isdigit() and int(declared) > self.max_body_bytes:
                await reject_too_large()
            else:
                await self.app(scope, limited_receive, send_with_id)
        except BodyTooLargeError:
            pass
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


async def _send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
