"""The append-only audit trail (models/audit.py holds the table): writing a record, and reading a filtered
page of records for the admins' view."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select

from ..clock import utcnow
from ..database import BUSY_TIMEOUT_MS
from ..extensions import db
from ..models import Alert, Assessment, AuditEvent, ItemResponse, Participant, Study, User
from ..search import code_contains
from ..transactions import after_read
from ..vocabulary import Actor

log = logging.getLogger(__name__)

#: How long the write of a read's audit record waits for SQLite's write lock (as a session's last-seen time).
READ_WAIT_MS = 250

#: Records per page of the audit view.
PER_PAGE = 50


def record(
    action: str,
    entity: str,
    entity_id: int | None,
    *,
    actor: str,
    user_id: int | None = None,
    study_id: int | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Add an audit record to the current transaction (it commits with the change it describes)."""
    event = AuditEvent(actor=actor, user_id=user_id, study_id=study_id, action=action, entity=entity,
                       entity_id=entity_id, old=old, new=new, reason=reason)
    db.session.add(event)
    return event


def record_read(action: str, entity: str, entity_id: int, *, user_id: int, study_id: int | None) -> None:
    """Record that a staff member opened a page of patient data (`read.report`, `read.assessment`,
    `read.alerts`). The page's read-only transaction does not write: the record is stored once the page is
    rendered, in a short transaction of its own; if that fails (disk full, a long lock) the page is served
    all the same and the failure is logged."""
    values = {"at": utcnow(), "actor": Actor.USER.value, "user_id": user_id, "study_id": study_id,
              "action": action, "entity": entity, "entity_id": entity_id}

    def write() -> None:
        try:
            with db.engine.begin() as connection:
                sqlite = connection.dialect.name == "sqlite"
                if sqlite:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout={READ_WAIT_MS}")
                try:
                    connection.execute(insert(AuditEvent).values(**values))
                finally:
                    if sqlite:
                        connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        except Exception:  # noqa: BLE001 - the page is served; only this record is lost, and said so
            log.error("could not record %s of %s %s by user %s (the page was served)", action, entity, entity_id,
                      user_id, exc_info=True)

    after_read(write)


@dataclass(frozen=True)
class Query:
    """What the admin asked for; None means any."""

    study_id: int | None = None
    user_id: int | None = None
    action: str | None = None
    start: date | None = None  # UTC dates, inclusive
    end: date | None = None
    participant: str | None = None  # part of a participant code: records of those participants and their data
    site_id: int | None = None  # records of the site's participants and their data
    arm: str | None = None  # records of the participants in that arm or cohort and their data


@dataclass(frozen=True)
class Page:
    rows: list[tuple[AuditEvent, str | None, str | None]]  # (record, staff email, study code)
    page: int
    pages: int
    total: int


def actions() -> list[str]:
    """Every action recorded so far, A to Z (for the filter)."""
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))


def _of_participants(query: Query):
    """Records about the participants the query names (code containing `participant`, at `site_id`, in
    `arm`), their assessments, the answers and the alerts of those assessments."""
    people = select(Participant.id)
    if query.participant:
        people = people.where(code_contains(query.participant))
    if query.site_id is not None:
        people = people.where(Participant.site_id == query.site_id)
    if query.arm:
        people = people.where(Participant.arm == query.arm)
    visits = select(Assessment.id).where(Assessment.participant_id.in_(people))
    return or_(and_(AuditEvent.entity == "participant", AuditEvent.entity_id.in_(people)),
               and_(AuditEvent.entity == "assessment", AuditEvent.entity_id.in_(visits)),
               and_(AuditEvent.entity == "alert",
                    AuditEvent.entity_id.in_(select(Alert.id).where(Alert.assessment_id.in_(visits)))),
               and_(AuditEvent.entity == "item_response",
                    AuditEvent.entity_id.in_(select(ItemResponse.id).where(ItemResponse.assessment_id.in_(visits)))))


def search(query: Query, page: int) -> Page:
    """One page of the records that match, most recent first (`page` is clamped to the pages there are)."""
    stmt = select(AuditEvent)
    if query.study_id is not None:
        stmt = stmt.where(AuditEvent.study_id == query.study_id)
    if query.user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == query.user_id)
    if query.action:
        stmt = stmt.where(AuditEvent.action == query.action)
    if query.participant or query.site_id is not None or query.arm:
        stmt = stmt.where(_of_participants(query))
    if query.start:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(query.start, time.min, UTC))
    if query.end:
        stmt = stmt.where(AuditEvent.at < datetime.combine(query.end + timedelta(days=1), time.min, UTC))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    events = db.session.scalars(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                                .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    emails = dict(db.session.execute(select(User.id, User.email)).all())
    codes = dict(db.session.execute(select(Study.id, Study.code)).all())
    return Page([(e, emails.get(e.user_id), codes.get(e.study_id)) for e in events], page, pages, total)
