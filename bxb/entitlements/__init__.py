"""Features and entitlements (Lago's Entitlement:: services): the rules behind /features,
/plans/{code}/entitlements and /subscriptions/{external_id}/entitlements.

The API validates shapes and answers; these modules read and write the rows in the
caller's session and raise `NotFoundError` (Lago's 404 `<resource>_not_found`) or
`InvalidError` (Lago's 422 `validation_errors` with its field codes). The pure rules
(value types, composing a subscription's entitlements) are in bxb.billing.entitlements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class NotFoundError(LookupError):
    def __init__(self, resource: str) -> None:
        super().__init__(f"{resource}_not_found")
        self.resource = resource


class InvalidError(ValueError):
    def __init__(self, details: Mapping[str, Sequence[str]]) -> None:
        super().__init__(dict(details))
        self.details = {key: list(codes) for key, codes in details.items()}


def invalid(field: str, code: str) -> InvalidError:
    return InvalidError({field: [code]})
