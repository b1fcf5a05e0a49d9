"""Schedule arithmetic: a participant's assessments follow from the anchor date and the timepoints."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..models import Assessment, Participant, Timepoint
from ..vocabulary import AssessmentStatus


def window(anchor: date, timepoint: Timepoint) -> tuple[date, date, date]:
    """Target date and window (first and last day, inclusive), in calendar days of the site."""
    target = anchor + timedelta(days=timepoint.target_day)
    return target, target - timedelta(days=timepoint.window_before), target + timedelta(days=timepoint.window_after)


def local_today(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def site_today(participant: Participant, now: datetime) -> date:
    """The calendar date at the participant's site: windows are site-local days, whatever the server's zone."""
    return local_today(participant.site.timezone, now)


def create_assessments(participant: Participant) -> list[Assessment]:
    """One assessment per timepoint of the participant's study."""
    created = []
    for timepoint in participant.study.timepoints:
        target, start, end = window(participant.anchor_date, timepoint)
        assessment = Assessment(participant=participant, timepoint=timepoint, target_date=target,
                                window_start=start, window_end=end)
        db.session.add(assessment)
        created.append(assessment)
    return created


def reschedule(participant: Participant, new_anchor: date) -> list[dict]:
    """Move the participant to a new anchor date. Only assessments still `scheduled` and never started move;
    started, completed and not-done ones keep their dates. Returns each move (assessment id, old and new
    dates as ISO strings) for the audit trail."""
    moves = []
    for assessment in db.session.scalars(select(Assessment).where(Assessment.participant_id == participant.id)):
        if assessment.status != AssessmentStatus.SCHEDULED or assessment.started_at is not None:
            continue
        old = (assessment.target_date, assessment.window_start, assessment.window_end)
        new = window(new_anchor, assessment.timepoint)
        if old == new:
            continue
        assessment.target_date, assessment.window_start, assessment.window_end = new
        keys = ("target_date", "window_start", "window_end")
        moves.append({"assessment_id": assessment.id,
                      "old": {k: v.isoformat() for k, v in zip(keys, old, strict=True)},
                      "new": {k: v.isoformat() for k, v in zip(keys, new, strict=True)}})
    participant.anchor_date = new_anchor
    return moves
