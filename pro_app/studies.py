"""Study definitions and enrolment: a study to and from a plain dict / YAML, its validation, and the audited
changes staff make (create and update a study, enrol, change and withdraw a participant). Views stay thin."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from flask_babel import gettext as _
from sqlalchemy import func, select

from . import audit
from .assessments.schedule import create_assessments, reschedule, window
from .extensions import db
from .instruments import get_registry
from .models import DEFAULT_THRESHOLDS, Assessment, Participant, Site, Study, Timepoint, User

FORMAT_VERSION = 1
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
TOP_FIELDS = ("format", "code", "title", "anchor_event", "sites", "timepoints", "proctcae_terms", "thresholds")
SITE_FIELDS = ("code", "name", "timezone")
TIMEPOINT_FIELDS = ("code", "label", "target_day", "window_before", "window_after", "instruments")
LANGUAGES = ("en", "es")


class StudyError(ValueError):
    """A definition or change that cannot be accepted; `messages` are whole, translated sentences."""

    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


class StudyExists(StudyError):
    """An import names a study that already exists and the update was not confirmed."""


# --- definition <-> dict / YAML -------------------------------------------------------------------------

def definition_of(study: Study) -> dict[str, Any]:
    """The study as plain data, in the order a reader expects (the YAML export and the audit trail)."""
    return {
        "format": FORMAT_VERSION,
        "code": study.code,
        "title": study.title,
        "anchor_event": study.anchor_event,
        "sites": [{"code": s.code, "name": s.name, "timezone": s.timezone} for s in study.sites],
        "timepoints": [
            {"code": t.code, "label": t.label, "target_day": t.target_day, "window_before": t.window_before,
             "window_after": t.window_after, "instruments": list(t.instruments)}
            for t in sorted(study.timepoints, key=lambda t: t.position)
        ],
        "proctcae_terms": list(study.proctcae_terms or []),
        "thresholds": {code: dict(rule) for code, rule in (study.thresholds or {}).items()},
    }


def to_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)


def parse_yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text) if text and text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        raise StudyError([_("The text is not valid YAML (near line %(line)d).", line=line)]) from None


# --- validation -----------------------------------------------------------------------------------------

def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,6}", value.strip()):
        return int(value)
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value).strip())


def _validate_sites(raw: Any, errors: list[str]) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errors.append(_("At least one site is required, each with a code, a name and a time zone."))
        return []
    sites, seen = [], set()
    for position, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not _text(entry.get("code")) or not _text(entry.get("name")):
            errors.append(_("Site %(position)d needs a code and a name.", position=position))
            continue
        code, zone = _text(entry["code"]), _text(entry.get("timezone")) or "UTC"
        for field in entry:
            if field not in SITE_FIELDS:
                errors.append(_("Site %(code)s has an unknown field: %(field)s.", code=code, field=field))
        if not CODE_PATTERN.fullmatch(code) or len(code) > 32:
            errors.append(_("Site code %(code)s may use only letters, digits, dots, dashes and underscores "
                            "(at most 32).", code=code))
        if code in seen:
            errors.append(_("Site code %(code)s appears more than once.", code=code))
        seen.add(code)
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            errors.append(_("Site %(code)s has an unknown time zone: %(timezone)s.", code=code, timezone=zone))
        sites.append({"code": code, "name": _text(entry["name"])[:200], "timezone": zone})
    return sites


def _validate_timepoints(raw: Any, errors: list[str]) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errors.append(_("At least one timepoint is required."))
        return []
    known = get_registry().ids
    timepoints, seen = [], set()
    for position, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict) or not _text(entry.get("code")):
            errors.append(_("Timepoint %(position)d needs a code.", position=position))
            continue
        code = _text(entry["code"])
        for field in entry:
            if field not in TIMEPOINT_FIELDS:
                errors.append(_("Timepoint %(code)s has an unknown field: %(field)s.", code=code, field=field))
        if not CODE_PATTERN.fullmatch(code) or len(code) > 32:
            errors.append(_("Timepoint code %(code)s may use only letters, digits, dots, dashes and underscores "
                            "(at most 32).", code=code))
        if code in seen:
            errors.append(_("Timepoint code %(code)s appears more than once.", code=code))
        seen.add(code)
        numbers = {}
        for field, default in (("target_day", None), ("window_before", 0), ("window_after", 0)):
            value = entry.get(field, default)
            number = _whole_number(value)
            if number is None:
                errors.append(_("Timepoint %(code)s: %(field)s must be a whole number of days.",
                                code=code, field=field))
            numbers[field] = number
        if any(n is not None and n < 0 for n in (numbers["window_before"], numbers["window_after"])):
            errors.append(_("Timepoint %(code)s: a window before or after the target day cannot be negative.",
                            code=code))
        instruments = entry.get("instruments")
        if not isinstance(instruments, list) or not instruments:
            errors.append(_("Timepoint %(code)s needs at least one instrument.", code=code))
            instruments = []
        for instrument in instruments:
            if instrument not in known:
                errors.append(_("Timepoint %(code)s: unknown instrument %(instrument)s (known: %(known)s).",
                                code=code, instrument=instrument, known=", ".join(known)))
        if len(set(map(str, instruments))) != len(instruments):
            errors.append(_("Timepoint %(code)s lists an instrument more than once.", code=code))
        timepoints.append({"code": code, "label": _text(entry.get("label")) or code, **numbers,
                           "instruments": [str(i) for i in instruments]})
    return timepoints


def _validate_terms(raw: Any, errors: list[str]) -> list[int]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.append(_("The PRO-CTCAE terms must be a list of term numbers."))
        return []
    known = {t.number for t in get_registry().get("pro_ctcae").terms}
    terms: list[int] = []
    for value in raw:
        number = _whole_number(value)
        if number is None or number not in known:
            errors.append(_("Unknown PRO-CTCAE term: %(term)s.", term=value))
        elif number not in terms:
            terms.append(number)
    return terms


def _validate_thresholds(raw: Any, errors: list[str]) -> dict[str, dict[str, float]]:
    if raw is None:
        return dict(DEFAULT_THRESHOLDS)
    if not isinstance(raw, dict):
        errors.append(_("The thresholds must map scale codes to a rule such as {below: 83} or {above: 39}."))
        return {}
    scales = {code for instrument in get_registry() for code in instrument.scale_codes}
    thresholds = {}
    for code, rule in raw.items():
        if code not in scales:
            errors.append(_("Thresholds name an unknown scale: %(scale)s.", scale=code))
            continue
        value = next(iter(rule.values()), None) if isinstance(rule, dict) and len(rule) == 1 else None
        if (not isinstance(rule, dict) or len(rule) != 1 or next(iter(rule)) not in ("below", "above")
                or isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100):
            errors.append(_("The threshold for %(scale)s must be either below or above a number from 0 to 100.",
                            scale=code))
            continue
        thresholds[str(code)] = {next(iter(rule)): value}
    return thresholds


def validate(data: Any) -> dict[str, Any]:
    """A clean definition from untrusted data (a form, an uploaded file); StudyError lists every problem."""
    if not isinstance(data, dict):
        raise StudyError([_("A study definition must be a mapping with code, title, sites and timepoints.")])
    errors: list[str] = []
    for field in data:
        if field not in TOP_FIELDS:
            errors.append(_("Unknown field in the study definition: %(field)s.", field=field))
    if data.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        errors.append(_("This file is in a study definition format this version does not read: %(format)s.",
                        format=data.get("format")))
    code, title = _text(data.get("code")), _text(data.get("title"))
    if not CODE_PATTERN.fullmatch(code):
        errors.append(_("The study code is required and may use only letters, digits, dots, dashes and "
                        "underscores (at most 64), for example NCT01234567."))
    if not title or len(title) > 300:
        errors.append(_("The title is required (at most 300 characters)."))
    anchor = _text(data.get("anchor_event")) or "Start of radiotherapy"
    clean = {
        "code": code, "title": title, "anchor_event": anchor[:120],
        "sites": _validate_sites(data.get("sites"), errors),
        "timepoints": _validate_timepoints(data.get("timepoints"), errors),
        "proctcae_terms": _validate_terms(data.get("proctcae_terms"), errors),
        "thresholds": _validate_thresholds(data.get("thresholds"), errors),
    }
    if any("pro_ctcae" in t["instruments"] for t in clean["timepoints"]) and not clean["proctcae_terms"] \
            and not errors:
        errors.append(_("PRO-CTCAE is asked at a timepoint, so the study needs a PRO-CTCAE term set."))
    if errors:
        raise StudyError(errors)
    return clean


# --- studies --------------------------------------------------------------------------------------------

def find(code: str) -> Study | None:
    return db.session.scalar(select(Study).where(Study.code == code))


def create_study(data: Any, user: User, reason: str | None = None) -> Study:
    clean = validate(data)
    if find(clean["code"]) is not None:
        raise StudyExists([_("A study with code %(code)s already exists.", code=clean["code"])])
    study = Study(code=clean["code"], title=clean["title"], anchor_event=clean["anchor_event"],
                  proctcae_terms=clean["proctcae_terms"], thresholds=clean["thresholds"])
    db.session.add(study)
    for site in clean["sites"]:
        db.session.add(Site(study=study, **site))
    for position, tp in enumerate(clean["timepoints"], start=1):
        db.session.add(Timepoint(study=study, position=position, **tp))
    db.session.flush()
    db.session.refresh(study)
    audit.record("study.create", "study", study.id, actor="user", user_id=user.id, study_id=study.id,
                 new=definition_of(study), reason=reason)
    return study


def _has_participants(site: Site) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(Participant).where(Participant.site_id == site.id)))


def _has_assessments(timepoint: Timepoint) -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(Assessment)
                                  .where(Assessment.timepoint_id == timepoint.id)))


def update_study(study: Study, data: Any, user: User, reason: str) -> Study:
    """Apply a definition to an existing study (same code). Sites and timepoints are matched by code; one
    still in use cannot be removed. A changed target day or window moves the assessments not yet started;
    a new timepoint is added to the schedule of every active participant."""
    clean = validate(data)
    if clean["code"] != study.code:
        raise StudyError([_("The study code cannot change (this is %(code)s).", code=study.code)])
    old = definition_of(study)
    errors: list[str] = []
    sites = {s.code: s for s in study.sites}
    wanted_sites = {s["code"] for s in clean["sites"]}
    for code, site in sites.items():
        if code not in wanted_sites and _has_participants(site):
            errors.append(_("Site %(code)s has participants and cannot be removed.", code=code))
    timepoints = {t.code: t for t in study.timepoints}
    wanted_tps = {t["code"] for t in clean["timepoints"]}
    for code, timepoint in timepoints.items():
        if code not in wanted_tps and _has_assessments(timepoint):
            errors.append(_("Timepoint %(code)s has assessments and cannot be removed.", code=code))
    if errors:
        raise StudyError(errors)

    study.title, study.anchor_event = clean["title"], clean["anchor_event"]
    study.proctcae_terms, study.thresholds = clean["proctcae_terms"], clean["thresholds"]
    for code, site in sites.items():
        if code not in wanted_sites:
            db.session.delete(site)
    for entry in clean["sites"]:
        site = sites.get(entry["code"])
        if site is None:
            db.session.add(Site(study=study, **entry))
        else:
            site.name, site.timezone = entry["name"], entry["timezone"]
    for code, timepoint in timepoints.items():
        if code not in wanted_tps:
            db.session.delete(timepoint)
    added, moved = [], []
    for position, entry in enumerate(clean["timepoints"], start=1):
        timepoint = timepoints.get(entry["code"])
        if timepoint is None:
            timepoint = Timepoint(study=study, position=position, **entry)
            db.session.add(timepoint)
            added.append(timepoint)
            continue
        timing = (timepoint.target_day, timepoint.window_before, timepoint.window_after)
        timepoint.position = position
        for field, value in entry.items():
            setattr(timepoint, field, value)
        if timing != (entry["target_day"], entry["window_before"], entry["window_after"]):
            moved.append(timepoint)
    db.session.flush()
    db.session.expire(study)
    for timepoint in moved:
        for assessment in db.session.scalars(select(Assessment).where(Assessment.timepoint_id == timepoint.id,
                                                                      Assessment.status == "scheduled",
                                                                      Assessment.started_at.is_(None))):
            assessment.target_date, assessment.window_start, assessment.window_end = window(
                assessment.participant.anchor_date, timepoint)
    for timepoint in added:
        for participant in db.session.scalars(select(Participant).where(Participant.study_id == study.id,
                                                                        Participant.status == "active")):
            target, start, end = window(participant.anchor_date, timepoint)
            db.session.add(Assessment(participant=participant, timepoint=timepoint, target_date=target,
                                      window_start=start, window_end=end))
    db.session.flush()
    new = definition_of(study)
    if new != old:
        audit.record("study.update", "study", study.id, actor="user", user_id=user.id, study_id=study.id,
                     old=old, new=new, reason=reason)
    return study


def import_definition(text: str, user: User, reason: str | None, *, confirm_update: bool) -> tuple[Study, bool]:
    """Create the study a YAML definition describes, or update it when it exists and the update is
    confirmed (StudyExists otherwise). Returns the study and whether it was created."""
    data = parse_yaml(text)
    clean = validate(data)
    existing = find(clean["code"])
    if existing is None:
        return create_study(clean, user, reason), True
    if not confirm_update:
        raise StudyExists([_("Study %(code)s already exists. Confirm to update it from this file.",
                             code=existing.code)])
    if not reason:
        raise StudyError([_("Give a reason for the change.")])
    return update_study(existing, clean, user, reason), False


# --- participants ---------------------------------------------------------------------------------------

def participant_code_taken(study: Study, code: str, *, except_id: int | None = None) -> bool:
    query = select(Participant.id).where(Participant.study_id == study.id, Participant.study_code == code)
    if except_id is not None:
        query = query.where(Participant.id != except_id)
    return db.session.scalar(query) is not None


def enrol(study: Study, site: Site, study_code: str, language: str, anchor: date, user: User,
          reason: str | None = None) -> Participant:
    """Enrol a participant; the schedule (one assessment per timepoint) follows from the study."""
    if participant_code_taken(study, study_code):
        raise StudyError([_("Participant %(code)s is already enrolled in this study.", code=study_code)])
    participant = Participant(study=study, site=site, study_code=study_code, language=language,
                              anchor_date=anchor)
    db.session.add(participant)
    db.session.flush()
    create_assessments(participant)
    db.session.flush()
    audit.record("participant.enrol", "participant", participant.id, actor="user", user_id=user.id,
                 study_id=study.id, reason=reason,
                 new={"study_code": study_code, "site": site.code, "language": language,
                      "anchor_date": anchor.isoformat()})
    return participant


def change_participant(participant: Participant, *, site: Site, language: str, anchor: date, user: User,
                       reason: str) -> list[dict]:
    """Change site, language or anchor date. A new anchor date moves only the assessments not yet started;
    the audit trail keeps the old and new dates of each. Returns the moves."""
    old = {"site": participant.site.code, "language": participant.language,
           "anchor_date": participant.anchor_date.isoformat()}
    moves = []
    if anchor != participant.anchor_date:
        moves = reschedule(participant, anchor)
    participant.site, participant.site_id, participant.language = site, site.id, language
    new = {"site": site.code, "language": language, "anchor_date": anchor.isoformat()}
    if old != new:
        audit.record("participant.update", "participant", participant.id, actor="user", user_id=user.id,
                     study_id=participant.study_id, old=old, new=new, reason=reason)
    for move in moves:
        audit.record("assessment.reschedule", "assessment", move["assessment_id"], actor="user",
                     user_id=user.id, study_id=participant.study_id, old=move["old"], new=move["new"],
                     reason=reason)
    db.session.flush()
    return moves


def withdraw(participant: Participant, user: User, reason: str) -> None:
    """Withdraw: the data stay; no later assessment is expected (exports read the participant's status)."""
    if participant.status == "withdrawn":
        raise StudyError([_("This participant has already been withdrawn.")])
    participant.status, participant.withdrawn_reason = "withdrawn", reason[:500]
    audit.record("participant.withdraw", "participant", participant.id, actor="user", user_id=user.id,
                 study_id=participant.study_id, old={"status": "active"}, new={"status": "withdrawn"},
                 reason=reason)
    db.session.flush()
