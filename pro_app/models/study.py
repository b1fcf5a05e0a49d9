"""Studies, their sites and their timepoints (the schedule every participant follows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..database import UTCDateTime, one_of
from ..extensions import db, library
from ..instruments import Instrument
from ..vocabulary import Anchor, RepeatUnit


def default_thresholds() -> dict[str, dict[str, float]]:
    """The thresholds for clinical importance the instrument definitions carry (SCORING.md §3), as a new
    study's own, editable copy: {scale code: {"below": 83}, ...}."""
    thresholds: dict[str, dict[str, float]] = {}
    for instrument in library.registry:
        thresholds.update(instrument.default_thresholds())
    return thresholds


class Study(db.Model):
    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. an NCT number
    title: Mapped[str] = mapped_column(String(300))
    anchor_event: Mapped[str] = mapped_column(String(120), default="Start of radiotherapy")
    # Terms asked of each instrument with selectable items: {instrument id: [term numbers]}; an instrument not
    # named here is asked with its default term set.
    selections: Mapped[dict] = mapped_column(JSON, default=dict)
    arms: Mapped[list] = mapped_column(JSON, default=list)  # the study's arm or cohort codes, in order
    thresholds: Mapped[dict] = mapped_column(JSON, default=default_thresholds)
    #: The study's alert rules (alerts/rules.py); None: the defaults of the instrument definitions.
    alert_rules: Mapped[list | None] = mapped_column(JSON)
    #: The actions a nurse picks from when acknowledging an alert; None: alerts/services.DEFAULT_ACTIONS.
    alert_actions: Mapped[list | None] = mapped_column(JSON)
    #: Emails of the staff notified of urgent alerts (only those with access to the participant's site are).
    alert_recipients: Mapped[list | None] = mapped_column(JSON)
    #: Review-level alerts reach the recipients too, in one email an hour.
    alert_digest: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: Paper forms are keyed twice, by two staff members, and stored once both keyings agree (discrepancies
    #: resolved item by item with a reason).
    double_entry: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="study", order_by="Site.code")
    timepoints: Mapped[list[Timepoint]] = relationship(back_populates="study", order_by="Timepoint.position")

    @property
    def baseline_position(self) -> int | None:
        """The position of the baseline timepoint (the first one); None for a study with no timepoints."""
        return min((t.position for t in self.timepoints), default=None)

    def selection_of(self, instrument: Instrument) -> tuple[int, ...]:
        """The terms asked of an instrument with selectable items: the study's, else the default term set."""
        return tuple((self.selections or {}).get(instrument.id) or instrument.default_selection())


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
    __table_args__ = (UniqueConstraint("study_id", "code"), one_of("anchor", Anchor),
                      one_of("repeat_unit", RepeatUnit, nullable=True), one_of("repeat_until", Anchor, nullable=True),
                      CheckConstraint("repeat_every IS NULL OR repeat_unit IS NOT NULL", name="repeat_has_unit"))

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))  # baseline, wk12, …
    label: Mapped[str] = mapped_column(String(120))  # English
    label_es: Mapped[str | None] = mapped_column(String(120))  # Spanish; None: the English label
    position: Mapped[int] = mapped_column(default=0)  # order in the schedule; also the visit number
    #: The anchor event the target day counts from (vocabulary.Anchor): enrolment, start or end of treatment.
    anchor: Mapped[str] = mapped_column(String(32), default="treatment_start", server_default="treatment_start")
    target_day: Mapped[int] = mapped_column()  # days after the anchor's date (0 = the anchor day)
    window_before: Mapped[int] = mapped_column(default=0)  # days allowed before the target day
    window_after: Mapped[int] = mapped_column(default=0)  # days allowed after it
    instruments: Mapped[list] = mapped_column(JSON, default=list)  # instrument ids, in the order asked
    # A repeating timepoint: every `repeat_every` days or weeks from its first target day, until the date of
    # the `repeat_until` anchor event and/or for `repeat_count` occurrences (whichever ends first). None: once.
    repeat_every: Mapped[int | None] = mapped_column()
    repeat_unit: Mapped[str | None] = mapped_column(String(8))  # days | weeks
    repeat_until: Mapped[str | None] = mapped_column(String(32))  # an Anchor: no occurrence after its date
    repeat_count: Mapped[int | None] = mapped_column()  # at most this many occurrences (the first included)

    study: Mapped[Study] = relationship(back_populates="timepoints")

    @property
    def repeats(self) -> bool:
        return bool(self.repeat_every)

    @property
    def interval_days(self) -> int:
        """Days between two occurrences of a repeating timepoint (0 for one that happens once)."""
        if not self.repeat_every:
            return 0
        return self.repeat_every * (7 if self.repeat_unit == RepeatUnit.WEEKS else 1)

    def label_in(self, language: str) -> str:
        """The label in a language (the English one where no Spanish was given)."""
        return (self.label_es if language == "es" else None) or self.label
