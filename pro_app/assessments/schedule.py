"""Schedule arithmetic: a participant's assessments follow from the dates of the study's anchor events
(enrolment, start and end of treatment) and the timepoints, each counting from one of them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..models import Assessment, Participant, Timepoint
from ..vocabulary import Anchor, AssessmentStatus


def window(anchor: date, timepoint: Timepoint) -> tuple[date, date, date]:
    """Target date and window (first and last day, inclusive), in calendar days of the site."""
    target = anchor + timedelta(days=timepoint.target_day)
    return target, target - timedelta(days=timepoint.window_before), target + timedelta(days=timepoint.window_after)


def local_today(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def site_today(participant: Participant, now: datetime) -> date:
    """The calendar date at the participant's site: windows are site-local days, whatever the server's zone."""
    return local_today(participant.site.timezone, now)


def anchor_dates(participant: Participant) -> dict[str, date | None]:
    """The participant's date of each anchor event; None where not yet known. Enrolment is the day entered,
    else the site-local day the participant was enrolled."""
    enrolled = participant.enrolled_on
    if enrolled is None and participant.created_at is not None:
        enrolled = local_today(participant.site.timezone, participant.created_at)
    return {Anchor.ENROLMENT: enrolled, Anchor.TREATMENT_START: participant.anchor_date,
            Anchor.TREATMENT_END: participant.treatment_end}


def anchor_of(timepoint: Timepoint) -> str:
    return timepoint.anchor or Anchor.TREATMENT_START


def create_assessments(participant: Participant) -> list[Assessment]:
    """One assessment per timepoint whose anchor date is known; the others are "awaiting date" (no
    assessment, not expected) until the date is entered (`reschedule`)."""
    created = []
    dates = anchor_dates(participant)
    for timepoint in participant.study.timepoints:
        anchor = dates.get(anchor_of(timepoint))
        if anchor is None:
            continue
        target, start, end = window(anchor, timepoint)
        assessment = Assessment(participant=participant, timepoint=timepoint, target_date=target,
                                window_start=start, window_end=end)
        db.session.add(assessment)
        created.append(assessment)
    return created


def awaiting(participant: Participant) -> list[Timepoint]:
    """The timepoints of the study without an assessment for the participant because their anchor event's
    date is not known yet."""
    dates = anchor_dates(participant)
    have = set(db.session.scalars(select(Assessment.timepoint_id).where(Assessment.participant_id == participant.id)))
    return [t for t in participant.study.timepoints if t.id not in have and dates.get(anchor_of(t)) is None]


def _iso(dates: tuple[date, date, date]) -> dict[str, str]:
    keys = ("target_date", "window_start", "window_end")
    return {k: v.isoformat() for k, v in zip(keys, dates, strict=True)}


def reschedule(participant: Participant, new_anchor: date | None = None, **new_dates: date | None) -> dict:
    """Give the participant new anchor dates (`new_anchor`: the start of treatment; `enrolled_on`,
    `treatment_end` by keyword). Only assessments still `scheduled` and never started move; started,
    completed and not-done ones keep their dates. A timepoint whose anchor date becomes known gets its
    assessment. Returns {"moved": [...], "kept": [...], "added": [...]}, each entry an assessment id with
    its timepoint code and dates as ISO strings, for the audit trail and the message shown."""
    if new_anchor is not None:
        participant.anchor_date = new_anchor
    for name, value in new_dates.items():
        setattr(participant, name, value)
    dates = anchor_dates(participant)
    result: dict[str, list[dict]] = {"moved": [], "kept": [], "added": []}
    existing = {a.timepoint_id: a for a in db.session.scalars(
        select(Assessment).where(Assessment.participant_id == participant.id))}
    for timepoint in participant.study.timepoints:
        anchor = dates.get(anchor_of(timepoint))
        assessment = existing.get(timepoint.id)
        if anchor is None:
            continue
        new = window(anchor, timepoint)
        if assessment is None:
            assessment = Assessment(participant=participant, timepoint=timepoint, target_date=new[0],
                                    window_start=new[1], window_end=new[2])
            db.session.add(assessment)
            db.session.flush()
            result["added"].append({"assessment_id": assessment.id, "timepoint": timepoint.code,
                                    "new": _iso(new)})
            continue
        old = (assessment.target_date, assessment.window_start, assessment.window_end)
        if old == new:
            continue
        entry = {"assessment_id": assessment.id, "timepoint": timepoint.code, "old": _iso(old)}
        if assessment.status != AssessmentStatus.SCHEDULED or assessment.started_at is not None:
            result["kept"].append(entry)
            continue
        assessment.target_date, assessment.window_start, assessment.window_end = new
        result["moved"].append(entry | {"new": _iso(new)})
    return result
