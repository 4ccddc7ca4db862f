"""/api/v1/plans (Lago-compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["plans"])
