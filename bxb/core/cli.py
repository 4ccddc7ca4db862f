"""The `bxb` command: run the stack or its parts, migrate, manage organizations and keys."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import uuid
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Sequence,
)
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bxb.core.db import create_engine, create_sessionmaker, transaction
from bxb.core.embedded import EmbeddedPostgres
from bxb.core.logging import configure_logging
from bxb.core.migrate import upgrade
from bxb.core.organizations import (
    InvalidApiKeyError,
    authenticate,
    create_organization,
    list_organizations,
    revoke_api_key,
)
from bxb.core.settings import Settings
from bxb.core.stack import prepare_database, run_stack, serve, serve_api_processes
from bxb.exports.cli import add_export_parser, run_export_command
from bxb.governance import api_key_cli
from bxb.governance.audit.cli import as_cli
from bxb.governance.member_cli import add_member_parser, member_command
from bxb.models import Organization


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bxb", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start everything on embedded defaults (API, worker, services)")
    api = commands.add_parser("api", help="run the HTTP API only (services from the environment)")
    api.add_argument(
        "--workers", type=int, default=1, help="API processes (e.g. one per core); default 1"
    )
    commands.add_parser("worker", help="run the Temporal worker only")
    commands.add_parser("migrate", help="apply database migrations")
    org = commands.add_parser("org", help="organizations and API keys").add_subparsers(
        dest="org_command", required=True
    )
    create = org.add_parser("create", help="create an organization and print its API key once")
    create.add_argument("name")
    org.add_parser("list", help="list organizations and their key prefixes")
    revoke = org.add_parser("revoke-key", help="revoke an API key by its prefix")
    revoke.add_argument("prefix", help="the key's first 12 characters, as `org list` shows")
    rotate = org.add_parser(
        "rotate-portal-secret",
        help="retire the stored secret of customer-portal tokens (it verifies one token "
        "lifetime more); the next portal URL is signed by a new one",
    )
    rotate.add_argument("organization_id", type=uuid.UUID)
    api_key_cli.add_parser(commands)
    events = commands.add_parser("events", help="usage events").add_subparsers(
        dest="events_command", required=True
    )
    load = events.add_parser(
        "import", help="import an NDJSON file of Lago events (one per line), idempotently"
    )
    load.add_argument("file", help="path of the NDJSON file, or - for standard input")
    owner = load.add_mutually_exclusive_group(required=True)
    owner.add_argument("--organization-id", help="the organization the events belong to")
    owner.add_argument("--api-key", help="an API key of that organization, instead of its id")
    load.add_argument("--batch-size", type=int, default=5000, help="events per insert")
    add_member_parser(commands)
    add_export_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level)
    if args.command == "api" and args.workers > 1:
        # uvicorn's process manager owns the main thread and its signals.
        serve_api_processes(settings, args.workers)
        return 0
    try:
        return run_event_loop(_dispatch(args, settings))
    except InvalidApiKeyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


Result = TypeVar("Result")


def run_event_loop(main: Coroutine[Any, Any, Result]) -> Result:
    """Run `main` on uvloop where it is installed (uvicorn's standard extras bring it),
    else on asyncio's own loop. uvloop's loop and transports in C cut the worker's CPU per
    invoice by 5 to 10 % in bench/billing_cycle.py (bench/README.md), and `bxb up` serves
    the API on the same loop as the worker, as `bxb api` already did through uvicorn."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is on every platform bxb ships for
        return asyncio.run(main)
    return uvloop.run(main)


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "up":
        await _until_signalled(lambda stop: run_stack(settings, stop))
    elif args.command == "api":
        await _until_signalled(lambda stop: serve(settings, stop, worker=False, api=True))
    elif args.command == "worker":
        await _until_signalled(lambda stop: serve(settings, stop, worker=True, api=False))
    elif args.command == "migrate":
        await upgrade(settings.resolved_database_url)
        print("database is up to date")
    elif args.command == "events":
        return await _import_events(args, settings)
    elif args.command == "member":
        async with _database(settings) as run:
            with as_cli(args.org):  # what it changes is in the audit trail
                await run(lambda session: member_command(args, session, settings))
    elif args.command == "export":
        return await run_export_command(args, settings)
    elif args.command == "api-key":
        async with _database(settings) as run:
            with as_cli(args.organization_id):
                await run(lambda session: api_key_cli.run(args, session))
    else:
        async with _database(settings) as run:
            await run(lambda session: _org_command(args, session))
    return 0


async def _until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run(stop)


async def _org_command(args: argparse.Namespace, session: AsyncSession) -> None:
    if args.org_command == "create":
        org, issued = await create_organization(session, args.name)
        print(f"organization {org.name} ({org.id})")
        print(f"API key (shown once, store it now): {issued.plaintext}")
    elif args.org_command == "list":
        for org, keys in await list_organizations(session):
            live = [k.prefix + "…" for k in keys if k.revoked_at is None]
            print(f"{org.id}  {org.name}  keys: {', '.join(live) or '-'}")
    elif args.org_command == "rotate-portal-secret":
        from bxb.models.base import utcnow
        from bxb.portal.secrets import rotate_stored_secret

        if await session.get(Organization, args.organization_id) is None:
            print(f"no organization {args.organization_id}", file=sys.stderr)
            raise SystemExit(1)
        await rotate_stored_secret(session, args.organization_id, utcnow())
        print(f"portal secret of {args.organization_id} rotated")
    else:
        revoked = await revoke_api_key(session, args.prefix)
        print(f"revoked {revoked} key(s)")
        if not revoked:
            raise SystemExit(1)


async def _import_events(args: argparse.Namespace, settings: Settings) -> int:
    """`bxb events import FILE`: prints a summary; exits 1 if any line was rejected."""
    from bxb.events.importer import ProgressLine, import_events
    from bxb.events.store import create_event_store

    async with _database(settings):
        engine = create_engine(settings.resolved_database_url, pool_size=2)
        try:
            organization_id = await _import_owner(args, engine)
            if organization_id is None:
                print("error: unknown organization or API key", file=sys.stderr)
                return 2
            store = create_event_store(settings, engine)
            try:
                with _open_lines(args.file) as lines:
                    summary = await import_events(
                        store,
                        engine,
                        organization_id,
                        lines,
                        batch_size=args.batch_size,
                        progress=ProgressLine(sys.stderr.write),
                    )
            finally:
                await store.close()
        finally:
            await engine.dispose()
    for line, errors in sorted(summary.rejections):
        print(f"line {line}: rejected {json.dumps(errors, sort_keys=True)}")
    if summary.rejected > len(summary.rejections):
        print(f"... and {summary.rejected - len(summary.rejections)} more rejected lines")
    print(summary.describe())
    return 1 if summary.rejected else 0


async def _import_owner(args: argparse.Namespace, engine: AsyncEngine) -> uuid.UUID | None:
    async with create_sessionmaker(engine)() as session:
        if args.api_key is not None:
            organization = await authenticate(session, args.api_key)
            return None if organization is None else organization.id
        try:
            organization_id = uuid.UUID(args.organization_id)
        except ValueError:
            return None
        found = await session.get(Organization, organization_id)
        return None if found is None else found.id


@contextlib.contextmanager
def _open_lines(path: str) -> Iterator[Iterable[bytes]]:
    if path == "-":
        yield sys.stdin.buffer
        return
    with open(path, "rb") as file:
        yield file


SessionRunner = Callable[[Callable[[AsyncSession], Awaitable[None]]], Awaitable[None]]


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[SessionRunner]:
    """A transaction runner on the ledger; starts embedded PostgreSQL if it is not running."""
    async with contextlib.AsyncExitStack() as stack:
        if settings.embedded_database and not await _reachable(settings):
            postgres = EmbeddedPostgres(settings.data_dir, settings.embedded_postgres_port)
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            stack.callback(postgres.stop)
            await postgres.start()
            await prepare_database(settings)
        engine = create_engine(settings.resolved_database_url, pool_size=1)
        stack.push_async_callback(engine.dispose)
        sessions = create_sessionmaker(engine)

        async def run(work: Callable[[AsyncSession], Awaitable[None]]) -> None:
            async with transaction(sessions) as session:
                await work(session)

        yield run


async def _reachable(settings: Settings) -> bool:
    engine = create_engine(settings.resolved_database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except (OperationalError, DBAPIError, OSError):
        return False
    finally:
        await engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
