"""Autogenerate an Alembic migration against a throwaway embedded PostgreSQL.

    .venv/bin/python scripts/make_migration.py 0006 "invoice collection"

Starts a private database, upgrades it to the current heads, and writes the difference
between the models and that schema as a new revision (review it before committing).
"""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
from pathlib import Path

from alembic import command

from bxb.core.embedded import EmbeddedPostgres
from bxb.core.migrate import alembic_config


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def main() -> None:
    rev_id, message = sys.argv[1], sys.argv[2]
    head = sys.argv[3] if len(sys.argv) > 3 else "heads"
    with tempfile.TemporaryDirectory() as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "pg", _free_port(), durable=False)
        asyncio.run(postgres.start())
        try:
            config = alembic_config(postgres.url)
            command.upgrade(config, head)
            command.revision(config, message=message, autogenerate=True, rev_id=rev_id, head=head)
        finally:
            postgres.stop()


if __name__ == "__main__":
    main()
