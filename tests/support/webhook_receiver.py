"""A webhook receiver on 127.0.0.1 for tests, verifying signatures as docs/webhooks.md says.

It runs in a thread (the test's event loop also runs the worker that posts to it), answers
401 to a delivery whose signature does not verify, and can be told to fail the first n
deliveries or all of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify_signature(secret: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """The recipe of docs/webhooks.md, verbatim in spirit: timestamp, then HMAC of t.body."""
    fields = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    timestamp, signature = fields.get("t", ""), fields.get("v1", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode() + b"." + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def verify_lago_signature(secret: str, body: bytes, header: str) -> bool:
    """Lago's hmac recipe: base64 of HMAC-SHA256 over the raw body."""
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    return hmac.compare_digest(expected.decode(), header)


@dataclass(frozen=True)
class Delivery:
    headers: dict[str, str]  # names in lower case
    body: bytes
    verified: bool
    answered: int

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    url: str
    secret: str = ""
    fail_first: int = 0
    always_fail: bool = False
    fail_status: int = 500
    delay: float = 0.0  # seconds to wait before answering
    deliveries: list[Delivery] = field(default_factory=list)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        verified = bool(self.secret) and verify_signature(
            self.secret, body, headers.get("x-bxb-signature", "")
        )
        if not verified:
            status = 401
        elif self.always_fail or len(self.deliveries) < self.fail_first:
            status = self.fail_status
        else:
            status = 200
        self.deliveries.append(Delivery(headers, body, verified, status))
        return status


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Headers and body are two writes: without this, Nagle's algorithm and delayed
        # ACKs hold each answer ~40 ms.
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            status = receiver.answer(headers, body)
            time.sleep(receiver.delay)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no")
            except OSError:  # the sender gave up waiting
                pass

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
