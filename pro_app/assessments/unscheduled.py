"""Unscheduled assessments: staff add one for a participant at an unplanned visit (any of the study's
instruments, for an instrument with terms any terms of its library, a reason, a date). It opens on that
date for the tablet or paper like any other, is numbered after the scheduled visit it followed (visits.py), and
is never part of the planned schedule: compliance never counts it as expected, so never as missed."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import audit
from ..clock import utcnow
from ..extensions import db, library
from ..i18n import current_language
from ..models import Assessment, Participant, Timepoint, User
from ..studies.definition import StudyError
from ..visits import MAX_PER_VISIT, scheduled_visit
from ..vocabulary import Actor
from .schedule import site_today

#: An unscheduled assessment's date: up to a year ahead, or back to ten years (a visit keyed late on paper).
MAX_AHEAD_DAYS = 365
MAX_BACK_DAYS = 3650
MAX_REASON = 500


class UnscheduledError(StudyError):
    """An unscheduled assessment that cannot be added; `messages` are whole, translated sentences."""


def study_instruments(participant: Participant) -> list[str]:
    """The instruments an unscheduled assessment may ask: those the study's timepoints ask, in study order."""
    seen: list[str] = []
    for timepoint in participant.study.timepoints:
        for instrument in timepoint.instruments or ():
            if instrument not in seen and instrument in library.registry.ids:
                seen.append(instrument)
    return seen


def _visit_after(participant: Participant, on: date) -> int:
    """The visit number of the participant's last scheduled assessment with a target date on or before `on`
    (0: none)."""
    rows = db.session.execute(
        select(Timepoint.position, Timepoint.repeat_every, Assessment.occurrence, Assessment.target_date)
        .join(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .where(Assessment.participant_id == participant.id, Assessment.target_date <= on)).all()
    numbers = [scheduled_visit(position, occurrence, every is not None) for position, every, occurrence, _t in rows]
    return max(numbers, default=0)


def _check(participant: Participant, instruments: list[str], terms: dict[str, list[int]], reason: str,
           on: date | None) -> list[str]:
    errors = []
    allowed = study_instruments(participant)
    if not instruments:
        errors.append(_("Choose at least one instrument."))
    for instrument in instruments:
        if instrument not in allowed:
            errors.append(_("%(instrument)s is not one of this study's instruments.", instrument=instrument))
    for instrument_id, numbers in terms.items():
        instrument = library.get(instrument_id) if instrument_id in library.registry.ids else None
        if instrument is None or not instrument.selectable:
            errors.append(_("%(instrument)s has no terms to choose.", instrument=instrument_id))
            continue
        known = {t.number for t in instrument.terms}
        unknown = [str(n) for n in numbers if n not in known]
        if unknown:
            errors.append(_("Unknown terms of %(instrument)s: %(terms)s.",
                            instrument=instrument.title.get(current_language()), terms=", ".join(unknown)))
    if not reason.strip():
        errors.append(_("Give the reason for the unscheduled assessment."))
    elif len(reason) > MAX_REASON:
        errors.append(_("The reason may have at most %(max)d characters.", max=MAX_REASON))
    today = site_today(participant, utcnow())
    if on is None:
        errors.append(_("Give the date of the unscheduled assessment."))
    elif not today - timedelta(days=MAX_BACK_DAYS) <= on <= today + timedelta(days=MAX_AHEAD_DAYS):
        errors.append(_("The date must be within %(back)d days before and %(ahead)d days after today.",
                        back=MAX_BACK_DAYS, ahead=MAX_AHEAD_DAYS))
    return errors


def add_unscheduled(participant: Participant, *, instruments: list[str], reason: str, on: date | None,
                    user: User, terms: dict[str, list[int]] | None = None) -> Assessment:
    """Add an unscheduled assessment (UnscheduledError lists every problem). An instrument with terms asks the
    terms chosen for it, else the study's selection. Its window is its date; it is audited with its reason."""
    terms = {k: list(v) for k, v in (terms or {}).items() if v}
    errors = _check(participant, instruments, terms, reason, on)
    if errors:
        raise UnscheduledError(errors)
    after = _visit_after(participant, on)
    taken = db.session.scalar(select(func.max(Assessment.occurrence)).where(
        Assessment.participant_id == participant.id, Assessment.timepoint_id.is_(None),
        Assessment.visit_after == after)) or 0
    if taken >= MAX_PER_VISIT:
        raise UnscheduledError([_("This participant already has %(max)d unscheduled assessments after this visit.",
                                  max=MAX_PER_VISIT)])
    asked = {"instruments": list(instruments),
             "selections": {k: v for k, v in terms.items() if k in instruments}}
    assessment = Assessment(participant=participant, timepoint=None, occurrence=taken + 1, visit_after=after,
                            unscheduled_reason=reason.strip(), asked=asked, target_date=on, window_start=on,
                            window_end=on)
    db.session.add(assessment)
    db.session.flush()
    audit.record("assessment.add_unscheduled", "assessment", assessment.id, actor=Actor.USER, user_id=user.id,
                 study_id=participant.study_id, reason=reason.strip(),
                 new={"participant": participant.study_code, "date": on.isoformat(), "visit": assessment.visit_number,
                      **asked})
    return assessment
