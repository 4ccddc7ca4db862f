"""Serving the API: what happens to requests still running when the server stops.

Kept apart from bxb.core.stack so that each process of `bxb api --workers N` imports only
the app, not the worker.
"""

from __future__ import annotations

import asyncio
import json
import math

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bxb.api.app import create_served_app
from bxb.core.settings import Settings


def graceful_seconds(settings: Settings) -> int:
    """How long requests in flight get on shutdown; then they are cancelled (an update a
    request was waiting for is dropped by its workflow if it had not started it)."""
    return math.ceil(settings.shutdown_timeout)


SHUTTING_DOWN = json.dumps(
    {"status": 503, "error": "Service Unavailable", "code": "shutting_down"}
).encode()


class AnswersWhenCancelled:
    """On shutdown, uvicorn cancels the requests still running after its graceful timeout,
    and would answer them with a bare 500. They get Lago's 503 instead, and the connection
    is closed: the caller may send the request again to another process (an update it was
    waiting for is dropped by its workflow if the workflow had not started it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except asyncio.CancelledError:
            if started:
                raise
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(SHUTTING_DOWN)).encode()),
                (b"connection", b"close"),
            ]
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": SHUTTING_DOWN})


def served_app() -> ASGIApp:
    """`bxb api --workers N`: each process's app (uvicorn factory)."""
    return AnswersWhenCancelled(create_served_app())
