"""Temporal client: one connection per process, made on first use.

The API starts even while Temporal is down (/ready says so); the client connects when it
is first needed and is reused afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from bxb.core.settings import Settings
from bxb.workflows import search_attributes

log = logging.getLogger(__name__)
HEALTH_CHECK_SECONDS = 2.0


async def connect(address: str, namespace: str) -> Client:
    return await Client.connect(
        address, namespace=namespace, data_converter=pydantic_data_converter
    )


class TemporalUnavailableError(RuntimeError):
    """The Temporal server could not be reached (the API answers 503)."""


class TemporalConnector:
    def __init__(self, settings: Settings) -> None:
        self.address = settings.resolved_temporal_address
        self.namespace = settings.temporal_namespace
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await connect(self.address, self.namespace)
                except RuntimeError as exc:  # the SDK's "Failed client connect: ..."
                    raise TemporalUnavailableError(str(exc)) from exc
            return self._client

    async def is_healthy(self) -> bool:
        try:
            async with asyncio.timeout(HEALTH_CHECK_SECONDS):
                client = await self.client()
                return await client.service_client.check_health()
        except (TimeoutError, RPCError, RuntimeError, OSError):
            return False


SEARCH_ATTRIBUTE_TYPES = {key.name: "Keyword" for key in search_attributes.ALL}


async def ensure_search_attributes(client: Client) -> None:
    """Register bxb's search attributes (idempotent; needed on external clusters)."""
    request = AddSearchAttributesRequest(
        namespace=client.namespace,
        search_attributes={
            key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for key in search_attributes.ALL
        },
    )
    with contextlib.suppress(RPCError):  # already registered
        await client.operator_service.add_search_attributes(request)
