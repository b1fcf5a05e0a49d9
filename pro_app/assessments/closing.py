"""Closing an assessment that was started but never submitted (SCORING.md §5, DESIGN.md's vocabulary).

When its window has closed, or when staff close it, an `in_progress` assessment becomes `partial` if any item
was answered: every item with no response is `not_reached` (or `branched` where the branching rules skip
it) and it is scored by the one engine, so the half rule decides each scale. With no answer at all it
becomes `missed` (its items `not_reached`, no scores). `pro-app assessments close-expired` and the start of
`pro-app serve` close every expired one; running it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from .. import audit
from ..alerts.rules import raise_alerts
from ..clock import utcnow
from ..extensions import db
from ..models import Assessment, Participant, Site
from ..security import codes
from ..vocabulary import Actor, AssessmentStatus, ItemState
from .answers import ensure_plan, instrument_of, lock, responses_by_item
from .completion import settle_states, store_scores
from .schedule import local_today


class NotStarted(Exception):
    """Only a started, unsubmitted assessment can be closed this way."""


def close(assessment: Assessment, *, actor: str, user_id: int | None = None, reason: str) -> str:
    """Close a started assessment that was not submitted: `partial` (scored) with answers, else `missed`.
    Returns the new status. Audited with the actor and reason; the assessment's codes stop working."""
    if assessment.status != AssessmentStatus.IN_PROGRESS:
        raise NotStarted(assessment.status)
    rows = responses_by_item(assessment)
    answered = sum(r.state == ItemState.ANSWERED for r in rows.values())
    language = assessment.participant.language
    for part in ensure_plan(assessment):
        instrument = instrument_of(part)
        settle_states(assessment, instrument, part, rows, language)
        if answered:
            store_scores(assessment, instrument, part, rows)
    assessment.status = AssessmentStatus.PARTIAL if answered else AssessmentStatus.MISSED
    codes.revoke_all(assessment)
    db.session.flush()
    if answered:
        raise_alerts(assessment)
    audit.record(f"assessment.{assessment.status}", "assessment", assessment.id, actor=actor, user_id=user_id,
                 study_id=assessment.participant.study_id, old={"status": "in_progress"},
                 new={"status": assessment.status, "answered": answered},
                 reason=reason)
    return assessment.status


@dataclass(frozen=True)
class Closed:
    partial: int = 0
    missed: int = 0


def expired_ids(now: datetime) -> list[int]:
    """Started, unsubmitted assessments whose window ended before today at their site."""
    zones = db.session.scalars(select(Site.timezone).distinct()).all()
    ended = [and_(Site.timezone == zone, Assessment.window_end < local_today(zone, now)) for zone in zones]
    if not ended:
        return []
    return list(db.session.scalars(
        select(Assessment.id).join(Participant, Assessment.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .where(Assessment.status == AssessmentStatus.IN_PROGRESS, or_(*ended)).order_by(Assessment.id)))


def close_expired(now: datetime | None = None) -> Closed:
    """Close every expired, started assessment, one short transaction each (the tablets keep answering).
    Idempotent: an assessment already closed, or submitted meanwhile, is left as it is."""
    now = now or utcnow()
    counts = {"partial": 0, "missed": 0}
    for assessment_id in expired_ids(now):
        assessment = lock(assessment_id)
        if assessment is None or assessment.status != AssessmentStatus.IN_PROGRESS:
            db.session.rollback()
            continue
        status = close(assessment, actor=Actor.SYSTEM,
                       reason="the window closed before the assessment was submitted")
        db.session.commit()
        counts[status] += 1
    db.session.commit()
    return Closed(**counts)
