"""How quickly a dead worker's activity is taken over: one figure for every workflow.

Every activity heartbeats (bxb.activities.heartbeat, every second), so an attempt whose
worker died is retried elsewhere once this much time passes without a heartbeat.
"""

from __future__ import annotations

from datetime import timedelta

HEARTBEAT_TIMEOUT = timedelta(seconds=5)
