"""The kiosk's operations: start (code or staff hand-off), answer, skip, submit, leave patient mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, session
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import or_, select

from .. import access, audit
from ..assessments import answers, completion
from ..assessments.schedule import site_today
from ..clock import utcnow
from ..extensions import db
from ..models import Assessment, AuthSession, User
from ..security import code_limit, codes, sessions, throttle
from ..security.accounts import authenticate
from ..vocabulary import Actor, AssessmentStatus, Mode, SessionKind
from . import tablets

STARTABLE = ("open", "in_progress")


class StartRefused(Exception):
    """The code cannot start an assessment; `reason` is one of the keys of views.START_MESSAGES."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def start_with_code(code: str) -> AuthSession:
    """Begin a patient session for the code's assessment, or raise StartRefused.

    Failed attempts are counted per code, per device (a registered tablet, or far more tightly an unregistered
    browser: kiosk/tablets.py) and for the whole installation, in the database.
    """
    settings = current_app.config["SETTINGS"]
    code_key = f"code:{codes.digest(code)}"
    limits = {code_key: settings.code_attempts_per_code} | tablets.device_limits()
    if code_limit.is_over():
        raise StartRefused("paused")
    if throttle.is_blocked(limits, settings.throttle_window_seconds):
        raise StartRefused("throttled")
    found = codes.find(code)
    assessment = db.session.get(Assessment, found.assessment_id) if found else None
    if assessment is not None and assessment.status == AssessmentStatus.COMPLETED:
        raise StartRefused("completed")  # the patient's own code, typed again after finishing: already used
    closed = assessment is not None and assessment.status in (*answers.CLOSED, *answers.SUBMITTED)
    if found is None or (found.revoked_at is not None and not closed):
        # A guess, or a code replaced by a newer one: counted, with the same message as a code never issued.
        throttle.fail(code_key)  # kept: the view returns the refusal normally, so it commits
        tablets.note_failure()
        code_limit.record_failure()
        raise StartRefused("unknown")
    if closed:
        raise StartRefused("closed")  # not done, closed as missed or partial: its codes were revoked with it
    if not codes.is_valid(found):
        raise StartRefused("expired")  # a real code, past its time: not a guess, so not counted
    if not assessment.participant.questionnaires_continue:
        raise StartRefused("closed")  # died, or withdrawn without follow-up: nothing more is asked
    status = assessment.effective_status(site_today(assessment.participant, utcnow()))
    if status == AssessmentStatus.SCHEDULED:
        raise StartRefused("not_yet_open")  # the window opens later
    if status not in STARTABLE:
        raise StartRefused("closed")
    throttle.clear(code_key)
    return begin_patient(assessment, handed_over_by=None, mode=Mode.SELF)


def open_elsewhere(assessment: Assessment) -> AuthSession | None:
    """A live patient session of the assessment in another browser than this one (one tablet at a time)."""
    here = tablets.device_key()
    since = utcnow() - sessions.idle_limit(SessionKind.PATIENT)
    return db.session.scalar(select(AuthSession).where(
        AuthSession.assessment_id == assessment.id, AuthSession.kind == SessionKind.PATIENT,
        AuthSession.ended_at.is_(None), AuthSession.last_seen_at >= since,
        or_(AuthSession.device.is_(None), AuthSession.device != here)).limit(1))


def begin_patient(assessment: Assessment, handed_over_by: int | None, mode: str) -> AuthSession:
    """A patient session on this browser. The assessment is locked first, so two tablets starting it at the
    same moment take turns; one open on another tablet is refused (StartRefused "in_use"), unless staff hand
    it over here, which moves it: the other tablet's session ends (audited). `mode` (self or assisted) is how
    this session is answered: every answer given in it carries the mode, and the assessment keeps the mode of
    its latest session (a code typed by the patient is `self`; staff choose at hand-over)."""
    answers.load_locked(assessment.id)
    other = open_elsewhere(assessment)
    if other is not None:
        if handed_over_by is None:
            raise StartRefused("in_use")
        move_here(assessment, other, handed_over_by)
    answers.ensure_plan(assessment)
    assessment.mode = mode
    tablets.note_use()
    return sessions.begin(SessionKind.PATIENT, user_id=handed_over_by, assessment_id=assessment.id,
                          language=assessment.participant.language, device=tablets.device_key())


def open_on(assessment: Assessment) -> str | None:
    """Where the assessment is open on a tablet right now, for staff: the tablet's name, a plain "unregistered
    browser", or None when it is open nowhere."""
    since = utcnow() - sessions.idle_limit(SessionKind.PATIENT)
    device = db.session.scalar(select(AuthSession.device).where(
        AuthSession.assessment_id == assessment.id, AuthSession.kind == SessionKind.PATIENT,
        AuthSession.ended_at.is_(None), AuthSession.last_seen_at >= since).limit(1))
    if device is None:
        return None
    return tablets.name_of(device)


def release(assessment: Assessment, user_id: int) -> bool:
    """Staff end the assessment's session on whatever tablet has it open, so the patient can carry on with the
    code on another one (audited); False when it was open nowhere."""
    since = utcnow() - sessions.idle_limit(SessionKind.PATIENT)
    live = db.session.scalars(select(AuthSession).where(
        AuthSession.assessment_id == assessment.id, AuthSession.kind == SessionKind.PATIENT,
        AuthSession.ended_at.is_(None), AuthSession.last_seen_at >= since)).all()
    for record in live:
        move_here(assessment, record, user_id, to=None)
    return bool(live)


def move_here(assessment: Assessment, other: AuthSession, user_id: int, to: str | None = "here") -> None:
    sessions.end(other, "moved")
    audit.record("assessment.move_tablet", "assessment", assessment.id, actor=Actor.USER, user_id=user_id,
                 study_id=assessment.participant.study_id,
                 old={"device": other.device}, new={"device": tablets.device_key() if to else None})


def prepare_tablet(assessment: Assessment) -> None:
    """After a patient session begins on this browser: the default text size, and a welcome back on the first
    page when answers of an earlier session are saved."""
    session.pop("text_size", None)
    if any(r.state not in ("branched", "not_reached") for r in assessment.responses):
        session["welcome_back"] = "yes"
    else:
        session.pop("welcome_back", None)


def can_hand_over(assessment: Assessment) -> bool:
    return assessment.participant.questionnaires_continue and (
        assessment.effective_status(site_today(assessment.participant, utcnow())) in STARTABLE)


@dataclass(frozen=True)
class Position:
    """Where the patient is: the item, its place in the whole assessment, and its neighbours."""

    step: answers.Step
    index: int  # 0-based among the items the patient will see
    total: int
    previous: answers.Step | None
    following: answers.Step | None


def position(assessment: Assessment, item_id: str) -> Position | None:
    steps = answers.sequence(assessment)
    for n, step in enumerate(steps):
        if step.item_id == item_id:
            return Position(step, n, len(steps), steps[n - 1] if n else None,
                            steps[n + 1] if n + 1 < len(steps) else None)
    return None


def resume_point(assessment: Assessment) -> answers.Step | None:
    """The first item not yet responded to (None: everything has a response: go to review)."""
    responded = answers.responses_by_item(assessment)
    return next((s for s in answers.sequence(assessment) if s.item_id not in responded
                 or responded[s.item_id].state in ("branched", "not_reached")), None)


def is_first_of_instrument(assessment: Assessment, step: answers.Step) -> bool:
    """True when the patient has given nothing for this instrument yet (show its instructions first)."""
    return not any(r.instrument_id == step.instrument.id and r.state not in ("branched", "not_reached")
                   for r in assessment.responses)


def review_list(assessment: Assessment) -> list[answers.Step]:
    """Shown items with no answer: declined, or not yet responded to."""
    rows = answers.responses_by_item(assessment)
    return [s for s in answers.sequence(assessment)
            if s.item_id not in rows or rows[s.item_id].state not in ("answered", "not_applicable")]


#: How long a page's "shown" stamp is believed (a page left open longer gives its answer no shown time).
SHOWN_STAMP_MAX_AGE = timedelta(hours=12)


def _stamps() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="kiosk.item-shown")


def shown_stamp(item_id: str) -> str:
    """A signed note of when the item's page is shown, sent back with the answer (the answer keeps it as its
    shown_at). Showing an item writes nothing: a write per page, with its fsync on SQLite, halved the tablets'
    answer rate; and the cookie, which anyone holding the tablet could read, says nothing of the item."""
    return _stamps().dumps([item_id, utcnow().isoformat()])


def shown_at(stamp: str | None, item_id: str) -> datetime | None:
    """When the answered page was shown: None for a missing, altered or stale stamp, or another item's."""
    try:
        stamped_item, when = _stamps().loads(stamp or "")
        shown = datetime.fromisoformat(when)
    except (BadSignature, TypeError, ValueError):
        return None
    now = utcnow()
    if stamped_item != item_id or shown.tzinfo is None or not now - SHOWN_STAMP_MAX_AGE <= shown <= now:
        return None
    return shown


def leave_patient_mode(record: AuthSession, email: str, password: str) -> User | None:
    """Staff credentials (of someone who may see this assessment) end patient mode and open a staff
    session; None when they are not accepted."""
    user = authenticate(email, password)
    if user is None or access.get_assessment(user, record.assessment_id) is None:
        return None
    sessions.begin(SessionKind.STAFF, user_id=user.id)
    audit.record("patient_mode.leave", "assessment", record.assessment_id, actor=Actor.USER, user_id=user.id)
    return user


def submit(assessment: Assessment, record: AuthSession, language: str) -> None:
    completion.complete(assessment, actor="patient", user_id=record.user_id, language=language)
    codes.revoke_all(assessment)
    sessions.end_current("submitted")
