"""The password rule, argon2id hashes and the lockout's backoff schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bxb.governance.lockout import lock_after
from bxb.governance.passwords import hash_password, password_problem, verify_password


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("Tr0ub4dor&3", "password_too_short"),  # 11 characters
        ("x" * 129, "password_too_long"),
        ("password1234", "password_too_weak"),
        ("qwertyuiopasdf", "password_too_weak"),
        ("acmebilling2026", "password_too_weak"),  # the organization's name
        ("ada.lovelace1815", "password_too_weak"),  # the member's email
        ("plum-Orbit-92-cascade", None),
        ("correct horse battery staple", None),
    ],
)
def test_password_rule(password: str, problem: str | None) -> None:
    assert password_problem(password, ["ada.lovelace@example.com", "Acme Billing"]) == problem


async def test_hashes_are_argon2id_salted_and_verify() -> None:
    first = await hash_password("plum-Orbit-92-cascade")
    second = await hash_password("plum-Orbit-92-cascade")
    assert first.startswith("$argon2id$")
    assert first != second  # salted
    assert await verify_password(first, "plum-Orbit-92-cascade")
    assert not await verify_password(first, "plum-Orbit-92-cascadE")
    assert not await verify_password("not a hash", "plum-Orbit-92-cascade")
    assert not await verify_password(None, "bxb-no-such-member-placeholder")


def test_backoff_doubles_from_the_fifth_failure_up_to_fifteen_minutes() -> None:
    schedule = [lock_after(n) for n in range(1, 12)]
    seconds = [None if s is None else int(s.total_seconds()) for s in schedule]
    assert seconds == [None, None, None, None, 30, 60, 120, 240, 480, 900, 900]
    assert lock_after(10_000) == timedelta(minutes=15)
