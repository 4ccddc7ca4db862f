"""The usage reactions the workflow runs, and the interests the watcher signals for.

`REACTIONS` run in this order in the activity `react_to_usage`, each in its own
transaction(s), each idempotent on its business key. `INTERESTS` decide which
subscriptions the watcher signals after a commit (`bxb.usage_reactions.interest`).
A reaction that needs signals for subscriptions no interest covers yet adds one.
"""

from __future__ import annotations

from bxb.usage_reactions.context import Reaction
from bxb.usage_reactions.interest import PAY_IN_ADVANCE, Interest

REACTIONS: list[Reaction] = []

INTERESTS: list[Interest] = [PAY_IN_ADVANCE]
