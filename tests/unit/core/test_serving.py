"""Requests still running when the server gives up on them get Lago's 503, not a bare 500."""

from __future__ import annotations

import asyncio
import json

from starlette.types import Message, Receive, Scope, Send

from bxb.core.serving import AnswersWhenCancelled


async def _never_answers(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.Event().wait()


async def _answers(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await asyncio.Event().wait()


async def _serve_then_cancel(app: AnswersWhenCancelled) -> list[Message]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    task = asyncio.create_task(app({"type": "http"}, receive, send))
    await asyncio.sleep(0.01)
    task.cancel()  # what uvicorn does after its graceful shutdown timeout
    await asyncio.gather(task, return_exceptions=True)
    return sent


async def test_a_request_cancelled_before_answering_gets_a_503_and_a_closed_connection() -> None:
    start, body = await _serve_then_cancel(AnswersWhenCancelled(_never_answers))
    assert start["status"] == 503
    assert (b"connection", b"close") in start["headers"]
    assert json.loads(body["body"]) == {
        "status": 503,
        "error": "Service Unavailable",
        "code": "shutting_down",
    }


async def test_a_request_that_has_begun_its_answer_is_left_alone() -> None:
    sent = await _serve_then_cancel(AnswersWhenCancelled(_answers))
    assert [m["status"] for m in sent] == [200]
