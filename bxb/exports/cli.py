"""`bxb export <resource_type> [--filter key=value ...] --output file.csv`.

Goes through the API with an organization's API key (BXB_API_KEY, or --api-key), like any
client: the export runs in the worker, this command shows its progress as a bar (rich)
and downloads the file when it completes. The API is BXB_PUBLIC_URL unless --api-url.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from typing import Any

import anyio
import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bxb.core.settings import Settings
from bxb.exports.columns import RESOURCE_TYPES, SPECS

POLL_SECONDS = 0.25
console = Console(highlight=False)


def add_export_parser(commands: Any) -> None:
    export = commands.add_parser("export", help="export a resource as CSV through the API")
    export.add_argument("resource_type", choices=RESOURCE_TYPES)
    export.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a filter of the resource's list route (repeat a key for a list; "
        "metadata.KEY=VALUE for invoice metadata)",
    )
    export.add_argument("--output", "-o", required=True, help="where to write the CSV")
    export.add_argument("--api-url", help="the API's base URL (default: BXB_PUBLIC_URL)")
    export.add_argument("--api-key", help="an API key of the organization (default: BXB_API_KEY)")


def parse_filters(resource_type: str, pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE pairs as the export's JSON filters; list filters collect repeated keys."""
    fields = SPECS[resource_type].filters.model_fields
    filters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"error: --filter {pair!r} is not KEY=VALUE")
        if key.startswith("metadata."):
            filters.setdefault("metadata", {})[key.removeprefix("metadata.")] = value
        elif key in fields and fields[key].default == ():
            filters.setdefault(key, []).append(value)
        else:
            filters[key] = value  # the API checks it (unknown keys: 422)
    return filters


async def _follow(client: httpx.AsyncClient, lago_id: str) -> dict[str, Any]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("exporting", total=None)
        while True:
            response = await client.get(f"/api/v1/data_exports/{lago_id}")
            response.raise_for_status()
            export: dict[str, Any] = response.json()["data_export"]
            bar.update(task, total=export["rows_estimate"], completed=export["rows_exported"])
            if export["status"] in ("completed", "failed"):
                return export
            await asyncio.sleep(POLL_SECONDS)


async def run_export_command(args: argparse.Namespace, settings: Settings) -> int:
    key = args.api_key or os.environ.get("BXB_API_KEY")
    if not key:
        console.print("error: give an API key (--api-key or BXB_API_KEY)")
        return 2
    body = {
        "data_export": {
            "resource_type": args.resource_type,
            "format": "csv",
            "filters": parse_filters(args.resource_type, args.filter),
        }
    }
    base = args.api_url or settings.resolved_public_url
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
        response = await client.post("/api/v1/data_exports", json=body)
        if response.status_code != 200:
            console.print(f"error: {response.status_code} {response.text}")
            return 1
        export = await _follow(client, response.json()["data_export"]["lago_id"])
        if export["status"] != "completed":
            console.print(f"error: the export failed: {export['error']}")
            return 1
        async with client.stream("GET", f"/api/v1/data_exports/{export['lago_id']}/file") as file:
            file.raise_for_status()
            async with await anyio.open_file(args.output, "wb") as out:
                async for data in file.aiter_bytes():
                    await out.write(data)
    console.print(f"{export['rows_exported']} rows written to {args.output}")
    return 0
