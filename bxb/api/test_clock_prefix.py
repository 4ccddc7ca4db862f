"""A test clock in the API's address, for clients that can send neither a field nor a header.

The lago-python-client drops fields its Customer model does not know (`test_clock_id`)
and sends no custom headers. Pointed at `<bxb>/test_clocks/<clock id>/` instead of
`<bxb>/`, every request it makes reaches `/api/v1/...` as usual, with the header
`X-Bxb-Test-Clock-Id: <clock id>` added: the customers it creates are on that clock.
Pure ASGI, outermost, so everything inside sees the plain path.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

HEADER = b"x-bxb-test-clock-id"
_PREFIX = re.compile(r"^/test_clocks/([0-9a-fA-F-]{36})(/api/.*)$")


class TestClockPrefixMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            match = _PREFIX.match(scope["path"])
            if match is not None:
                clock_id, path = match.groups()
                headers = [(k, v) for k, v in scope["headers"] if k.lower() != HEADER]
                scope = {
                    **scope,
                    "path": path,
                    "raw_path": path.encode(),
                    "headers": [*headers, (HEADER, clock_id.encode())],
                }
        await self.app(scope, receive, send)
