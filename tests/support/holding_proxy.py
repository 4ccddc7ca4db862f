"""An HTTP proxy in front of localstripe that holds answers or injects Stripe's failures,
for crash and chaos tests.

Faults hit PaymentIntent creations (the moment money moves), one queued fault per request:

- `ERROR_500`: Stripe answers 500 without charging;
- `TIMEOUT`: the request is never answered (nor forwarded), so the caller times out;
- `DROP_AFTER_CHARGE`: the card is charged, then the connection is closed unanswered.

With `hold` set, every creation is forwarded (the card is charged) and its answer is held
until `release` is set: the caller is left waiting exactly where a crash hurts most.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

_FORWARDED = ("authorization", "content-type", "idempotency-key", "stripe-version")
_CREATE_INTENT = "/v1/payment_intents"


class StripeFault(StrEnum):
    ERROR_500 = "error_500"
    TIMEOUT = "timeout"
    DROP_AFTER_CHARGE = "drop_after_charge"


@dataclass
class HoldingProxy:
    target: str
    url: str = ""
    hold: bool = False
    charged: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    # Longer than the Stripe client's own timeout (30 s in bxb.payments.stripe_provider).
    timeout_seconds: float = 35.0
    pending_faults: deque[StripeFault | None] = field(default_factory=deque)
    injected: Counter[str] = field(default_factory=Counter)
    # One client for every request: making one per request costs ~0.1 s of CPU each.
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))

    def inject(self, faults: Iterable[StripeFault | None]) -> None:
        """Queue faults for the next PaymentIntent creations, one each, in order (None:
        that creation goes through)."""
        self.pending_faults.extend(faults)

    def next_fault(self) -> StripeFault | None:
        try:
            fault = self.pending_faults.popleft()
        except IndexError:
            return None
        if fault is not None:
            self.injected[fault.value] += 1
        return fault

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        kept = {k: v for k, v in headers.items() if k.lower() in _FORWARDED}
        return self.http.request(method, self.target + path, headers=kept, content=body)


_ERROR_BODY = json.dumps(
    {"error": {"type": "api_error", "message": "injected by the test proxy"}}
).encode()


def _handler(proxy: HoldingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Headers and body are two writes: without this, Nagle's algorithm and delayed
        # ACKs hold each answer ~40 ms.
        disable_nagle_algorithm = True

        def _relay(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            creating = method == "POST" and self.path.split("?")[0] == _CREATE_INTENT
            fault = proxy.next_fault() if creating else None
            if fault is StripeFault.ERROR_500:
                self._answer(500, _ERROR_BODY)
                return
            if fault is StripeFault.TIMEOUT:
                proxy.release.wait(proxy.timeout_seconds)
                return  # the connection closes unanswered (HTTP/1.0 handler)
            answer = proxy.forward(method, self.path, dict(self.headers.items()), body)
            if fault is StripeFault.DROP_AFTER_CHARGE:
                return
            if creating and proxy.hold:
                proxy.charged.set()
                proxy.release.wait(120)  # the caller dies meanwhile
                return
            self._answer(answer.status_code, answer.content)

        def _answer(self, status: int, content: bytes) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            except OSError:
                pass

        def do_GET(self) -> None:
            self._relay("GET")

        def do_POST(self) -> None:
            self._relay("POST")

        def do_DELETE(self) -> None:
            self._relay("DELETE")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def holding_proxy(target: str) -> Iterator[HoldingProxy]:
    proxy = HoldingProxy(target=target.rstrip("/"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
        proxy.http.close()
