"""Assessments (one participant at one timepoint), the answers given and the scores computed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import gettext as _
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from ..clock import utcnow
from ..database import UTCDateTime, one_of
from ..extensions import db
from ..instruments.model import LANGUAGES, ItemState, ScoreStatus
from ..visits import scheduled_visit, unscheduled_visit, visit_code
from ..vocabulary import STORED_ASSESSMENT_STATUSES, AssessmentStatus, Mode, NotDoneReason
from .participant import Participant
from .study import Timepoint
from .user import User

ASSESSMENT_STATUSES = tuple(s.value for s in AssessmentStatus)
MODES = tuple(m.value for m in Mode)
#: Why an assessment was not done (SCORING.md §5); "other" needs a note.
NOT_DONE_REASONS = tuple(r.value for r in NotDoneReason)


@dataclass(frozen=True)
class PlanPart:
    """One instrument of an assessment's plan: its version and the items asked, in order."""

    instrument: str
    version: str
    items: tuple[str, ...]


#: What an assessment asks, fixed when it starts: its instruments in the order asked.
Plan = tuple[PlanPart, ...]


class PlanType(TypeDecorator):
    """A Plan stored as JSON: [{"instrument": id, "version": v, "items": [...]}, ...]."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Plan | None, dialect):
        if value is None:
            return None
        return [{"instrument": p.instrument, "version": p.version, "items": list(p.items)} for p in value]

    def process_result_value(self, value, dialect) -> Plan | None:
        if value is None:
            return None
        return tuple(PlanPart(p["instrument"], p["version"], tuple(p["items"])) for p in value)


class Assessment(db.Model):
    __tablename__ = "assessment"
    __table_args__ = (
        # One assessment per occurrence of a timepoint; unscheduled ones have no timepoint (NULLs never clash).
        UniqueConstraint("participant_id", "timepoint_id", "occurrence"),
        CheckConstraint("timepoint_id IS NOT NULL OR unscheduled_reason IS NOT NULL", name="scheduled_or_reason"),
        one_of("status", STORED_ASSESSMENT_STATUSES),
        one_of("mode", Mode, nullable=True),
        one_of("not_done_reason", NotDoneReason, nullable=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    #: None for an unscheduled assessment (staff added it: `unscheduled_reason`, `asked`)
    timepoint_id: Mapped[int | None] = mapped_column(ForeignKey("timepoint.id"), index=True)
    #: which occurrence of a repeating timepoint (1 for the first, and for a timepoint that happens once); for
    #: an unscheduled assessment its number among the participant's unscheduled ones (UNSCHEDULED n)
    occurrence: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    #: an unscheduled assessment's place in the visit numbers: the number of the participant's scheduled visit
    #: it came after (0: before any); its VISITNUM is this + occurrence / 100 (CDISC: 2.01, 2.02 …)
    visit_after: Mapped[int | None] = mapped_column(Integer)
    #: why staff added an unscheduled assessment (an unplanned visit, a symptom call …)
    unscheduled_reason: Mapped[str | None] = mapped_column(String(500))
    #: what an unscheduled assessment asks: {"instruments": [ids], "selections": {instrument id: [terms]}}
    asked: Mapped[dict | None] = mapped_column(JSON)
    target_date: Mapped[date] = mapped_column(Date)
    window_start: Mapped[date] = mapped_column(Date)
    window_end: Mapped[date] = mapped_column(Date)
    # Stored: scheduled, in_progress, completed, partial, missed, not_done (assessments/status.py shows them).
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    #: staff confirmed starting it (a code, paper, not done) before its window opened: flagged in exports
    early: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    mode: Mapped[str | None] = mapped_column(String(16))  # self | assisted | paper
    plan: Mapped[Plan | None] = mapped_column(PlanType)  # what is asked, fixed when the assessment starts
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_done_reason: Mapped[str | None] = mapped_column(String(40))
    not_done_note: Mapped[str | None] = mapped_column(String(500))
    # A paper form keyed in by staff: completed_at is the date on the paper; when and by whom it was keyed,
    # who gave the patient the form (or read it aloud), and with double data entry who keyed it the second time.
    keyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    administered_by: Mapped[str | None] = mapped_column(String(120))

    participant: Mapped[Participant] = relationship()
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    timepoint: Mapped[Timepoint | None] = relationship()
    responses: Mapped[list[ItemResponse]] = relationship(back_populates="assessment", order_by="ItemResponse.id")
    scores: Mapped[list[Score]] = relationship(back_populates="assessment", order_by="Score.id")

    @property
    def unscheduled(self) -> bool:
        return self.timepoint_id is None and self.timepoint is None

    @property
    def instruments(self) -> list[str]:
        """The instrument ids asked, in order: the timepoint's, or those staff chose for an unscheduled one."""
        if self.timepoint is not None:
            return list(self.timepoint.instruments)
        return list((self.asked or {}).get("instruments") or [])

    @property
    def visit_number(self) -> float:
        """The visit number the exports carry (VISITNUM, AVISITN, `visit`): see assessments/visits.py."""
        if self.timepoint is None:
            return unscheduled_visit(self.visit_after or 0, self.occurrence)
        return scheduled_visit(self.timepoint.position, self.occurrence, self.timepoint.repeats)

    def visit_label(self, language: str = "en") -> str:
        """How staff pages name the visit: the timepoint's label (with the occurrence of a repeating one), or
        "Unscheduled 2.01" (after visit 2)."""
        if self.timepoint is None:
            return _("Unscheduled %(visit)s", visit=visit_code(self.visit_number))
        label = self.timepoint.label_in(language)
        return f"{label} {self.occurrence}" if self.timepoint.repeats else label

    def effective_status(self, today: date) -> str:
        """The status a coordinator sees on `today` (a site-local date): assessments/status.py's one rule."""
        from ..assessments.status import displayed_status

        return displayed_status(self.status, self.window_start, self.window_end, today, bool(self.early))


class ItemResponse(db.Model):
    """What happened to one item of one assessment. Changes are kept in the audit trail."""

    __tablename__ = "item_response"
    __table_args__ = (
        UniqueConstraint("assessment_id", "item_id"),
        # Lookups by assessment, and everything the exports read of a chunk of assessments (answers,
        # their language, item states) straight from the index: an export of millions of item rows then
        # never visits the table itself (bench/bench_export.py).
        Index("ix_item_response_assessment_answers", "assessment_id", "state", "item_id", "value", "language"),
        one_of("state", ItemState),
        one_of("mode", Mode),
        one_of("language", LANGUAGES),
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
    #: when the item's page was shown for this answer (tablet only; None for paper entry and older rows)
    shown_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the last staff correction of this answer (answered_at keeps the time it was first given)
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    correction_reason: Mapped[str | None] = mapped_column(String(500))
    #: the tablet page's idempotency key of the request that stored this response (kiosk send.js): the same
    #: request sent again after a dropped connection is recognised and stores nothing (None: paper, staff)
    request_key: Mapped[str | None] = mapped_column(String(64))

    assessment: Mapped[Assessment] = relationship(back_populates="responses")


class Score(db.Model):
    __tablename__ = "score"
    __table_args__ = (
        UniqueConstraint("assessment_id", "scale_code"),
        # The study results group every scored value by scale and value (results/services.py): read in this
        # index's order, SQLite groups them without sorting two million rows, and never visits the table.
        Index("ix_score_scored_values", "status", "scale_code", "value", "assessment_id"),
        one_of("status", ScoreStatus),
    )

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


class PaperKeying(db.Model):
    """One keying of a paper form under double data entry (studies with `double_entry`): the first and the
    second keying, each by its own staff member, kept as keyed; the assessment is stored only once they
    agree or each discrepancy is resolved (`used_at` then set). The audit trail has each keying too."""

    __tablename__ = "paper_keying"
    __table_args__ = (one_of("mode", Mode), one_of("language", LANGUAGES))

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(ForeignKey("assessment.id"), index=True)
    round: Mapped[int] = mapped_column(Integer)  # 1: first keying; 2: second (blind) keying
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    keyed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_on: Mapped[date] = mapped_column(Date)  # the date on the paper
    mode: Mapped[str] = mapped_column(String(16))
    administered_by: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(8))
    answers: Mapped[dict] = mapped_column(JSON)  # item id -> the choice key keyed ("" for blank)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when the assessment was stored from it

    user: Mapped[User] = relationship()
