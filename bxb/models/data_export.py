"""CSV data exports and their files.

The file is stored in PostgreSQL as ordered chunks (about 1 MB each) so that any API
process on any machine can stream it, with no shared disk or object store to configure.
A chunk is written in its own transaction together with the export's progress, so
`rows_exported` always counts the rows in the committed chunks.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from bxb.models.base import Base, TenantMixin


class DataExport(TenantMixin, Base):
    __tablename__ = "data_exports"

    resource_type: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(8), default="csv")
    # The filters as checked by bxb.listings (normalized JSON), run by the worker.
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    rows_exported: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_estimate: Mapped[int | None] = mapped_column(BigInteger)
    chunks_count: Mapped[int] = mapped_column(Integer, default=0)
    file_size: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DataExportChunk(Base):
    __tablename__ = "data_export_chunks"

    data_export_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("data_exports.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
