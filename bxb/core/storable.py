"""What PostgreSQL (and so every bxb store) can hold as text: no NUL, no lone surrogate.

One rule for the API boundary (bxb.api.input_rules) and for ingestion paths that do not
come through HTTP (bxb.events.validation, used by the bulk importer).
"""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> bool:
    """Whether the stores can hold this string (no NUL, no UTF-16 surrogate).

    Ingestion is the hot path: any string costs one or two C calls, unless it holds
    characters Python does not print (NUL, surrogates, but also tabs or newlines).
    """
    if text.isascii():
        return "\x00" not in text
    return text.isprintable() or _UNSTORABLE.search(text) is None
