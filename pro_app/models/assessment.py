"""Assessments (one participant at one timepoint), the answers given and the scores computed."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..database import UTCDateTime, utcnow
from ..extensions import db
from .participant import Participant
from .study import Timepoint

ASSESSMENT_STATUSES = ("scheduled", "open", "in_progress", "completed", "missed", "not_done")
MODES = ("self", "assisted", "paper")
#: Why an assessment was not done (SCORING.md §5); "other" needs a note.
NOT_DONE_REASONS = ("patient_refused", "too_ill", "staff_error", "outside_window", "device_failure", "other")


class Assessment(db.Model):
    __tablename__ = "assessment"
    __table_args__ = (UniqueConstraint("participant_id", "timepoint_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    timepoint_id: Mapped[int] = mapped_column(ForeignKey("timepoint.id"), index=True)
    target_date: Mapped[date] = mapped_column(Date)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    # Stored: scheduled, in_progress, completed, not_done. `open` and `missed` follow from the dates.
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    mode: Mapped[str | None] = mapped_column(String(16))  # self | assisted | paper
    # What is asked, fixed when the assessment starts: [{"instrument": id, "version": v, "items": [...]}]
    plan: Mapped[list | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_done_reason: Mapped[str | None] = mapped_column(String(40))
    not_done_note: Mapped[str | None] = mapped_column(String(500))

    participant: Mapped[Participant] = relationship()
    timepoint: Mapped[Timepoint] = relationship()
    responses: Mapped[list[ItemResponse]] = relationship(back_populates="assessment", order_by="ItemResponse.id")
    scores: Mapped[list[Score]] = relationship(back_populates="assessment", order_by="Score.id")

    def effective_status(self, today: date) -> str:
        """The status a coordinator sees on `today` (a site-local date)."""
        if self.status != "scheduled":
            return self.status
        if today < self.window_start:
            return "scheduled"
        return "open" if today <= self.window_end else "missed"


class ItemResponse(db.Model):
    """What happened to one item of one assessment. Changes are kept in the audit trail."""

    __tablename__ = "item_response"
    __table_args__ = (
        UniqueConstraint("assessment_id", "item_id"),
        # Lookups by assessment, and everything the exports read of a chunk of assessments (answers,
        # their language, item states) straight from the index: an export of millions of item rows then
        # never visits the table itself (bench/bench_export.py).
        Index("ix_item_response_assessment_answers", "assessment_id", "state", "item_id", "value", "language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"))
    instrument_id: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(40))
    item_id: Mapped[str] = mapped_column(String(40))
    value: Mapped[int | None] = mapped_column(Integer)  # the answer's value; None unless state is answered
    option_code: Mapped[str | None] = mapped_column(String(40))  # an extra option chosen (not_applicable, …)
    state: Mapped[str] = mapped_column(String(16))  # answered | declined | branched | not_applicable | not_reached
    language: Mapped[str] = mapped_column(String(8))  # language the item was shown in
    mode: Mapped[str] = mapped_column(String(16))  # self | assisted | paper
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assessment: Mapped[Assessment] = relationship(back_populates="responses")


class Score(db.Model):
    __tablename__ = "score"
    __table_args__ = (UniqueConstraint("assessment_id", "scale_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[str] = mapped_column(String(40))
    scoring_version: Mapped[str] = mapped_column(String(20))
    scale_code: Mapped[str] = mapped_column(String(40))
    value: Mapped[float | None] = mapped_column(Float(precision=53))  # unrounded; None unless scored
    status: Mapped[str] = mapped_column(String(16))  # scored | insufficient | not_applicable
    n_items: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assessment: Mapped[Assessment] = relationship(back_populates="scores")
