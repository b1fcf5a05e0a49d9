"""Server-side sessions: the cookie carries a random token, the database the session itself.

Ending a session (logout, idle timeout, submit, revocation) marks its row ended, so a copied cookie
stops working at once everywhere. Idle time is checked on every request against `last_seen_at`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app, g, session
from sqlalchemy import select, update

from ..clock import utcnow
from ..database import BUSY_TIMEOUT_MS
from ..extensions import db
from ..models import AuthSession
from ..transactions import after_read

log = logging.getLogger(__name__)

COOKIE_KEY = "sid"
# last_seen_at is written at most this often, so most requests do not write.
TOUCH_EVERY = timedelta(seconds=15)
# A staff session is checked this much after its idle time (staff pages keep no clock of their own). A
# patient session ends exactly at its idle time: the tablet's page keeps the server's idle clock in step with
# the patient's taps (kiosk.js reports how long ago the last tap was, `note_activity`), so the page and the
# server end it at the same moment, and a page that could not reach the server at that moment (Wi-Fi down)
# finds the session ended when the connection returns: Back shows nothing of that patient.
SERVER_GRACE = timedelta(seconds=30)
# The last-seen write of a read request waits at most this long for SQLite's write lock.
TOUCH_WAIT_MS = 250


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def begin(kind: str, *, user_id: int | None = None, assessment_id: int | None = None,
          language: str | None = None, device: str | None = None) -> AuthSession:
    """Start a session for this browser, replacing any it had (a fresh token: no fixation)."""
    end_current("replaced")
    token = secrets.token_urlsafe(32)
    record = AuthSession(token_hash=_digest(token), kind=kind, user_id=user_id, assessment_id=assessment_id,
                         language=language, device=device)
    db.session.add(record)
    keep = {k: session[k] for k in ("lang", "device") if k in session}
    session.clear()
    session.update(keep)
    session[COOKIE_KEY] = token
    return record


def idle_limit(kind: str) -> timedelta:
    settings = current_app.config["SETTINGS"]
    seconds = settings.kiosk_idle_seconds if kind == "patient" else settings.staff_idle_seconds
    return timedelta(seconds=seconds)


def current(kind: str | None = None, *, touch: bool | str = True) -> AuthSession | None:
    """The live session of this browser (of `kind`, if given), or None. Ends it when idle too long."""
    token = session.get(COOKIE_KEY)
    if not token:
        return None
    record = db.session.scalar(select(AuthSession).where(AuthSession.token_hash == _digest(token)))
    if record is None or record.ended_at is not None:
        return None
    now = utcnow()
    if now - record.last_seen_at > idle_limit(record.kind) + (SERVER_GRACE if record.kind != "patient" else
                                                               timedelta(0)):
        end(record, "idle")
        return None
    if kind is not None and record.kind != kind:
        return None
    g.session_seen_at = record.last_seen_at
    if touch is True and now - record.last_seen_at > TOUCH_EVERY or touch == "always":
        g.session_seen_at = now
        if g.get("read_request"):
            _touch_after_response(record.id, now)
        else:
            record.last_seen_at = now
    return record


def idle_remaining(record: AuthSession) -> timedelta:
    """How long until the server ends the session if nothing more is heard from its browser (the page of a
    patient session starts its own idle clock from this, so the two agree)."""
    seen = g.get("session_seen_at") or record.last_seen_at
    return max(idle_limit(record.kind) - (utcnow() - seen), timedelta(0))


def note_activity(record: AuthSession, idle_for: timedelta) -> None:
    """The page reports that the patient last tapped `idle_for` ago: the session's idle clock starts from that
    tap (never earlier than what the server already knows, never later than now)."""
    now = utcnow()
    tapped = now - min(max(idle_for, timedelta(0)), idle_limit(record.kind))
    if tapped > record.last_seen_at:
        record.last_seen_at = tapped
    g.session_seen_at = record.last_seen_at


def _touch_after_response(record_id: int, now: datetime) -> None:
    """A read request does not write its last-seen time inside its own transaction: it is stored once the
    page is rendered (see `write_after_read`)."""
    write_after_read(record_id, {"last_seen_at": now}, AuthSession.last_seen_at < now)


def write_after_read(record_id: int, values: dict, *conditions) -> None:
    """Store `values` on the session once the page is rendered and the read transaction has ended, in a short
    write of its own that waits at most a moment for the lock; if it fails (disk full, a long lock), the page
    is served all the same and only this note is lost."""

    def write() -> None:
        try:
            with db.engine.begin() as connection:
                if connection.dialect.name == "sqlite":
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={TOUCH_WAIT_MS}")
                try:
                    connection.execute(update(AuthSession)
                                       .where(AuthSession.id == record_id, AuthSession.ended_at.is_(None),
                                              *conditions)
                                       .values(**values))
                finally:
                    if connection.dialect.name == "sqlite":
                        connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except Exception:  # noqa: BLE001 - the page is served; only this note is lost
            log.warning("could not store %s on a session (the page was served)", ", ".join(values), exc_info=True)

    after_read(write)


def end(record: AuthSession, reason: str) -> None:
    if record.ended_at is None:
        record.ended_at = utcnow()
        record.end_reason = reason


def end_current(reason: str) -> None:
    """End this browser's session, if any, and forget its token (language and device id are kept)."""
    token = session.pop(COOKIE_KEY, None)
    if token:
        record = db.session.scalar(select(AuthSession).where(AuthSession.token_hash == _digest(token)))
        if record is not None:
            end(record, reason)


def find() -> AuthSession | None:
    """This browser's session record whatever its state (to tell 'just submitted' from 'timed out')."""
    token = session.get(COOKIE_KEY)
    if not token:
        return None
    return db.session.scalar(select(AuthSession).where(AuthSession.token_hash == _digest(token)))
