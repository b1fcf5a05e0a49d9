"""Alerts raised from an assessment's answers and scores, for a clinician's attention."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..database import UTCDateTime, one_of
from ..extensions import db
from ..vocabulary import AlertKind, AlertStatus, NotificationChannel, NotificationStatus
from .assessment import Assessment


class Alert(db.Model):
    __tablename__ = "alert"
    __table_args__ = (one_of("kind", AlertKind), one_of("status", AlertStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # grade_at_least | item_value | threshold (vocabulary.AlertKind)
    urgency: Mapped[int] = mapped_column(default=2)  # 1 is the most urgent (the rule says)
    source: Mapped[str] = mapped_column(String(40))  # the scale code or item id that triggered it
    value: Mapped[float | None] = mapped_column(Float(precision=53))
    # Worsening rules: the participant's baseline value it was compared with, as raised (None: no such rule).
    baseline_value: Mapped[float | None] = mapped_column(Float(precision=53))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | acknowledged
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(String(1000))
    action: Mapped[str | None] = mapped_column(String(120))  # the action taken, from the study's list

    assessment: Mapped[Assessment] = relationship()


class AlertNotification(db.Model):
    """One recipient's email about one alert: sent on its own (urgent) or in the digest (review), after the
    transaction that raised the alert commits (alerts/notify.py)."""

    __tablename__ = "alert_notification"
    __table_args__ = (UniqueConstraint("alert_id", "user_id"), one_of("channel", NotificationChannel),
                      one_of("status", NotificationStatus))

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))  # the relay's answer to the last failed attempt
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: A failed attempt is tried again from then on (the backoff of alerts/notify.py); None: at once.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set while one process is sending it: no other picks it up before then (never two emails).
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    alert: Mapped[Alert] = relationship()
