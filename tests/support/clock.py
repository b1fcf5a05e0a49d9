"""A controllable clock for tests: the app's one `utcnow()` (pro_app/clock.py) reads it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """The real time moved by an offset: `ahead(600)` is "ten minutes from now", and time goes on from there."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def ahead(self, seconds: float) -> None:
        """Set the clock `seconds` ahead of the real time (not cumulative)."""
        self.offset = timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock on by `seconds` more."""
        self.offset += timedelta(seconds=seconds)
