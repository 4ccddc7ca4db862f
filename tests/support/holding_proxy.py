"""An HTTP proxy to localstripe that can hold a PaymentIntent's answer, for crash tests.

With `hold` set, a POST to /v1/payment_intents is forwarded (so the card is charged) but
its answer is never sent: the caller is left waiting exactly where a crash hurts most,
after the charge and before it learns of it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

_FORWARDED = ("authorization", "content-type", "idempotency-key", "stripe-version")


@dataclass
class HoldingProxy:
    target: str
    url: str = ""
    hold: bool = False
    charged: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        kept = {k: v for k, v in headers.items() if k.lower() in _FORWARDED}
        return httpx.request(method, self.target + path, headers=kept, content=body, timeout=30)


def _handler(proxy: HoldingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _relay(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = proxy.forward(method, self.path, dict(self.headers.items()), body)
            if method == "POST" and self.path.startswith("/v1/payment_intents") and proxy.hold:
                proxy.charged.set()
                proxy.release.wait(120)  # the caller dies meanwhile
                return
            try:
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)
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
