"""The data export object (API answers and the data_export.* webhooks)."""

from __future__ import annotations

from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import DataExport


def file_url(base_url: str, export: DataExport) -> str | None:
    """Where the CSV is downloaded (with the organization's API key), once completed."""
    if export.status != "completed":
        return None
    return f"{base_url.rstrip('/')}/api/v1/data_exports/{export.id}/file"


def data_export_object(export: DataExport, base_url: str) -> dict[str, Any]:
    estimate = export.rows_estimate
    if export.status == "completed":
        progress = 1.0
    elif estimate:
        progress = min(export.rows_exported / estimate, 1.0)
    else:
        progress = 0.0
    return {
        "lago_id": str(export.id),
        "resource_type": export.resource_type,
        "format": export.format,
        "filters": export.filters,
        "status": export.status,
        "rows_exported": export.rows_exported,
        "rows_estimate": estimate,
        "progress": round(progress, 4),
        "file_size": export.file_size,
        "file_url": file_url(base_url, export),
        "error": export.error,
        "created_at": iso(export.created_at),
        "started_at": iso(export.started_at),
        "completed_at": iso(export.completed_at),
    }
