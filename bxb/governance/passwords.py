"""Passwords: argon2id hashes (argon2-cffi) and the strength rule (zxcvbn).

A password is accepted when it has 12 to 128 characters and zxcvbn scores it at least 3
of 4 ("safely unguessable"), with the member's email, name and organization counted as
words an attacker knows. Hashing runs in a thread: argon2 is slow on purpose.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 128
MIN_SCORE = 3
# zxcvbn's matching grows quickly with length; past this many characters only length counts.
_SCORED_PREFIX = 64

# argon2-cffi's defaults are RFC 9106's second recommended profile (argon2id, 64 MiB, t=3).
_hasher = PasswordHasher()
# Verified against when no member has the email, so that an unknown email costs the same
# time as a wrong password.
_DUMMY_HASH = _hasher.hash("bxb-no-such-member-placeholder")


async def weak_password(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """password_problem in a thread: zxcvbn takes tens of milliseconds on long inputs."""
    return await asyncio.to_thread(password_problem, password, list(user_inputs))


def password_problem(password: str, user_inputs: Iterable[str] = ()) -> str | None:
    """The error code of a password too weak to accept, or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return "password_too_short"
    if len(password) > MAX_LENGTH:
        return "password_too_long"
    words = [w for value in user_inputs for w in _words(value)]
    result = zxcvbn(password[:_SCORED_PREFIX], user_inputs=words)
    if int(result["score"]) < MIN_SCORE:
        return "password_too_weak"
    return None


def _words(value: str) -> set[str]:
    """What an attacker would try from a known value: it whole, the local part and domain
    of an email, each without separators, and each word of three letters or more."""
    value = value.lower().strip()
    found = {value}
    for part in value.split("@"):
        found.add(part)
        found.add(re.sub(r"[\s._-]+", "", part))
        found.update(w for w in re.split(r"[\s._-]+", part) if len(w) >= 3)
    return {w for w in found if w}


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when password matches; None (no such member) checks a dummy hash, then False."""
    return await asyncio.to_thread(_verify, password_hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        matched = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return bool(matched) and password_hash is not None
