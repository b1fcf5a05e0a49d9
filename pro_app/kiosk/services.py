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
from ..instruments import Instrument, is_gated_out
from ..models import Assessment, AuthSession, ItemResponse, User
from ..security import code_limit, codes, sessions, throttle
from ..security.accounts import authenticate
from ..vocabulary import Actor, AssessmentStatus, ItemState, Mode, SessionKind
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


def choose_language(record: AuthSession, picked: str | None) -> str:
    """The patient session's language: the one the patient picked on the start screen, else the one
    registered for them (kept on the session, so every page of it is in that language)."""
    if picked:
        record.language = picked
    return record.language


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
    responded = answers.response_states(assessment)
    return next((s for s in answers.sequence(assessment) if s.item_id not in responded
                 or responded[s.item_id].state in ("branched", "not_reached")), None)


def is_first_of_instrument(assessment: Assessment, step: answers.Step) -> bool:
    """True when the patient has given nothing for this instrument yet (show its instructions first)."""
    return not any(r.instrument_id == step.instrument.id and r.state not in ("branched", "not_reached")
                   for r in answers.response_states(assessment).values())


def review_list(assessment: Assessment) -> list[answers.Step]:
    """Shown items with no answer: declined, or not yet responded to."""
    rows = answers.response_states(assessment)
    return [s for s in answers.sequence(assessment)
            if s.item_id not in rows or rows[s.item_id].state not in ("answered", "not_applicable")]


def _is_open(row: ItemResponse | None) -> bool:
    """Nothing given for the item yet on its way through: never responded to, or shown again after it had
    been hidden by branching or by its gate."""
    return row is None or row.state in (ItemState.BRANCHED, ItemState.NOT_REACHED)


def _controllers(item) -> tuple[str, ...]:
    """The earlier items whose answers decide whether this one is asked (branching conditions, gate)."""
    found = tuple(c.item for c in item.skip_if)
    return found + ((item.gate.item,) if item.gate is not None else ())


def follow_up(assessment: Assessment) -> answers.Step | None:
    """The first item that a changed answer made necessary: shown, nothing given for it yet, and asked only
    because of an earlier answer that was given (a PRO-CTCAE severity after frequency changed from "Never",
    q35 after q34 changed from "Not at all"). None: nothing more to ask before going back to the review."""
    rows = answers.response_states(assessment)
    for step in answers.sequence(assessment):
        controllers = _controllers(step.instrument.item(step.item_id))
        if controllers and _is_open(rows.get(step.item_id)) and any(
                not _is_open(rows.get(c)) for c in controllers):
            return step
    return None


@dataclass(frozen=True)
class ReviewEntry:
    """One item on the review screen: what the patient gave for it, and which item "Change" opens."""

    instrument: Instrument
    item_id: str
    status: str  # answered | option (an extra option chosen) | skipped | open | not_applicable | branched
    number: int | None  # its number among the items asked (None: not asked)
    answer: str | None  # the chosen option's label
    change: str | None  # the item "Change" opens: itself, or for an item not asked, the answer that decided it
    because_of: int | None  # not asked: the number of the question whose answer decided it

    @property
    def text(self):
        return self.instrument.item(self.item_id).text


@dataclass(frozen=True)
class ReviewGroup:
    instrument: Instrument
    entries: tuple[ReviewEntry, ...]


@dataclass(frozen=True)
class Review:
    unanswered: tuple[ReviewGroup, ...]  # asked, no answer (skipped, or not yet answered): shown first
    answered: tuple[ReviewGroup, ...]  # every other item of every instrument, in the questionnaire's order
    total: int  # items asked

    @property
    def unanswered_count(self) -> int:
        return sum(len(g.entries) for g in self.unanswered)


def _label(instrument: Instrument, row: ItemResponse, lang: str) -> str | None:
    for choice in instrument.item(row.item_id).choices(lang):
        if (row.state == ItemState.ANSWERED and choice.value is not None and choice.value == row.value) or (
                row.option_code and choice.code == row.option_code):
            return choice.label
    return None


def review(assessment: Assessment, lang: str) -> Review:
    """Every item of every instrument of the plan with what the patient gave for it, grouped by instrument:
    first the items asked but not answered, then all the others (answers, not applicable, not asked)."""
    rows = answers.response_states(assessment)
    steps = answers.sequence(assessment)
    numbers = {s.item_id: n + 1 for n, s in enumerate(steps)}
    view = answers.branching_view(rows)
    unanswered, answered = [], []
    for part in answers.ensure_plan(assessment):
        instrument = answers.instrument_of(part)
        missing, given = [], []
        for item_id in part.items:
            row = rows.get(item_id)
            if item_id in numbers:
                if row is not None and row.state in (ItemState.ANSWERED, ItemState.NOT_APPLICABLE):
                    status = "answered" if row.state == ItemState.ANSWERED else "option"
                    given.append(ReviewEntry(instrument, item_id, status, numbers[item_id],
                                             _label(instrument, row, lang), item_id, None))
                else:
                    status = "skipped" if row is not None and row.state == ItemState.DECLINED else "open"
                    missing.append(ReviewEntry(instrument, item_id, status, numbers[item_id], None, item_id, None))
                continue
            item = instrument.item(item_id)
            gated = item.gate is not None and item.gate.item in numbers and is_gated_out(item, view)
            decider = item.gate.item if gated else next(
                (c.item for c in item.skip_if if c.item in numbers and view.get(c.item) in c.values), None)
            given.append(ReviewEntry(instrument, item_id, "not_applicable" if gated else "branched", None, None,
                                     decider, numbers.get(decider)))
        if missing:
            unanswered.append(ReviewGroup(instrument, tuple(missing)))
        if given:
            answered.append(ReviewGroup(instrument, tuple(given)))
    return Review(tuple(unanswered), tuple(answered), len(steps))


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
