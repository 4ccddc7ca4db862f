"""The `Idempotency-Key` header on POST /api/v1/... (pure ASGI middleware).

Same credential, same key, same request (method, path, query, body) within 24 h: the
first answer is replayed, with `Idempotent-Replayed: true`. The same key with another
request: 422 `idempotency_key_reused`. A duplicate that arrives while the first is still
running waits for it (up to `idempotency_wait_seconds`), then replays it or gets 409
`idempotency_key_in_use`. A 5xx, 401, 403, 408, 409 or 429 answer, or an error, releases
the key, so a retry runs again; any other answer is kept.

Requests without the header pay one scan of the headers of a POST, nothing more.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bxb.governance import idempotency
from bxb.governance.actor import SCOPE_KEY

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
POLL_SECONDS = 0.05
# Answers that say nothing about what the request did: they are not replayed.
NOT_KEPT = frozenset({401, 403, 408, 409, 429})
# Larger answers are sent but not kept (the key is released): creation answers are small.
MAX_KEPT_BYTES = 1_048_576


def _error(status: int, error: str, code: str, details: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"status": status, "error": error, "code": code}
    if details is not None:
        body["error_details"] = details
    return json.dumps(body, separators=(",", ":")).encode()


INVALID_KEY = _error(400, "Bad Request", "invalid_idempotency_key")
REUSED_KEY = _error(
    422,
    "Unprocessable Entity",
    "idempotency_key_reused",
    {"idempotency_key": ["used_with_another_request"]},
)
KEY_IN_USE = _error(409, "Conflict", "idempotency_key_in_use")


def _valid(key: str) -> bool:
    """1 to 255 visible ASCII characters (spaces allowed inside)."""
    return (
        0 < len(key) <= MAX_KEY_LENGTH
        and key.isascii()
        and key.isprintable()
        and key.strip() == key
    )


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, *, wait_seconds: float) -> None:
        self.app = app
        self.wait_seconds = wait_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        keys = [value for name, value in scope["headers"] if name == HEADER]
        if not keys or not scope["path"].startswith("/api/v1/"):
            await self.app(scope, receive, send)
            return
        key = keys[0].decode("latin-1")
        if len(keys) > 1 or not _valid(key):
            await _answer(send, 400, INVALID_KEY)
            return
        credential = _credential(scope)
        if credential is None:  # unauthenticated: the route answers 401
            await self.app(scope, receive, send)
            return
        await self._run_once(scope, receive, send, credential, key)

    async def _run_once(
        self, scope: Scope, receive: Receive, send: Send, credential: str, key: str
    ) -> None:
        body = await _read_body(receive)
        if body is None:
            return
        sessions = scope["app"].state.sessions
        fingerprint = _fingerprint(scope, body)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            result = await idempotency.claim(sessions, credential, key, fingerprint)
            if not isinstance(result, idempotency.Running):
                break
            if time.monotonic() >= deadline:
                await _answer(send, 409, KEY_IN_USE)
                return
            await asyncio.sleep(POLL_SECONDS)
        if isinstance(result, idempotency.Mismatch):
            await _answer(send, 422, REUSED_KEY)
            return
        if isinstance(result, idempotency.Replay):
            await _answer(
                send,
                result.status_code,
                result.body,
                result.content_type,
                [(b"idempotent-replayed", b"true")],
            )
            return
        await self._run_and_keep(scope, body, receive, send, result)

    async def _run_and_keep(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        claimed: idempotency.Claimed,
    ) -> None:
        sessions = scope["app"].state.sessions
        status = 0
        content_type: str | None = None
        chunks: list[bytes] = []
        kept_bytes = 0
        complete = False
        replayed = False

        async def replay_body() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            nonlocal status, content_type, complete, kept_bytes
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                kept_bytes += len(chunk)
                if kept_bytes <= MAX_KEPT_BYTES:
                    chunks.append(chunk)
                complete = not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            await asyncio.shield(idempotency.release(sessions, claimed))
            raise
        kept = complete and kept_bytes <= MAX_KEPT_BYTES
        if kept and status < 500 and status not in NOT_KEPT:
            actor = scope.get(SCOPE_KEY)
            answer = idempotency.Replay(status, content_type, b"".join(chunks))
            await idempotency.finish(
                sessions, claimed, answer, getattr(actor, "organization_id", None)
            )
        else:
            await idempotency.release(sessions, claimed)


def _credential(scope: Scope) -> str | None:
    """SHA-256 of the credential: the bearer key, else the session cookie header."""
    found: bytes | None = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            found = value
            break
        if name == b"cookie":
            found = value
    return hashlib.sha256(found).hexdigest() if found else None


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope["query_string"], body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None  # the client went away
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _answer(
    send: Send,
    status: int,
    body: bytes,
    content_type: str | None = "application/json",
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-length", str(len(body)).encode()), *(extra or [])]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
