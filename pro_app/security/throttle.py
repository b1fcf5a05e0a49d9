"""Failed-attempt throttling kept in the database, so it holds across workers, hosts and restarts.

Keys name what is being guessed at (a code, an account) or who is guessing (a tablet). An IP address is
never the only key, since a clinic's tablets share one; staff login slows a client address alongside the
account, with a far higher allowance (security/accounts.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from ..clock import utcnow
from ..extensions import db
from ..models import ThrottleEvent


def recent(key: str, window_seconds: int) -> tuple[int, datetime | None]:
    """The failures under `key` within the window, and when the last of them was."""
    since = utcnow() - timedelta(seconds=window_seconds)
    count, last = db.session.execute(
        select(func.count(), func.max(ThrottleEvent.at)).where(ThrottleEvent.key == key, ThrottleEvent.at >= since)
    ).one()
    return count, last


def times(key: str, window_seconds: int) -> list[datetime]:
    """When each failure under `key` within the window was, oldest first."""
    since = utcnow() - timedelta(seconds=window_seconds)
    return list(db.session.scalars(select(ThrottleEvent.at).where(ThrottleEvent.key == key, ThrottleEvent.at >= since)
                                   .order_by(ThrottleEvent.at)))


def failures(key: str, window_seconds: int) -> int:
    return recent(key, window_seconds)[0]


def is_blocked(keys_and_limits: dict[str, int], window_seconds: int) -> bool:
    return any(failures(key, window_seconds) >= limit for key, limit in keys_and_limits.items())


def fail(*keys: str) -> None:
    for key in keys:
        db.session.add(ThrottleEvent(key=key))


def clear(key: str) -> None:
    db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.key == key))
