"""The audited changes staff make to participants: enrol, change site / language / anchor date, withdraw."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from .. import access, audit
from ..assessments.schedule import create_assessments, local_today, reschedule, site_today
from ..clock import utcnow
from ..extensions import db
from ..models import Participant, Site, Study, User
from ..search import code_contains
from ..studies.definition import StudyError
from ..vocabulary import Actor, ParticipantStatus


def site_named(sites: list[Site], code: str) -> Site | None:
    return next((s for s in sites if s.code == code), None)


def listed(user: User, study: Study, site: Site | None, *, search: str = "", arm: str = "",
           status: str = "") -> Select:
    """The study's participants the user may see (at one site, with a code containing `search`, in an arm,
    of a status, when given), by code, as a query to page through."""
    query = access.visible_participants(user).where(Participant.study_id == study.id)
    if site is not None:
        query = query.where(Participant.site_id == site.id)
    if search:
        query = query.where(code_contains(search))
    if arm:
        query = query.where(Participant.arm == arm)
    if status:
        query = query.where(Participant.status == status)
    return query.options(selectinload(Participant.site)).order_by(Participant.study_code)


class ParticipantError(StudyError):
    """A change to a participant that cannot be made; `messages` are whole, translated sentences."""


def participant_code_taken(study: Study, code: str, *, except_id: int | None = None) -> bool:
    query = select(Participant.id).where(Participant.study_id == study.id, Participant.study_code == code)
    if except_id is not None:
        query = query.where(Participant.id != except_id)
    return db.session.scalar(query) is not None


def enrol(study: Study, site: Site, study_code: str, language: str, anchor: date, user: User,
          reason: str | None = None) -> Participant:
    """Enrol a participant; the schedule (one assessment per timepoint) follows from the study."""
    if participant_code_taken(study, study_code):
        raise ParticipantError([_("Participant %(code)s is already enrolled in this study.", code=study_code)])
    participant = Participant(study=study, site=site, study_code=study_code, language=language,
                              anchor_date=anchor, enrolled_on=site_today_at(site))
    db.session.add(participant)
    db.session.flush()
    create_assessments(participant)
    db.session.flush()
    audit.record("participant.enrol", "participant", participant.id, actor=Actor.USER, user_id=user.id,
                 study_id=study.id, reason=reason,
                 new={"study_code": study_code, "site": site.code, "language": language,
                      "anchor_date": anchor.isoformat(), "enrolled_on": participant.enrolled_on.isoformat()})
    return participant


def site_today_at(site: Site) -> date:
    return local_today(site.timezone, utcnow())


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def change_participant(participant: Participant, *, site: Site, language: str, anchor: date, user: User,
                       reason: str, treatment_end: date | None = None, enrolled_on: date | None = None,
                       keep_dates: tuple[str, ...] = ()) -> dict:
    """Change site, language or anchor dates (start of treatment, end of treatment, enrolment; a name in
    `keep_dates` is left as it is; an empty enrolment date keeps the one there is). New anchor dates move
    only the assessments not yet started, and give the timepoints counting from a newly known date their
    assessment; the audit trail keeps the old and new
    dates of each. Returns the reschedule's {"moved", "kept", "added", "removed"} lists."""
    dates = {"treatment_end": treatment_end, "enrolled_on": enrolled_on}
    dates = {k: v for k, v in dates.items() if k not in keep_dates}
    if dates.get("enrolled_on", date.min) is None:
        del dates["enrolled_on"]  # left empty: the enrolment day stays (it is never unknown)
    old = {"site": participant.site.code, "language": participant.language,
           "anchor_date": participant.anchor_date.isoformat(), "treatment_end": _iso(participant.treatment_end),
           "enrolled_on": _iso(participant.enrolled_on)}
    participant.site, participant.site_id, participant.language = site, site.id, language
    changes = reschedule(participant, anchor, **dates)
    new = {"site": site.code, "language": language, "anchor_date": anchor.isoformat(),
           "treatment_end": _iso(participant.treatment_end), "enrolled_on": _iso(participant.enrolled_on)}
    if old != new:
        audit.record("participant.update", "participant", participant.id, actor=Actor.USER, user_id=user.id,
                     study_id=participant.study_id, old={k: v for k, v in old.items() if v != new[k]},
                     new={k: v for k, v in new.items() if v != old[k]}, reason=reason)
    for move in changes["moved"]:
        audit.record("assessment.reschedule", "assessment", move["assessment_id"], actor=Actor.USER,
                     user_id=user.id, study_id=participant.study_id, old=move["old"], new=move["new"],
                     reason=reason)
    for added in changes["added"]:
        audit.record("assessment.schedule", "assessment", added["assessment_id"], actor=Actor.USER,
                     user_id=user.id, study_id=participant.study_id, new=added["new"], reason=reason)
    for removed in changes["removed"]:  # an occurrence of a repeating timepoint after its end event
        audit.record("assessment.unschedule", "assessment", removed["assessment_id"], actor=Actor.USER,
                     user_id=user.id, study_id=participant.study_id, old=removed["old"] | {
                         "timepoint": removed["timepoint"], "occurrence": removed["occurrence"]}, reason=reason)
    db.session.flush()
    return changes


def withdraw(participant: Participant, user: User, reason: str, on: date | None = None,
             follow_up_continues: bool = False) -> None:
    """Withdraw (on a date, by default today at the site): the data stay; no assessment whose window ends
    after that date is expected, unless follow-up questionnaires continue."""
    if participant.status == ParticipantStatus.WITHDRAWN:
        raise ParticipantError([_("This participant has already been withdrawn.")])
    today = site_today(participant, utcnow())
    on = on or today
    if on > today:
        raise ParticipantError([_("The date of withdrawal cannot be in the future.")])
    participant.status, participant.withdrawn_reason = "withdrawn", reason[:500]
    participant.withdrawn_on, participant.follow_up_continues = on, follow_up_continues
    audit.record("participant.withdraw", "participant", participant.id, actor=Actor.USER, user_id=user.id,
                 study_id=participant.study_id, old={"status": "active"},
                 new={"status": "withdrawn", "withdrawn_on": on.isoformat(),
                      "follow_up_continues": follow_up_continues},
                 reason=reason)
    db.session.flush()


SUBJECT_FIELDS = ("consent_date", "arm", "death_date", "withdrawn_on", "withdrawn_reason", "follow_up_continues")


def _subject_data(participant: Participant) -> dict:
    values = {name: getattr(participant, name) for name in SUBJECT_FIELDS}
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in values.items()}


def change_subject_data(participant: Participant, *, user: User, reason: str, consent_date: date | None,
                        arm: str | None, death_date: date | None, withdrawn_on: date | None = None,
                        withdrawn_reason: str | None = None, follow_up_continues: bool = False) -> bool:
    """Enter or correct the subject data (audited with the reason, old and new values). A withdrawal's
    details change only for a withdrawn participant. Returns whether anything changed."""
    today = site_today(participant, utcnow())
    problems = []
    if arm and arm not in (participant.study.arms or ()):
        problems.append(_("Arm %(code)s is not one of this study's arms.", code=arm))
    for label, value in ((_("The date of informed consent"), consent_date), (_("The date of death"), death_date),
                         (_("The date of withdrawal"), withdrawn_on)):
        if value is not None and value > today:
            problems.append(_("%(field)s cannot be in the future.", field=label))
    if death_date and consent_date and death_date < consent_date:
        problems.append(_("The date of death cannot be before the date of informed consent."))
    withdrawn = participant.status == ParticipantStatus.WITHDRAWN
    if withdrawn and not (withdrawn_reason or "").strip():
        problems.append(_("A withdrawn participant needs a reason for withdrawal."))
    if problems:
        raise ParticipantError(problems)
    old = _subject_data(participant)
    participant.consent_date, participant.arm, participant.death_date = consent_date, arm or None, death_date
    if withdrawn:
        participant.withdrawn_on = withdrawn_on
        participant.withdrawn_reason = withdrawn_reason.strip()[:500]
        participant.follow_up_continues = follow_up_continues
    new = _subject_data(participant)
    if new == old:
        return False
    audit.record("participant.subject_data", "participant", participant.id, actor=Actor.USER, user_id=user.id,
                 study_id=participant.study_id, old={k: v for k, v in old.items() if v != new[k]},
                 new={k: v for k, v in new.items() if v != old[k]}, reason=reason)
    db.session.flush()
    return True
