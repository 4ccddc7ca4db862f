"""SQLAlchemy tables. Every row carries organization_id; one resource per module."""

from bxb.models.api_key import ApiKey
from bxb.models.base import Base
from bxb.models.organization import Organization

__all__ = ["ApiKey", "Base", "Organization"]
