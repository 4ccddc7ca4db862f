"""The API served by uvicorn on a loopback port, for sync clients such as Lago's.

The socket is bound here (port 0) and handed to uvicorn, so no other process can take the
port between choosing and binding it. One unauthenticated request is answered before the
address is handed out: the first request's one-off costs (connection pool, imports) are
paid under a long timeout, not under the 5 s default of Lago's client.
Sync clients must be called through asyncio.to_thread: the server runs on this loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx

from bxb.core.settings import Settings


@contextlib.asynccontextmanager
async def serving_api(settings: Settings) -> AsyncIterator[str]:
    from bxb.core.stack import api_server

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    server = api_server(settings.model_copy(update={"api_port": port}))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=60) as warm_up:
            await warm_up.get("/api/v1/customers")
        yield url
    finally:
        server.should_exit = True
        await task
        sock.close()
