"""The usage reactions the workflow runs, and the interests the watcher signals for.

`REACTIONS` run in this order in the activity `react_to_usage`, each in its own
transaction(s), each idempotent on its business key. `INTERESTS` decide which
subscriptions the watcher signals after a commit (`bxb.usage_reactions.interest`).
A reaction that needs signals for subscriptions no interest covers yet adds one.
"""

from __future__ import annotations

from bxb.usage_reactions import alerts, instant_fees, late_events, progressive
from bxb.usage_reactions.context import Reaction
from bxb.usage_reactions.interest import PAY_IN_ADVANCE, Interest
from bxb.usage_reactions.thresholds_interest import USAGE_THRESHOLDS

# Instant fees first (alerts count what they billed); late events last, as they re-rate
# periods already closed. A late event of an in-advance charge is billed by its own fee.
REACTIONS: list[Reaction] = [
    instant_fees.react,
    progressive.react,
    alerts.react,
    late_events.react,
]

INTERESTS: list[Interest] = [
    PAY_IN_ADVANCE,
    USAGE_THRESHOLDS,
    alerts.WITH_ALERTS,
    late_events.LATE_EVENTS,
]
