"""Lago's FeatureObject (V1::Entitlement::FeatureSerializer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bxb.lago_objects.formats import iso
from bxb.models import Feature, Privilege


def feature_object(feature: Feature, privileges: Sequence[Privilege]) -> dict[str, Any]:
    return {
        "code": feature.code,
        "name": feature.name,
        "description": feature.description,
        "privileges": [
            {
                "code": p.code,
                "name": p.name,
                "value_type": p.value_type,
                "config": dict(p.config or {}),
            }
            for p in privileges
        ],
        "created_at": iso(feature.created_at),
    }
