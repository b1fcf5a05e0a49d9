"""What staff do to an assessment: mark it not done, key in a paper questionnaire, correct an answer; and
what the assessment page shows (answers and scores per instrument, alerts, changes made by staff).

Thin wrappers over answers.record / completion.complete (the one validation and scoring path), each with
an audit record and, where the brief asks, a reason. Each refuses (raises) before it changes anything.
"""

from __future__ import annotations

from sqlalchemy import select

from .. import audit
from ..alerts import rules
from ..clock import utcnow
from ..extensions import db
from ..instruments import Instrument
from ..models import NOT_DONE_REASONS, Alert, Assessment, AuditEvent, ItemResponse, PlanPart
from ..security import codes
from ..vocabulary import DONE_STATUSES, Actor, AssessmentStatus, ItemState, Mode
from . import answers, closing, completion, status
from .errors import BeforeWindow, StaffActionError
from .labels import answer_label
from .schedule import site_today

#: The correction choices that set an answer back to blank, and the item state each gives. An answer keyed in
#: error leaves the item as if never reached: nothing the patient gave is known for it.
NOT_ANSWERED = {"not_answered:declined": ItemState.DECLINED, "not_answered:not_reached": ItemState.NOT_REACHED,
                "not_answered:entered_in_error": ItemState.NOT_REACHED}



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
