"""Lago's key/value metadata (plans, credit notes, wallets): one set of rules for every
object that carries it.

The metadata is a JSON object of string keys (up to 100 characters) and string or null
values (up to 255 characters), stored as such in a JSONB column; null when there is none.
The routes (`POST` replace, `PATCH` merge, `DELETE` all, `DELETE /{key}`) answer
`{"metadata": ...}` with what is stored afterwards, as Lago does.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

MAX_KEY_LENGTH = 100
MAX_VALUE_LENGTH = 255

MetadataValue = dict[str, str | None]


def check_metadata(value: MetadataValue) -> MetadataValue:
    """Lago's limits: keys 1 to 100 characters, values up to 255 (422 codes)."""
    if any(not key or len(key) > MAX_KEY_LENGTH for key in value):
        raise ValueError("invalid_key")
    if any(item is not None and len(item) > MAX_VALUE_LENGTH for item in value.values()):
        raise ValueError("value_is_too_long")
    return value


Metadata = Annotated[MetadataValue, AfterValidator(check_metadata)]


class MetadataBody(BaseModel):
    """The body of the replace and merge routes: `{"metadata": {key: value}}`."""

    model_config = ConfigDict(extra="ignore")

    metadata: Metadata


class NoMetadataError(LookupError):
    """A key deleted from an object that has no metadata at all (Lago: 404)."""


def replaced(new: MetadataValue) -> MetadataValue:
    return dict(new)


def merged(current: MetadataValue | None, new: MetadataValue) -> MetadataValue:
    """Keys of `new` added or updated; the others kept."""
    return {**(current or {}), **new}


def without_key(current: MetadataValue | None, key: str) -> MetadataValue:
    """`current` without `key` (a missing key changes nothing)."""
    if current is None:
        raise NoMetadataError(key)
    return {k: v for k, v in current.items() if k != key}


def answer(value: MetadataValue | None) -> dict[str, MetadataValue | None]:
    return {"metadata": None if value is None else dict(value)}
