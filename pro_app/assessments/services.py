"""What staff do to an assessment: mark it not done, key in a paper questionnaire, correct an answer; and
what the assessment page shows (answers and scores per instrument, alerts, changes made by staff).

Thin wrappers over answers.record / completion.complete (the one validation and scoring path), each with
an audit record and, where the brief asks, a reason. Each refuses (raises) before it changes anything.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from .. import audit
from ..alerts import rules
from ..clock import utcnow
from ..extensions import db
from ..instruments import Instrument, InvalidChoice, route
from ..models import NOT_DONE_REASONS, Alert, Assessment, AuditEvent, ItemResponse, PlanPart
from ..security import codes
from ..vocabulary import DONE_STATUSES, ITEM_STATE_LABELS, Actor, AssessmentStatus, ItemState, Mode
from . import answers, closing, completion, status
from .schedule import site_today

#: The correction choices that set an answer back to blank, and the item state each gives. An answer keyed in
#: error leaves the item as if never reached: nothing the patient gave is known for it.
NOT_ANSWERED = {"not_answered:declined": ItemState.DECLINED, "not_answered:not_reached": ItemState.NOT_REACHED,
                "not_answered:entered_in_error": ItemState.NOT_REACHED}

#: Statuses in which a paper questionnaire may still be keyed in.
PAPER_STATUSES = ("scheduled", "in_progress")


class StaffActionError(Exception):
    """The action does not fit the assessment's state (the view answers 409)."""


@dataclass(frozen=True)
class ChoiceError:
    instrument_id: str
    item_id: str
    choice: str


class BeforeWindow(StaffActionError):
    """The window has not opened and no early assessment was confirmed."""


def before_window(assessment: Assessment) -> bool:
    return status.before_window(assessment.status, assessment.window_start,
                                site_today(assessment.participant, utcnow()), bool(assessment.early))


def confirm_early(assessment: Assessment, reason: str, *, user_id: int) -> None:
    """Staff give the assessment before its window opens: from now on it is open (codes, the tablet, paper,
    not done) and flagged `early` in the exports. Audited with the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("reason")
    if not before_window(assessment):
        raise StaffActionError(assessment.status)
    assessment.early = True
    audit.record("assessment.early", "assessment", assessment.id, actor=Actor.USER, user_id=user_id,
                 study_id=assessment.participant.study_id, old={"early": False},
                 new={"early": True, "window_start": assessment.window_start.isoformat()}, reason=reason)


def mark_not_done(assessment: Assessment, reason: str, note: str | None, *, user_id: int) -> None:
    """Close an assessment that will not be done, with a reason (and a note, required for `other`)."""
    if reason not in NOT_DONE_REASONS:
        raise ValueError(reason)
    if assessment.status in DONE_STATUSES:
        raise StaffActionError(assessment.status)
    if before_window(assessment):
        raise BeforeWindow(assessment.status)
    old = {"status": assessment.status}
    assessment.status = AssessmentStatus.NOT_DONE
    assessment.not_done_reason = reason
    assessment.not_done_note = (note or "").strip() or None
    codes.revoke_all(assessment)
    audit.record("assessment.not_done", "assessment", assessment.id, actor=Actor.USER, user_id=user_id,
                 study_id=assessment.participant.study_id, old=old,
                 new={"status": "not_done", "reason": reason, "note": assessment.not_done_note}, reason=reason)


def reopen(assessment: Assessment, reason: str, *, user_id: int) -> None:
    """Undo "not done" with a reason (audited with the reason it had): the assessment is scheduled again, or
    in progress if it had answers, and can be given, keyed in or marked not done anew."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("reason")
    if assessment.status != AssessmentStatus.NOT_DONE:
        raise StaffActionError(assessment.status)
    old = {"status": assessment.status, "reason": assessment.not_done_reason, "note": assessment.not_done_note}
    started = db.session.scalar(select(ItemResponse.id).where(ItemResponse.assessment_id == assessment.id)
                                .limit(1)) is not None
    assessment.status = AssessmentStatus.IN_PROGRESS if started else AssessmentStatus.SCHEDULED
    assessment.not_done_reason = assessment.not_done_note = None
    audit.record("assessment.reopen", "assessment", assessment.id, actor=Actor.USER, user_id=user_id,
                 study_id=assessment.participant.study_id, old=old, new={"status": assessment.status},
                 reason=reason)


def close_now(assessment: Assessment, reason: str, *, user_id: int) -> str:
    """Staff close a started assessment that will not be submitted: partial (scored) or missed."""
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("reason")
    try:
        return closing.close(assessment, actor=Actor.USER, user_id=user_id, reason=reason)
    except closing.NotStarted as e:
        raise StaffActionError(assessment.status) from e


def validate_paper(assessment: Assessment, given: dict[str, str]) -> list[ChoiceError]:
    """Choices that are not options of their item (blank means declined and is always allowed)."""
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


def _paper_plan(assessment: Assessment, given: dict[str, str], plan) -> list[tuple]:
    """(instrument, part, item id, parsed or None when branching skips it) for every item of the plan."""
    out = []
    for part in plan:
        instrument = answers.instrument_of(part)
        parsed: dict[str, tuple[int | None, str | None, str]] = {}
        for item_id in part.items:
            choice = (given.get(item_id) or "").strip()
            parsed[item_id] = (answers.parse_choice(instrument, item_id, choice) if choice
                               else (None, None, "declined"))
        view = {i: (v if s == "answered" else c) for i, (v, c, s) in parsed.items()}
        branched = set(route(instrument, view, part.items).branched)
        out.extend((instrument, part, i, None if i in branched else parsed[i]) for i in part.items)
    return out


def _shown(instrument: Instrument, item_id: str, value, option_code, state: str, lang: str) -> str:
    if state == ItemState.ANSWERED or option_code:
        row = ItemResponse(item_id=item_id, value=value, option_code=option_code, state=state)
        return answer_label(instrument, row, lang) or str(value)
    return str(ITEM_STATE_LABELS.get(state, state))


def paper_changes(assessment: Assessment, given: dict[str, str], lang: str) -> list[PaperChange]:
    """Item by item, what the paper would change in the answers already stored (a tablet session begun,
    an earlier keying): an answer replaced, blanked (declined) or hidden by branching."""
    if validate_paper(assessment, given):
        raise InvalidChoice("paper")
    rows = answers.responses_by_item(assessment)
    changes = []
    for instrument, _part, item_id, parsed in _paper_plan(assessment, given, answers.plan_of(assessment)):
        row = rows.get(item_id)
        if row is None:
            continue
        value, option_code, state = parsed if parsed is not None else (None, None, ItemState.BRANCHED)
        if (row.value, row.option_code, row.state) == (value, option_code, state):
            continue
        item = instrument.item(item_id)
        changes.append(PaperChange(item_id, f"{item.number}. {item.text.get(lang)}",
                                   _shown(instrument, item_id, row.value, row.option_code, row.state, lang),
                                   _shown(instrument, item_id, value, option_code, state, lang)))
    return changes


def enter_paper(assessment: Assessment, given: dict[str, str], *, language: str, user_id: int,
                reasons: dict[str, str] | None = None, lang: str = "en") -> None:
    """Record a paper questionnaire (mode `paper`) and complete the assessment.

    Items the branching rules skip, given what is on the paper, are not recorded (completion marks them
    `branched`); a blank item the patient was meant to see is `declined`. An answer already stored is
    never overwritten silently: each one the paper changes needs its own reason (PaperConflict lists
    them), which the audit trail keeps with the staff member who keyed it.
    """
    if assessment.status not in PAPER_STATUSES:
        raise StaffActionError(assessment.status)
    if before_window(assessment):
        raise BeforeWindow(assessment.status)
    reasons = {k: v.strip() for k, v in (reasons or {}).items() if v and v.strip()}
    changes = paper_changes(assessment, given, lang)
    if any(c.item_id not in reasons for c in changes):
        raise PaperConflict(changes)
    changed = {c.item_id for c in changes}
    rows = answers.responses_by_item(assessment)
    for instrument, _part, item_id, parsed in _paper_plan(assessment, given, answers.ensure_plan(assessment)):
        if parsed is None:
            row = rows.get(item_id)
            if row is not None and item_id in changed and row.state != ItemState.BRANCHED:
                old = {"item": item_id, "value": row.value, "option_code": row.option_code, "state": row.state}
                row.value, row.option_code, row.state = None, None, ItemState.BRANCHED
                db.session.flush()
                audit.record("item.branched", "item_response", row.id, actor=Actor.USER, user_id=user_id,
                             study_id=assessment.participant.study_id, old=old,
                             new={"value": None, "state": "branched"}, reason=reasons[item_id])
            continue
        value, option_code, state = parsed
        answers.record(assessment, instrument, item_id, value=value, option_code=option_code, state=state,
                       language=language, mode=Mode.PAPER, actor=Actor.USER, user_id=user_id,
                       reason=reasons.get(item_id))
    assessment.mode = Mode.PAPER
    audit.record("assessment.paper_entry", "assessment", assessment.id, actor=Actor.USER, user_id=user_id,
                 study_id=assessment.participant.study_id,
                 new={"mode": "paper", "language": language, "changed": sorted(changed)})
    completion.complete(assessment, actor=Actor.USER, user_id=user_id, language=language)


def _rescore(assessment: Assessment, instrument: Instrument, part: PlanPart, item_id: str, *, language: str,
             user_id: int, reason: str) -> None:
    """After a correction: settle item states again (audited), store the instrument's scores, audit what moved."""
    rows = answers.responses_by_item(assessment)
    db.session.flush()
    for row in completion.settle_states(assessment, instrument, part, rows, language):
        audit.record("item.change", "item_response", row.id, actor=Actor.USER, user_id=user_id,
                     study_id=assessment.participant.study_id,
                     old={"item": row.item_id, "state": "branched"}, new={"state": row.state}, reason=reason)
    old_scores = {s.scale_code: s.value for s in assessment.scores if s.instrument_id == instrument.id}
    completion.store_scores(assessment, instrument, part, rows)
    db.session.flush()
    new_scores = {s.scale_code: s.value for s in assessment.scores if s.instrument_id == instrument.id}
    changed = {code: [old_scores.get(code), value] for code, value in new_scores.items()
               if old_scores.get(code) != value}
    audit.record("assessment.rescore", "assessment", assessment.id, actor=Actor.USER, user_id=user_id,
                 study_id=assessment.participant.study_id, old={"item": item_id},
                 new={"instrument": instrument.id, "changed": changed}, reason=reason)


def correct_answer(assessment: Assessment, item_id: str, choice: str, reason: str, *, user_id: int) -> list[Alert]:
    """Change one answer of a completed (or partial) assessment with a reason (audited, old and new), or set
    it back to not answered (`choice` one of NOT_ANSWERED); the answer keeps its answered time and gets the
    correction's. Re-scores the item's instrument and re-evaluates its alerts. Returns the new alerts."""
    if assessment.status not in answers.SUBMITTED:
        raise StaffActionError(assessment.status)
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("reason")
    part = next((p for p in answers.ensure_plan(assessment) if item_id in p.items), None)
    if part is None:
        raise KeyError(item_id)
    instrument = answers.instrument_of(part)
    if choice in NOT_ANSWERED:  # set back to blank, with why it is blank
        value, option_code, state = None, None, NOT_ANSWERED[choice]
    else:
        value, option_code, state = answers.parse_choice(instrument, item_id, choice)  # InvalidChoice → 400
    current = answers.responses_by_item(assessment).get(item_id)
    language = current.language if current else assessment.participant.language
    mode = current.mode if current else (assessment.mode or Mode.SELF)
    answers.record(assessment, instrument, item_id, value=value, option_code=option_code, state=state,
                   language=language, mode=mode, actor=Actor.USER, user_id=user_id, reason=reason, correction=True)
    _rescore(assessment, instrument, part, item_id, language=language, user_id=user_id, reason=reason)
    db.session.flush()
    return rules.reevaluate(assessment, user_id=user_id, reason=reason)


# --- what the assessment page shows ----------------------------------------------------------------------

def answer_label(instrument: Instrument, row: ItemResponse, lang: str) -> str:
    """The answer as staff read it: "2 · A little", or the extra option's label."""
    for o in instrument.item(row.item_id).option_set.options:
        if row.state == ItemState.ANSWERED and o.value is not None and o.value == row.value:
            return f"{o.value} · {o.label.get(lang)}"
        if row.option_code and o.code == row.option_code:
            return o.label.get(lang)
    return ""


def sections(assessment: Assessment, lang: str) -> list[dict]:
    """Per instrument of the plan: its items with text, answer and stored row, and its scores."""
    rows = answers.responses_by_item(assessment)
    scores = {s.scale_code: s for s in assessment.scores}
    result = []
    for part in assessment.plan or []:
        instrument = answers.instrument_of(part)
        items = []
        for item_id in part.items:
            item = instrument.item(item_id)
            row = rows.get(item_id)
            items.append({"id": item_id, "number": item.number, "text": item.text.get(lang), "row": row,
                          "instrument": instrument,
                          "answer": answer_label(instrument, row, lang) if row else ""})
        scale_rows = [(scale, scores[scale.code]) for scale in instrument.scales if scale.code in scores]
        result.append({"instrument": instrument, "version": part.version, "items": items, "scores": scale_rows})
    return result


def alerts_of(assessment: Assessment) -> list[Alert]:
    return db.session.scalars(select(Alert).where(Alert.assessment_id == assessment.id).order_by(Alert.id)).all()


def staff_changes(assessment: Assessment) -> list[AuditEvent]:
    """The audit records of answers changed by staff (corrections), oldest first."""
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.entity == "item_response",
                                 AuditEvent.entity_id.in_([r.id for r in assessment.responses] or [-1]),
                                 AuditEvent.actor == Actor.USER)
        .order_by(AuditEvent.id)).all()


def correctable_part(assessment: Assessment, item_id: str) -> PlanPart | None:
    """The plan part that asks the item (None: the assessment does not ask it)."""
    return next((p for p in assessment.plan or [] if item_id in p.items), None)
