"""Lago's key/value metadata (plans, credit notes, wallets): one set of rules for every
object that carries it.

The metadata is a JSON object of at most 50 string keys (up to 100 characters) and string or null
values (up to 255 characters), stored as such in a JSONB column; null when there is none.
The routes (`POST` replace, `PATCH` merge, `DELETE` all, `DELETE /{key}`) answer
`{"metadata": ...}` with what is stored afterwards, as Lago does.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

MAX_KEY_LENGTH = 100
MAX_VALUE_LENGTH = 255
MAX_KEYS = 50

MetadataValue = dict[str, str | None]


def check_metadata(value: object) -> MetadataValue:
    """Lago's limits, reported on the metadata field itself (422 codes): an object
    (`invalid_type`) of at most 50 keys (`too_many_keys`) of 1 to 100 characters
    (`invalid_key`), each to a string (`invalid_value`) of up to 255 characters
    (`value_is_too_long`) or null."""
    if not isinstance(value, dict):
        raise ValueError("invalid_type")
    if len(value) > MAX_KEYS:
        raise ValueError("too_many_keys")
    if any(not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH for key in value):
        raise ValueError("invalid_key")
    if any(item is not None and not isinstance(item, str) for item in value.values()):
        raise ValueError("invalid_value")
    if any(item is not None and len(item) > MAX_VALUE_LENGTH for item in value.values()):
        raise ValueError("value_is_too_long")
    return dict(value)


Metadata = Annotated[MetadataValue, BeforeValidator(check_metadata)]


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
