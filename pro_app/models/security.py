"""Server-side sessions, patient start codes and throttling counters (all in the database)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..database import UTCDateTime, one_of
from ..extensions import db
from ..vocabulary import SessionKind


class AuthSession(db.Model):
    """A staff or patient session. The cookie holds only a random token; its hash is the key here,
    so deleting or revoking the row ends the session on every worker at once."""

    __tablename__ = "auth_session"
    __table_args__ = (one_of("kind", SessionKind),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # staff | patient
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)  # staff; or who handed over
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessment.id"), index=True)  # patient only
    language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))  # logout | idle | submitted | revoked | moved
    #: patient only: the browser it runs in ("tablet:<id>" for a registered tablet, else "browser:<random id>"),
    #: so an assessment open on one tablet is refused on a second
    device: Mapped[str | None] = mapped_column(String(40))


class PatientCode(db.Model):
    """A short code that starts (or resumes) one assessment on a tablet."""

    __tablename__ = "patient_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ThrottleEvent(db.Model):
    """One failed attempt (a wrong code, a wrong password), counted per key within a time window."""

    __tablename__ = "throttle_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), index=True)  # e.g. "code:<hash>", "tablet:<id>", "login:<email>"
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Tablet(db.Model):
    """A tablet registered by staff: a named, revocable device credential (a long random token in a cookie of
    that browser, stored here only as its hash). Code entry on a registered tablet is throttled for that
    tablet; an unregistered browser gets far fewer tries (kiosk/tablets.py)."""

    __tablename__ = "tablet"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    #: the last code entry or hand-over on it
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
