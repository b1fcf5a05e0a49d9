"""Failed-attempt throttling kept in the database, so it holds across workers, hosts and restarts.

Keys name what is being guessed at (a code, an account) or who is guessing (a tablet), never an IP
address: a clinic's tablets share one.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select

from ..clock import utcnow
from ..extensions import db
from ..models import ThrottleEvent


def failures(key: str, window_seconds: int) -> int:
    since = utcnow() - timedelta(seconds=window_seconds)
    return db.session.scalar(
        select(func.count()).select_from(ThrottleEvent).where(ThrottleEvent.key == key, ThrottleEvent.at >= since)
    )


def is_blocked(keys_and_limits: dict[str, int], window_seconds: int) -> bool:
    return any(failures(key, window_seconds) >= limit for key, limit in keys_and_limits.items())


def fail(*keys: str) -> None:
    for key in keys:
        db.session.add(ThrottleEvent(key=key))


def clear(key: str) -> None:
    db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.key == key))
