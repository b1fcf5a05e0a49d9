"""Studies, their sites and their timepoints (the schedule every participant follows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..database import UTCDateTime
from ..extensions import db

# Thresholds for clinical importance, QLQ-C30 (Giesinger 2020; SCORING.md §3): functioning scales flag
# below the threshold, symptom scales above it. Each study keeps its own, editable copy.
DEFAULT_THRESHOLDS = {
    "PF2": {"below": 83}, "RF2": {"below": 58}, "SF": {"below": 58}, "EF": {"below": 71}, "CF": {"below": 75},
    "FA": {"above": 39}, "PA": {"above": 25}, "NV": {"above": 8}, "SL": {"above": 50}, "DY": {"above": 17},
    "AP": {"above": 50}, "CO": {"above": 50}, "DI": {"above": 17}, "FI": {"above": 17},
}


class Study(db.Model):
    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. an NCT number
    title: Mapped[str] = mapped_column(String(300))
    anchor_event: Mapped[str] = mapped_column(String(120), default="Start of radiotherapy")
    proctcae_terms: Mapped[list] = mapped_column(JSON, default=list)  # PRO-CTCAE term numbers asked
    thresholds: Mapped[dict] = mapped_column(JSON, default=lambda: dict(DEFAULT_THRESHOLDS))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="study", order_by="Site.code")
    timepoints: Mapped[list[Timepoint]] = relationship(back_populates="study", order_by="Timepoint.position")


class Site(db.Model):
    __tablename__ = "site"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # IANA name; windows are site-local days

    study: Mapped[Study] = relationship(back_populates="sites")


class Timepoint(db.Model):
    __tablename__ = "timepoint"
    __table_args__ = (UniqueConstraint("study_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))  # baseline, wk12, …
    label: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)  # order in the schedule; also the visit number
    target_day: Mapped[int] = mapped_column()  # days after the anchor date (0 = the anchor day)
    window_before: Mapped[int] = mapped_column(default=0)  # days allowed before the target day
    window_after: Mapped[int] = mapped_column(default=0)  # days allowed after it
    instruments: Mapped[list] = mapped_column(JSON, default=list)  # instrument ids, in the order asked

    study: Mapped[Study] = relationship(back_populates="timepoints")
