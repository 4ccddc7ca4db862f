"""Temporal client: one connection per process, made on first use.

The API starts even while Temporal is down (/ready says so); the client connects when it
is first needed and is reused afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from bxb.core import tracing
from bxb.core.settings import Settings
from bxb.workflows import search_attributes

log = logging.getLogger(__name__)
HEALTH_CHECK_SECONDS = 2.0
CONNECT_SECONDS = 5.0


class TemporalUnavailable(Exception):  # noqa: N818 - named for what the caller sees (503)
    """Temporal, or a workflow behind it, could not answer within the bound.

    Nothing was refused: the caller may try again later. The API answers 503 in Lago's
    error shape, with `reason` under `field` (a 422 is only for requests that can never
    succeed).
    """

    def __init__(
        self, reason: str, *, code: str = "temporal_unavailable", field: str = "temporal"
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.field = field


async def connect(address: str, namespace: str) -> Client:
    return await Client.connect(
        address,
        namespace=namespace,
        data_converter=pydantic_data_converter,
        # While tracing is on: the request's trace goes on into the workflows it starts.
        interceptors=tracing.client_interceptors(),
    )


class TemporalConnector:
    def __init__(self, settings: Settings) -> None:
        self.address = settings.resolved_temporal_address
        self.namespace = settings.temporal_namespace
        # How long a request waits for a workflow (BXB_WORKFLOW_UPDATE_TIMEOUT).
        self.wait = settings.workflow_update_timeout
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The connected client; TemporalUnavailable while Temporal cannot be reached."""
        async with self._lock:
            if self._client is None:
                try:
                    async with asyncio.timeout(CONNECT_SECONDS):
                        self._client = await connect(self.address, self.namespace)
                except (TimeoutError, RuntimeError, RPCError, OSError) as exc:
                    raise TemporalUnavailable(f"cannot reach Temporal: {exc}") from exc
            return self._client

    async def is_healthy(self) -> bool:
        try:
            async with asyncio.timeout(HEALTH_CHECK_SECONDS):
                client = await self.client()
                return await client.service_client.check_health()
        except (TimeoutError, RPCError, RuntimeError, OSError, TemporalUnavailable):
            return False


SEARCH_ATTRIBUTE_TYPES = {key.name: "Keyword" for key in search_attributes.ALL}


async def ensure_search_attributes(client: Client) -> None:
    """Register bxb's search attributes that are missing (needed on external clusters, and
    when a new version of bxb adds one)."""
    registered: set[str] = set()
    with contextlib.suppress(RPCError):  # a server that cannot list them: add them all
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        registered = set(listed.custom_attributes)
    missing = {
        key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for key in search_attributes.ALL
        if key.name not in registered
    }
    if not missing:
        return
    request = AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
    with contextlib.suppress(RPCError):  # registered meanwhile by another process
        await client.operator_service.add_search_attributes(request)
