"""The one clock of pro-app: every "now" in the code is `utcnow()` from here.

Tests move it with the `clock` fixture (tests/conftest.py) instead of patching module by module.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _system_time() -> datetime:
    return datetime.now(UTC)


#: Where the time comes from; replaced only by tests.
source: Callable[[], datetime] = _system_time


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return source()
