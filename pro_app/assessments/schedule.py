"""Schedule arithmetic: a participant's assessments follow from the dates of the study's anchor events
(enrolment, start and end of treatment) and the timepoints, each counting from one of them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db
from ..models import Assessment, AuthSession, Participant, PatientCode, Timepoint
from ..studies.limits import MAX_DAYS, MAX_REPEATS
from ..visits import visit_number_sql
from ..vocabulary import Anchor, AssessmentStatus

#: The visit number of an assessment (visits.py), in SQL (with Timepoint outer-joined): lists and exports are in
#: visit order, an unscheduled assessment after the visit it followed.
VISIT = visit_number_sql(Timepoint.position, Timepoint.repeat_every, Assessment.occurrence, Assessment.visit_after,
                         Assessment.timepoint_id).label("visit")
#: The timepoint filter's name for the unscheduled assessments (lists and exports).
UNSCHEDULED = "unscheduled"


def window(anchor: date, timepoint: Timepoint, occurrence: int = 1) -> tuple[date, date, date]:
    """Target date and window (first and last day, inclusive), in calendar days of the site; for a repeating
    timepoint, of its `occurrence`-th time (every interval from the first target day)."""
    day = timepoint.target_day + ((occurrence - 1) * timepoint.interval_days if occurrence > 1 else 0)
    target = anchor + timedelta(days=day)
    return target, target - timedelta(days=timepoint.window_before), target + timedelta(days=timepoint.window_after)


def occurrences(timepoint: Timepoint, dates: dict[str, date | None]) -> dict[int, tuple[date, date, date]]:
    """{occurrence: (target, first day, last day)} of the timepoint for a participant with these anchor dates;
    empty while its anchor's date is unknown. A repeating timepoint occurs every interval until the date of
    its end event (an occurrence on that day included, none after), for at most `repeat_count` times, and
    never more than MAX_REPEATS times or past MAX_DAYS from the anchor (the bounds studies are saved with).
    While the end event's date is unknown every occurrence the bounds allow is scheduled; the ones after the
    date, once entered, are taken off the schedule again (`sync`)."""
    anchor = dates.get(anchor_of(timepoint))
    if anchor is None:
        return {}
    if not timepoint.repeats:
        return {1: window(anchor, timepoint)}
    until = dates.get(timepoint.repeat_until) if timepoint.repeat_until else None
    limit = min(timepoint.repeat_count or MAX_REPEATS, MAX_REPEATS)
    found = {}
    for occurrence in range(1, limit + 1):
        day = timepoint.target_day + (occurrence - 1) * timepoint.interval_days
        if abs(day) > MAX_DAYS:
            break
        dates_of = window(anchor, timepoint, occurrence)
        if until is not None and dates_of[0] > until:
            break
        found[occurrence] = dates_of
    return found


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


def _assessment(participant: Participant, timepoint: Timepoint, occurrence: int,
                dates: tuple[date, date, date]) -> Assessment:
    assessment = Assessment(participant=participant, timepoint=timepoint, occurrence=occurrence,
                            target_date=dates[0], window_start=dates[1], window_end=dates[2])
    db.session.add(assessment)
    return assessment


def create_assessments(participant: Participant) -> list[Assessment]:
    """One assessment per occurrence of each timepoint whose anchor date is known; the others are "awaiting
    date" (no assessment, not expected) until the date is entered (`reschedule`)."""
    created = []
    dates = anchor_dates(participant)
    for timepoint in participant.study.timepoints:
        for occurrence, window_of in occurrences(timepoint, dates).items():
            created.append(_assessment(participant, timepoint, occurrence, window_of))
    return created


def awaiting(participant: Participant) -> list[Timepoint]:
    """The timepoints of the study without an assessment for the participant because their anchor event's
    date is not known yet."""
    dates = anchor_dates(participant)
    have = set(db.session.scalars(select(Assessment.timepoint_id).where(Assessment.participant_id == participant.id,
                                                                        Assessment.timepoint_id.is_not(None))))
    return [t for t in participant.study.timepoints if t.id not in have and dates.get(anchor_of(t)) is None]


def _iso(dates: tuple[date, date, date]) -> dict[str, str]:
    keys = ("target_date", "window_start", "window_end")
    return {k: v.isoformat() for k, v in zip(keys, dates, strict=True)}


def untouched(assessment: Assessment) -> bool:
    """Still `scheduled`, never started, no code issued and no tablet session: nothing was given or handed
    out, so its dates may move and an occurrence no longer due may leave the schedule."""
    if assessment.status != AssessmentStatus.SCHEDULED or assessment.started_at is not None or assessment.plan:
        return False
    if assessment.id is None:
        return True
    for model in (PatientCode, AuthSession):
        if db.session.scalar(select(model.id).where(model.assessment_id == assessment.id).limit(1)) is not None:
            return False
    return True


def sync(participant: Participant, timepoints: list[Timepoint] | None = None, *, add: bool = True) -> dict:
    """Bring the participant's assessments of `timepoints` (default: all the study's) in line with the
    anchor dates: untouched ones move to their new dates, missing occurrences are added (with `add`), and
    untouched occurrences that are no longer due (after a repeating timepoint's end event) are removed;
    assessments already started, done or handed out keep their dates. Returns {"moved", "kept", "added",
    "removed"}, each entry an assessment id with its timepoint code, occurrence and dates as ISO strings."""
    dates = anchor_dates(participant)
    result: dict[str, list[dict]] = {"moved": [], "kept": [], "added": [], "removed": []}
    existing = {(a.timepoint_id, a.occurrence): a for a in db.session.scalars(
        select(Assessment).where(Assessment.participant_id == participant.id, Assessment.timepoint_id.is_not(None)))}
    for timepoint in participant.study.timepoints if timepoints is None else timepoints:
        wanted = occurrences(timepoint, dates)
        if dates.get(anchor_of(timepoint)) is None:
            continue  # its date is not known (any more): what there is stays as it is
        for occurrence, new in wanted.items():
            assessment = existing.get((timepoint.id, occurrence))
            if assessment is None:
                if not add:
                    continue
                assessment = _assessment(participant, timepoint, occurrence, new)
                db.session.flush()
                result["added"].append({"assessment_id": assessment.id, "timepoint": timepoint.code,
                                        "occurrence": occurrence, "new": _iso(new)})
                continue
            old = (assessment.target_date, assessment.window_start, assessment.window_end)
            if old == new:
                continue
            entry = {"assessment_id": assessment.id, "timepoint": timepoint.code, "occurrence": occurrence,
                     "old": _iso(old)}
            if assessment.status != AssessmentStatus.SCHEDULED or assessment.started_at is not None:
                result["kept"].append(entry)
                continue
            assessment.target_date, assessment.window_start, assessment.window_end = new
            result["moved"].append(entry | {"new": _iso(new)})
        for (timepoint_id, occurrence), assessment in sorted(existing.items()):
            if timepoint_id != timepoint.id or occurrence in wanted:
                continue
            entry = {"assessment_id": assessment.id, "timepoint": timepoint.code, "occurrence": occurrence,
                     "old": _iso((assessment.target_date, assessment.window_start, assessment.window_end))}
            if untouched(assessment):
                db.session.delete(assessment)
                result["removed"].append(entry)
            else:
                result["kept"].append(entry)
    db.session.flush()
    return result


def reschedule(participant: Participant, new_anchor: date | None = None, **new_dates: date | None) -> dict:
    """Give the participant new anchor dates (`new_anchor`: the start of treatment; `enrolled_on`,
    `treatment_end` by keyword) and bring the schedule in line (`sync`): only assessments still `scheduled`
    and never started move; started, completed and not-done ones keep their dates. A timepoint whose anchor
    date becomes known gets its assessments; an end event's date takes the occurrences after it off the
    schedule."""
    if new_anchor is not None:
        participant.anchor_date = new_anchor
    for name, value in new_dates.items():
        setattr(participant, name, value)
    return sync(participant)


def schedule_labels(study, language: str) -> dict[tuple[str, int], str]:
    """{(timepoint code, occurrence): label} for the changes `sync` reports, as staff pages name the visits
    ("Every 4 weeks 3" for the third occurrence of a repeating timepoint)."""
    labels = {}
    for timepoint in study.timepoints:
        for occurrence in range(1, (MAX_REPEATS if timepoint.repeats else 1) + 1):
            label = timepoint.label_in(language)
            labels[(timepoint.code, occurrence)] = f"{label} {occurrence}" if timepoint.repeats else label
    return labels
