"""The installation-wide limit on failed patient-code entries: one counter for every tablet, in the database.

The per-code and per-tablet limits (kiosk/services.py) stop one tablet or one code being hammered, but a new
cookie is a new tablet. This limit counts every failed code entry of the installation in a window; once it is
reached, code entry is refused on every tablet until the window has moved on (staff can still hand a tablet
over to a patient), and an alert is recorded in the audit trail (once per window) and shown to admins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..models import AuditEvent
from ..vocabulary import Actor
from . import throttle

KEY = "codes:installation"
ALERT = "security.code_limit_reached"
#: how far back admins see the alerts
ALERT_DAYS = 7


def _limits() -> tuple[int, int]:
    settings = current_app.config["SETTINGS"]
    return settings.code_attempts_installation, settings.code_limit_window_seconds


def is_over() -> bool:
    limit, window = _limits()
    return throttle.failures(KEY, window) >= limit


def record_failure() -> None:
    """Count one failed code entry; the one that reaches the limit raises the alert (once per window)."""
    limit, window = _limits()
    throttle.fail(KEY)
    db.session.flush()
    failures = throttle.failures(KEY, window)
    if failures < limit:
        return
    since = utcnow() - timedelta(seconds=window)
    if db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == ALERT, AuditEvent.at >= since).limit(1)):
        return
    audit.record(ALERT, "throttle_event", None, actor=Actor.SYSTEM,
                 new={"failures": failures, "limit": limit, "window_seconds": window},
                 reason="installation-wide limit on failed patient-code entries reached: code entry paused")


@dataclass(frozen=True)
class State:
    failures: int
    limit: int
    window_minutes: int
    over: bool
    #: when code entry opens again (the oldest failure counted leaves the window), if over
    open_at: datetime | None
    alerts: list[AuditEvent]


def state() -> State:
    limit, window = _limits()
    failures, _ = throttle.recent(KEY, window)
    open_at = None
    if failures >= limit:
        counted = throttle.times(KEY, window)
        open_at = counted[failures - limit] + timedelta(seconds=window) if counted else None
    since = utcnow() - timedelta(days=ALERT_DAYS)
    alerts = db.session.scalars(select(AuditEvent).where(AuditEvent.action == ALERT, AuditEvent.at >= since)
                                .order_by(AuditEvent.id.desc()).limit(50)).all()
    return State(failures, limit, window // 60, failures >= limit, open_at, list(alerts))
