"""Keying in a paper questionnaire so that the record says what happened on paper.

The paper's own date, not the keying time, is when the assessment was completed and its items answered (a
date on paper has no time: noon at the site, or the keying time when that is earlier), so exports' in-window
flags and days from target follow the paper. When and by whom it was keyed, and who administered it, are kept
beside it. A blank on the paper leaves an answer already recorded (on the tablet, say) as it is; a paper answer
that differs from one recorded is a change that needs its own reason (PaperConflict lists them), audited with
the staff member who keyed it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..extensions import db
from ..instruments import InvalidChoice, route
from ..models import Assessment
from ..vocabulary import Actor, AssessmentStatus, ItemState, Mode
from . import answers, completion, status
from .errors import BeforeWindow, StaffActionError
from .labels import response_label
from .schedule import site_today

#: Statuses in which a paper questionnaire may still be keyed in.
PAPER_STATUSES = (AssessmentStatus.SCHEDULED, AssessmentStatus.IN_PROGRESS)
#: How a paper form was administered: the patient filled it in, or staff read the items aloud and marked it.
PAPER_MODES = (Mode.PAPER, Mode.ASSISTED)
#: A date on paper has no time; it is stored as this site-local time.
PAPER_TIME = time(12, 0)


@dataclass(frozen=True)
class PaperHeader:
    """What the paper form says about itself: its date, how it was given and by whom, its language."""

    completed_on: date
    mode: str
    administered_by: str
    language: str


@dataclass(frozen=True)
class ChoiceError:
    instrument_id: str
    item_id: str
    choice: str


class PaperDateRefused(ValueError):
    """The date on the paper cannot be right (in the future, before the participant's enrolment)."""


class OutsideWindow(Exception):
    """The date on the paper is outside the assessment's window: saved only once staff confirm it."""


@dataclass(frozen=True)
class PaperChange:
    """One answer already stored that the paper would change: what it is now and what the paper says."""

    item_id: str
    label: str
    current: str
    paper: str


class PaperConflict(Exception):
    """The paper would change answers already stored and not every change has its reason."""

    def __init__(self, changes: list[PaperChange]):
        super().__init__("paper changes need reasons")
        self.changes = changes


# --- the paper's date --------------------------------------------------------------------------------------

def earliest_date(assessment: Assessment) -> date:
    """The earliest date a paper form of this participant can carry: the consent date, or when none is
    recorded, the first day of the participant's first window (nothing is due before it)."""
    participant = assessment.participant
    if participant.consent_date is not None:
        return participant.consent_date
    first = min((a.window_start for a in _assessments_of(participant.id)), default=assessment.window_start)
    return min(first, assessment.window_start)


def _assessments_of(participant_id: int) -> list[Assessment]:
    return list(db.session.scalars(select(Assessment).where(Assessment.participant_id == participant_id)))


def check_date(assessment: Assessment, completed_on: date, *, outside_confirmed: bool) -> None:
    """Refuse a paper date in the future or before enrolment (PaperDateRefused, with the sentence to show);
    one outside the window needs `outside_confirmed` (OutsideWindow otherwise)."""
    today = site_today(assessment.participant, utcnow())
    if completed_on > today:
        raise PaperDateRefused(_l("The date on the paper cannot be later than today (%(today)s).",
                                  today=today.isoformat()))
    earliest = earliest_date(assessment)
    if completed_on < earliest:
        raise PaperDateRefused(_l("The date on the paper is before the participant's enrolment (%(date)s).",
                                  date=earliest.isoformat()))
    inside = assessment.window_start <= completed_on <= assessment.window_end
    if not inside and not outside_confirmed:
        raise OutsideWindow(completed_on)


def paper_time(assessment: Assessment, completed_on: date) -> datetime:
    """The stored time of a paper form dated `completed_on`: noon at the site, or now if that is earlier
    (a form dated today and keyed in the morning)."""
    zone = ZoneInfo(assessment.participant.site.timezone)
    noon = datetime.combine(completed_on, PAPER_TIME, tzinfo=zone).astimezone(UTC)
    return min(noon, utcnow())


# --- what the paper says, item by item ---------------------------------------------------------------------

def validate_choices(assessment: Assessment, given: dict[str, str]) -> list[ChoiceError]:
    """Choices that are not options of their item (blank means "not marked" and is always allowed)."""
    errors = []
    for part in answers.plan_of(assessment):
        instrument = answers.instrument_of(part)
        for item_id in part.items:
            choice = (given.get(item_id) or "").strip()
            if not choice:
                continue
            try:
                answers.parse_choice(instrument, item_id, choice)
            except InvalidChoice:
                errors.append(ChoiceError(instrument.id, item_id, choice))
    return errors


#: An item the paper leaves blank while an answer is already recorded: the recorded one stays.
KEEP = "keep"
#: A blank item whose gate, given what is on the paper, makes it not applicable (the paper told the patient to
#: leave it out): nothing is recorded, and completion makes it `not_applicable` as on the tablet, not declined.
GATED = "gated"


def _paper_plan(assessment: Assessment, given: dict[str, str], plan) -> list[tuple]:
    """(instrument, item id, what to store) for every item of the plan: (value, option code, state), KEEP
    for a blank over a recorded answer, GATED for a blank its gate rules out, or None when branching skips
    the item given what is on the paper (and what it keeps)."""
    rows = answers.responses_by_item(assessment)
    out = []
    for part in plan:
        instrument = answers.instrument_of(part)
        parsed: dict[str, tuple | str] = {}
        view: dict[str, int | str | None] = {}
        for item_id in part.items:
            choice = (given.get(item_id) or "").strip()
            row = rows.get(item_id)
            if choice:
                parsed[item_id] = answers.parse_choice(instrument, item_id, choice)
                value, code, state = parsed[item_id]
                view[item_id] = value if state == ItemState.ANSWERED else code
            elif row is not None and row.state not in (ItemState.BRANCHED, ItemState.NOT_REACHED):
                parsed[item_id] = KEEP
                view[item_id] = row.value if row.state == ItemState.ANSWERED else row.option_code
            else:
                parsed[item_id] = (None, None, ItemState.DECLINED)
                view[item_id] = None
        path = route(instrument, view, part.items)
        branched, gated = set(path.branched), set(path.gated_out)
        out.extend((instrument, i, None if i in branched
                    else GATED if i in gated and parsed[i] == (None, None, ItemState.DECLINED) else parsed[i])
                   for i in part.items)
    return out


def paper_changes(assessment: Assessment, given: dict[str, str], lang: str) -> list[PaperChange]:
    """Item by item, what the paper would change in the answers already stored (a tablet session begun):
    an answer replaced by a different one, or hidden by branching. A blank changes nothing."""
    if validate_choices(assessment, given):
        raise InvalidChoice("paper")
    rows = answers.responses_by_item(assessment)
    changes = []
    for instrument, item_id, parsed in _paper_plan(assessment, given, answers.plan_of(assessment)):
        row = rows.get(item_id)
        if row is None or parsed in (KEEP, GATED):
            continue
        value, option_code, state = parsed if parsed is not None else (None, None, ItemState.BRANCHED)
        if (row.value, row.option_code, row.state) == (value, option_code, state):
            continue
        if row.state in (ItemState.BRANCHED, ItemState.NOT_REACHED) and parsed is None:
            continue
        item = instrument.item(item_id)
        changes.append(PaperChange(
            item_id, f"{item_label(instrument, item)}. {item.text.get(lang)}",
            response_label(instrument, item_id, row.value, row.option_code, row.state, lang),
            response_label(instrument, item_id, value, option_code, state, lang)))
    return changes


def item_label(instrument, item) -> str:
    """How the paper numbers an item: "12" for an EORTC item, "17b" for a PRO-CTCAE term's second question."""
    if item.term is not None:
        letter = item.id.removeprefix(f"PROCTCAE_{item.term}")[:1].lower()
        return f"{item.term}{letter}"
    return str(item.number)


# --- storing it --------------------------------------------------------------------------------------------

def check_open(assessment: Assessment) -> None:
    if assessment.status not in PAPER_STATUSES:
        raise StaffActionError(assessment.status)
    if status.before_window(assessment.status, assessment.window_start,
                            site_today(assessment.participant, utcnow()), bool(assessment.early)):
        raise BeforeWindow(assessment.status)


def enter_paper(assessment: Assessment, given: dict[str, str], header: PaperHeader, *, user_id: int,
                reasons: dict[str, str] | None = None, lang: str = "en", outside_confirmed: bool = False,
                entered_by_id: int | None = None, verified_by_id: int | None = None) -> None:
    """Record a paper questionnaire and complete the assessment as of the date on the paper.

    Items the branching rules skip, given what is on the paper, are not recorded (completion marks them
    `branched`); a blank item with no answer recorded is `declined`, a blank over a recorded answer keeps
    it. Each recorded answer the paper changes needs its own reason (PaperConflict lists them). With double
    entry, `entered_by_id` keyed it first and `verified_by_id` second (`user_id` stores it).
    """
    check_open(assessment)
    if header.mode not in PAPER_MODES:
        raise ValueError(header.mode)
    administered_by = (header.administered_by or "").strip()
    if not administered_by:
        raise ValueError("administered_by")
    check_date(assessment, header.completed_on, outside_confirmed=outside_confirmed)
    reasons = {k: v.strip() for k, v in (reasons or {}).items() if v and v.strip()}
    changes = paper_changes(assessment, given, lang)
    if any(c.item_id not in reasons for c in changes):
        raise PaperConflict(changes)
    changed = {c.item_id for c in changes}
    at = paper_time(assessment, header.completed_on)
    rows = answers.responses_by_item(assessment)
    study_id = assessment.participant.study_id
    for instrument, item_id, parsed in _paper_plan(assessment, given, answers.ensure_plan(assessment)):
        if parsed in (KEEP, GATED):
            continue
        if parsed is None:
            row = rows.get(item_id)
            if row is not None and item_id in changed and row.state != ItemState.BRANCHED:
                old = {"item": item_id, "value": row.value, "option_code": row.option_code, "state": row.state}
                row.value, row.option_code, row.state = None, None, ItemState.BRANCHED
                db.session.flush()
                audit.record("item.branched", "item_response", row.id, actor=Actor.USER, user_id=user_id,
                             study_id=study_id, old=old, new={"value": None, "state": "branched"},
                             reason=reasons[item_id])
            continue
        value, option_code, state = parsed
        answers.record(assessment, instrument, item_id, value=value, option_code=option_code, state=state,
                       language=header.language, mode=header.mode, actor=Actor.USER, user_id=user_id,
                       reason=reasons.get(item_id), answered_at=at, branch_reasons=reasons)
    assessment.mode = header.mode
    assessment.keyed_at = utcnow()
    assessment.entered_by_id = entered_by_id or user_id
    assessment.verified_by_id = verified_by_id
    assessment.administered_by = administered_by
    inside = assessment.window_start <= header.completed_on <= assessment.window_end
    audit.record("assessment.paper_entry", "assessment", assessment.id, actor=Actor.USER, user_id=user_id,
                 study_id=study_id,
                 new={"mode": header.mode, "language": header.language,
                      "completed_on": header.completed_on.isoformat(), "in_window": inside,
                      "administered_by": administered_by, "entered_by": assessment.entered_by_id,
                      "verified_by": verified_by_id, "changed": sorted(changed),
                      "outside_window_confirmed": not inside})
    completion.complete(assessment, actor=Actor.USER, user_id=user_id, language=header.language, at=at)
