"""Participants: pseudonymous, one site, a preferred language, an anchor date and their subject data (arm,
consent, withdrawal, death)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import utcnow
from ..database import UTCDateTime, one_of
from ..extensions import db
from ..instruments.model import LANGUAGES
from ..vocabulary import ParticipantStatus
from .study import Site, Study


class Participant(db.Model):
    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("study_id", "study_code"), one_of("status", ParticipantStatus),
                      one_of("language", LANGUAGES))

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    study_code: Mapped[str] = mapped_column(String(64))  # pseudonymous; never a name or record number
    language: Mapped[str] = mapped_column(String(8), default="en")  # preferred language: en | es
    anchor_date: Mapped[date] = mapped_column(Date)  # start of treatment (the study's anchor event), site-local
    enrolled_on: Mapped[date | None] = mapped_column(Date)  # site-local; None (older rows): the day created
    treatment_end: Mapped[date | None] = mapped_column(Date)  # end of study treatment, entered when known
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | withdrawn
    withdrawn_reason: Mapped[str | None] = mapped_column(String(500))
    # Subject data (CONSORT-PRO, ADSL): all optional, entered when known.
    arm: Mapped[str | None] = mapped_column(String(64))  # one of Study.arms (an arm or cohort code)
    consent_date: Mapped[date | None] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    follow_up_continues: Mapped[bool] = mapped_column(Boolean, default=False)  # questionnaires after withdrawal
    death_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    study: Mapped[Study] = relationship()
    site: Mapped[Site] = relationship()

    @property
    def questionnaires_continue(self) -> bool:
        """Whether questionnaires are still asked: alive, and on study or followed up after withdrawal."""
        if self.death_date is not None:
            return False
        return self.status == ParticipantStatus.ACTIVE or bool(self.follow_up_continues)
