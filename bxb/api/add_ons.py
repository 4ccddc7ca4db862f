"""/api/v1/add_ons (Lago-compatible)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/v1", tags=["add_ons"])
