"""The append-only audit trail: who did what, when, the old and new value, and why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..clock import utcnow
from ..database import UTCDateTime, one_of
from ..extensions import db
from ..vocabulary import Actor


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (one_of("actor", Actor),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(16))  # user | patient | system
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))  # the staff member, if any
    study_id: Mapped[int | None] = mapped_column(ForeignKey("study.id"), index=True)
    action: Mapped[str] = mapped_column(String(60))  # e.g. item.answer, item.change, assessment.submit
    entity: Mapped[str] = mapped_column(String(40))  # table name
    entity_id: Mapped[int | None] = mapped_column()
    old: Mapped[dict | None] = mapped_column(JSON)
    new: Mapped[dict | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(String(500))


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context, _instances) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("the audit trail is append-only")
