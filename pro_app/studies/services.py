"""The audited changes staff make to studies: create one, update it from a definition, import one."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import access, audit
from ..extensions import db
from ..models import Assessment, Participant, Site, Study, StudyGrant, Timepoint, User
from ..vocabulary import Actor, Role
from . import schedule_change
from .definition import StudyError, StudyExists, definition_of, parse_yaml, validate


def find(code: str) -> Study | None:
    return db.session.scalar(select(Study).where(Study.code == code))


def create_study(data: Any, user: User, reason: str | None = None) -> Study:
    clean = validate(data)
    if find(clean["code"]) is not None:
        raise StudyExists([_("A study with code %(code)s already exists.", code=clean["code"])])
    study = Study(code=clean["code"], title=clean["title"], anchor_event=clean["anchor_event"], arms=clean["arms"],
                  selections=clean["selections"], thresholds=clean["thresholds"], alert_rules=clean["alert_rules"],
                  alert_actions=clean["alert_actions"], alert_recipients=clean["alert_recipients"],
                  alert_digest=clean["alert_digest"], double_entry=clean["double_entry"])
    db.session.add(study)
    for site in clean["sites"]:
        db.session.add(Site(study=study, **site))
    for position, tp in enumerate(clean["timepoints"], start=1):
        db.session.add(Timepoint(study=study, position=position, **tp))
    db.session.flush()
    if user.role == Role.COORDINATOR:  # a study manager who creates a study manages it
        db.session.add(StudyGrant(user_id=user.id, study_id=study.id, site_id=None, manager=True))
        db.session.flush()
    db.session.refresh(study)
    audit.record("study.create", "study", study.id, actor=Actor.USER, user_id=user.id, study_id=study.id,
                 new=definition_of(study), reason=reason)
    return study


def _has_participants(site: Site) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(Participant).where(Participant.site_id == site.id)))


def _granted_to(site: Site) -> list[str]:
    """The e-mail addresses of the staff whose grant is limited to this site."""
    return list(db.session.scalars(select(User.email).join(StudyGrant, StudyGrant.user_id == User.id)
                                   .where(StudyGrant.site_id == site.id).order_by(User.email)))


def _has_assessments(timepoint: Timepoint) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(Assessment)
                                  .where(Assessment.timepoint_id == timepoint.id)))


def _removal_problems(study: Study, clean: dict[str, Any]) -> list[str]:
    """Sites and timepoints the definition drops although they are still in use."""
    problems = []
    wanted_sites = {s["code"] for s in clean["sites"]}
    for site in study.sites:
        if site.code in wanted_sites:
            continue
        if _has_participants(site):
            problems.append(_("Site %(code)s has participants and cannot be removed.", code=site.code))
        for email in _granted_to(site):
            problems.append(_("Site %(code)s is named in the grant of %(email)s and cannot be removed.",
                              code=site.code, email=email))
    assigned = db.session.scalars(select(Participant.arm).where(Participant.study_id == study.id,
                                                                Participant.arm.is_not(None)).distinct())
    for arm in sorted(set(assigned) - set(clean["arms"])):
        problems.append(_("Arm %(code)s has participants and cannot be removed.", code=arm))
    wanted_timepoints = {t["code"] for t in clean["timepoints"]}
    for timepoint in study.timepoints:
        if timepoint.code not in wanted_timepoints and _has_assessments(timepoint):
            problems.append(_("Timepoint %(code)s has assessments and cannot be removed.", code=timepoint.code))
    return problems


def _apply_sites(study: Study, entries: list[dict]) -> None:
    sites = {s.code: s for s in study.sites}
    wanted = {e["code"] for e in entries}
    for code, site in sites.items():
        if code not in wanted:
            db.session.delete(site)
    for entry in entries:
        site = sites.get(entry["code"])
        if site is None:
            db.session.add(Site(study=study, **entry))
        else:
            site.name, site.timezone = entry["name"], entry["timezone"]


def _apply_timepoints(study: Study, entries: list[dict]) -> None:
    """Add, change and remove timepoints as the definition says (their assessments: schedule_change)."""
    timepoints = {t.code: t for t in study.timepoints}
    wanted = {e["code"] for e in entries}
    for code, timepoint in timepoints.items():
        if code not in wanted:
            db.session.delete(timepoint)
    for position, entry in enumerate(entries, start=1):
        timepoint = timepoints.get(entry["code"])
        if timepoint is None:
            db.session.add(Timepoint(study=study, position=position, **entry))
            continue
        timepoint.position = position
        for field, value in entry.items():
            setattr(timepoint, field, value)


class ScheduleChange(StudyError):
    """A change to a live schedule that has not been confirmed (or whose preview is stale): `preview` says
    which assessments would move, and `clean` is the validated definition to confirm."""

    def __init__(self, preview: schedule_change.SchedulePreview, clean: dict[str, Any]):
        super().__init__([_("Check which assessments move and confirm the schedule change.")])
        self.preview, self.clean = preview, clean


def schedule_change_of(study: Study, data: Any) -> ScheduleChange:
    """The preview of what a definition would do to the study's schedule (StudyError: not a valid one)."""
    clean = validate(data)
    return ScheduleChange(schedule_change.preview(study, clean, _apply_timepoints), clean)


def update_study(study: Study, data: Any, user: User, reason: str, *, confirmation: str | None = None) -> Study:
    """Apply a definition to an existing study (same code). Sites and timepoints are matched by code; one
    still in use cannot be removed. When the schedule of a study with participants changes (a target day,
    window or anchor, or a new timepoint), nothing changes until `confirmation` is the fingerprint of the
    preview the user saw (ScheduleChange otherwise); then the assessments not yet started move and a new
    timepoint is added to the schedule of every active participant, as the preview listed."""
    clean = validate(data)
    if clean["code"] != study.code:
        raise StudyError([_("The study code cannot change (this is %(code)s).", code=study.code)])
    problems = _removal_problems(study, clean)
    if problems:
        raise StudyError(problems)
    shown = schedule_change.preview(study, clean, _apply_timepoints)
    if shown.needs_confirmation and confirmation != shown.fingerprint:
        raise ScheduleChange(shown, clean)
    old = definition_of(study)
    study.title, study.anchor_event, study.arms = clean["title"], clean["anchor_event"], clean["arms"]
    study.selections, study.thresholds = clean["selections"], clean["thresholds"]
    study.alert_rules = clean["alert_rules"]
    study.alert_actions, study.alert_recipients = clean["alert_actions"], clean["alert_recipients"]
    study.alert_digest, study.double_entry = clean["alert_digest"], clean["double_entry"]
    _apply_sites(study, clean["sites"])
    _apply_timepoints(study, clean["timepoints"])
    db.session.flush()
    db.session.expire(study)
    schedule_change.apply(study, shown)
    db.session.flush()
    new = definition_of(study)
    if new != old:
        if shown.needs_confirmation:
            new = {**new, "schedule_change": shown.counts()}
        audit.record("study.update", "study", study.id, actor=Actor.USER, user_id=user.id, study_id=study.id,
                     old=old, new=new, reason=reason)
    return study


def import_definition(text: str, user: User, reason: str | None, *, confirm_update: bool) -> tuple[Study, bool]:
    """Create the study a YAML definition describes, or update it when it exists and the update is
    confirmed (StudyExists otherwise; ScheduleChange when the update changes a live schedule, which the
    schedule preview confirms). Returns the study and whether it was created."""
    data = parse_yaml(text)
    clean = validate(data)
    existing = find(clean["code"])
    if existing is None:
        return create_study(clean, user, reason), True
    if not access.may_edit_study(user, existing):
        raise StudyError([_("You may not change study %(code)s: it needs a study-manager grant for it.",
                            code=existing.code)])
    if not confirm_update:
        raise StudyExists([_("Study %(code)s already exists. Confirm to update it from this file.",
                             code=existing.code)])
    if not reason:
        raise StudyError([_("Give a reason for the change.")])
    return update_study(existing, clean, user, reason), False


