"""/api/v1/billable_metrics (Lago-compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["billable_metrics"])
