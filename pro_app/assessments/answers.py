"""What is asked in an assessment and in which order, and recording what the patient does with each item.

Every answer is committed by the caller as soon as it is given. A changed answer keeps the old one in
the audit trail; an answer hidden by branching after an earlier answer changed becomes `branched`,
also audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, has_app_context
from sqlalchemy import select

from .. import audit
from ..clock import utcnow
from ..extensions import db, library
from ..instruments import Instrument, route
from ..models import Assessment, ItemResponse, Plan, PlanPart
from ..transactions import is_read_request
from ..vocabulary import Actor, AssessmentStatus, ItemState

#: Nothing is recorded in these any more, not even by a correction.
CLOSED = (AssessmentStatus.NOT_DONE, AssessmentStatus.MISSED)
#: Answers in these change only by a staff correction with its reason.
SUBMITTED = (AssessmentStatus.COMPLETED, AssessmentStatus.PARTIAL)


class AssessmentClosed(Exception):
    """The assessment is completed or marked not done: nothing more can be recorded through this path."""


@dataclass(frozen=True)
class Step:
    instrument: Instrument
    item_id: str


def build_plan(assessment: Assessment) -> Plan:
    """The instruments and items of the assessment's timepoint, or those staff chose for an unscheduled one
    (an instrument with selectable items: the terms chosen for it, else the study's selection, each term
    whole)."""
    study = assessment.participant.study
    chosen = (assessment.asked or {}).get("selections") or {}
    plan = []
    for instrument_id in assessment.instruments:
        instrument = library.get(instrument_id)
        terms = tuple(chosen.get(instrument.id) or ()) or study.selection_of(instrument)
        items = instrument.items_for_selection(terms) if instrument.selectable else instrument.item_ids
        plan.append(PlanPart(instrument.id, instrument.version, tuple(items)))
    return tuple(plan)


def ensure_plan(assessment: Assessment) -> Plan:
    """The assessment's plan, fixed (stored) now if it was not yet: what is asked never changes once started."""
    if not assessment.plan:
        assessment.plan = build_plan(assessment)
    return assessment.plan


def plan_of(assessment: Assessment) -> Plan:
    """The plan as it stands, or as it would be fixed now (nothing is stored: a page that only shows it)."""
    return assessment.plan or build_plan(assessment)


def instrument_of(part: PlanPart) -> Instrument:
    return library.get(part.instrument)


def lock(assessment_id: int) -> Assessment | None:
    """Load the assessment for a change, locked against a second tablet (PostgreSQL: row lock;
    SQLite: every transaction begins IMMEDIATE, so writers already take turns).

    Everything the session read before the lock is expired, so the change works on what a request
    that held the lock just before committed (a double-tapped Next, a second tablet), not on a
    stale copy of the assessment and its answers.
    """
    db.session.expire_all()
    if has_app_context():
        g.pop(_SEQUENCE, None)
        g.pop(_STATES, None)
    return load_locked(assessment_id)


def load_locked(assessment_id: int) -> Assessment | None:
    """The assessment, read under its lock (PostgreSQL: row lock; SQLite: the IMMEDIATE transaction): for a
    request that locks before it reads anything of the assessment, so nothing needs expiring (the kiosk's
    answer and submit: one statement instead of a read, an expiry and a second read)."""
    return db.session.scalar(select(Assessment).where(Assessment.id == assessment_id).with_for_update())


def responses_by_item(assessment: Assessment) -> dict[str, ItemResponse]:
    return {r.item_id: r for r in assessment.responses}


#: The columns of a response that showing the questionnaire reads (`response_states`).
_STATE_COLUMNS = (ItemResponse.id, ItemResponse.item_id, ItemResponse.instrument_id, ItemResponse.value,
                  ItemResponse.option_code, ItemResponse.state)


def response_states(assessment: Assessment) -> dict:
    """What the patient gave per item, for showing the questionnaire: item id → a row with item_id,
    instrument_id, value, option_code and state. A request that may write gets the ORM rows (it changes
    them); a read gets plain rows in one query (building about 150 ORM objects cost an item page 2 ms),
    read once per request."""
    if not is_read_request() or "responses" in assessment.__dict__ or assessment.id is None:
        return responses_by_item(assessment)
    cache = g.setdefault(_STATES, {})
    if assessment.id not in cache:
        rows = db.session.execute(select(*_STATE_COLUMNS).where(ItemResponse.assessment_id == assessment.id))
        cache[assessment.id] = {row.item_id: row for row in rows}
    return cache[assessment.id]


def branching_view(rows: dict[str, ItemResponse]) -> dict[str, int | str | None]:
    """What the branching API needs: value, extra-option code, or None (declined), per responded item."""
    view: dict[str, int | str | None] = {}
    for item_id, row in rows.items():
        if row.state == ItemState.ANSWERED:
            view[item_id] = row.value
        elif row.state in ("declined", "not_applicable"):
            view[item_id] = row.option_code
    return view


_SEQUENCE = "pro_app_sequence"
_STATES = "pro_app_response_states"
#: app.extensions: shown sequences by plan and the answers that decide them, shared by every request; each
#: holds the app's one Step per item (`_STEPS`), so 20,000 of them take some 30 MB, not a Step object apiece.
_SEQUENCES = "pro_app.sequences"
_SEQUENCES_KEPT = 20_000
_STEPS = "pro_app.steps"


def sequence(assessment: Assessment) -> tuple[Step, ...]:
    """The items the patient will see, in order, given the answers so far. Worked out once per request and
    assessment (`record` drops it when an answer changes what is shown), and once per app for each plan and
    set of deciding answers (the items' branching conditions and gates): most answers decide nothing, so
    the next request finds the same sequence without routing the plan again."""
    cache = g.setdefault(_SEQUENCE, {}) if has_app_context() else {}
    if assessment.id in cache:
        return cache[assessment.id]
    plan = ensure_plan(assessment)
    view = branching_view(response_states(assessment))
    known = current_app.extensions.setdefault(_SEQUENCES, {}) if has_app_context() else {}
    deciders = known.get(plan)
    if deciders is None:
        deciders = known[plan] = _deciders(plan)
    key = (plan, tuple(view.get(item_id) for item_id in deciders))
    steps = known.get(key)
    if steps is None:
        one_each = current_app.extensions.setdefault(_STEPS, {}) if has_app_context() else {}
        steps = []
        for part in plan:
            instrument = instrument_of(part)
            for item_id in route(instrument, view, part.items).shown:
                step = one_each.get((instrument.id, item_id))
                if step is None:
                    step = one_each[instrument.id, item_id] = Step(instrument, item_id)
                steps.append(step)
        steps = tuple(steps)
        if len(known) > _SEQUENCES_KEPT:
            known.clear()
        known[key] = steps
    if assessment.id is not None:
        cache[assessment.id] = steps
    return steps


def _deciders(plan: Plan) -> tuple[str, ...]:
    """The items whose answers decide what of the plan is shown (branching conditions and gates): `route`
    reads nothing else, and reads each of them only as `responses.get(item)`."""
    found: dict[str, None] = {}
    for part in plan:
        instrument = instrument_of(part)
        for item_id in part.items:
            item = instrument.item(item_id)
            found.update((c.item, None) for c in item.skip_if)
            if item.gate is not None:
                found[item.gate.item] = None
    return tuple(found)


def _sequence_changed(assessment: Assessment) -> None:
    if has_app_context():
        g.get(_SEQUENCE, {}).pop(assessment.id, None)
        g.get(_STATES, {}).pop(assessment.id, None)


def parse_choice(instrument: Instrument, item_id: str, choice: str) -> tuple[int | None, str | None, str]:
    """(value, option code, state) for a submitted choice, as the item's type reads it (InvalidChoice if it
    is not one of the item's choices)."""
    return instrument.item(item_id).parse(choice)


def record(assessment: Assessment, instrument: Instrument, item_id: str, *, value: int | None,
           option_code: str | None, state: str, language: str, mode: str, actor: str,
           user_id: int | None = None, reason: str | None = None, correction: bool = False,
           shown_at: datetime | None = None, answered_at: datetime | None = None,
           request_key: str | None = None, branch_reasons: dict[str, str] | None = None) -> ItemResponse:
    """Store what happened to one item; a repeat of the same response (a double tap) changes nothing.

    `shown_at`: when the tablet showed the item's page for this answer (stored beside answered_at).
    `answered_at`: when it was answered, if not now (a paper form: the date on the paper).
    `request_key`: the tablet page's idempotency key (kiosk send.js), kept on the row: a request sent again
    with the key that stored the row (the connection dropped before the answer came back) changes nothing.
    `branch_reasons`: item id → the reason staff gave for that item's own change, for a recorded answer this
    change hides by branching (paper entry asks one per item); otherwise this change's `reason` is used.

    Only a staff `correction` (with its reason) may change a completed or partial assessment; nothing
    changes one marked not done or closed as missed. A change made by anyone but the patient needs the
    real reason (ValueError without one): there is no default text for a staff change.
    """
    if assessment.status in CLOSED or (assessment.status in SUBMITTED and not correction):
        raise AssessmentClosed
    part = next(p for p in ensure_plan(assessment) if p.instrument == instrument.id)
    _sequence_changed(assessment)
    rows = responses_by_item(assessment)
    row = rows.get(item_id)
    new = {"value": value, "option_code": option_code, "state": state}
    if row is not None and request_key is not None and row.request_key == request_key:
        return row  # this very request was stored before its answer was lost on the way back
    if row is not None:
        old = {"value": row.value, "option_code": row.option_code, "state": row.state}
        if old == new:
            return row
        if actor != Actor.PATIENT and not (reason or "").strip():
            raise ValueError("a change made by staff needs a reason")
        row.value, row.option_code, row.state = value, option_code, state
        if correction:  # the answer keeps the time it was given; the correction gets its own
            row.corrected_at, row.correction_reason = utcnow(), reason.strip()
        else:
            row.language, row.mode, row.shown_at = language, mode, shown_at
            row.answered_at = answered_at or utcnow()
            row.request_key = request_key
        audit.record("item.change", "item_response", row.id, actor=actor, user_id=user_id,
                     study_id=assessment.participant.study_id, old=old | {"item": item_id}, new=new,
                     reason=reason.strip() if actor != Actor.PATIENT else (reason or "changed by the patient"))
    else:
        row = ItemResponse(assessment=assessment, instrument_id=instrument.id, instrument_version=part.version,
                           item_id=item_id, value=value, option_code=option_code, state=state,
                           language=language, mode=mode, shown_at=shown_at, answered_at=answered_at or utcnow(),
                           request_key=request_key)
        if correction:
            row.corrected_at, row.correction_reason = utcnow(), (reason or "").strip() or None
        db.session.add(row)
        rows[item_id] = row
    if assessment.status == AssessmentStatus.SCHEDULED:
        assessment.status, assessment.started_at, assessment.mode = "in_progress", answered_at or utcnow(), mode
    _hide_branched(assessment, instrument, part, rows, actor, user_id, reason, branch_reasons or {})
    return row


def _hide_branched(assessment, instrument, part, rows, actor, user_id, reason=None, branch_reasons=None) -> None:
    """Answers to items that an earlier, changed answer now skips become `branched` (audited; a staff
    change carries the staff member's own reason, the one given for that item when there is one, and has no
    default text). On the tablet, gates are applied too (`_apply_gates`)."""
    path = route(instrument, branching_view(rows), part.items)
    for item_id in path.branched:
        row = rows.get(item_id)
        if row is not None and row.state != ItemState.BRANCHED:
            staff_reason = ((branch_reasons or {}).get(item_id) or reason or "").strip()
            if actor != Actor.PATIENT and not staff_reason:
                raise ValueError("a change made by staff needs a reason")
            old = {"item": item_id, "value": row.value, "option_code": row.option_code, "state": row.state}
            row.value, row.option_code, row.state = None, None, "branched"
            db.session.flush()
            audit.record("item.branched", "item_response", row.id, actor=actor, user_id=user_id,
                         study_id=assessment.participant.study_id, old=old,
                         new={"value": None, "state": "branched"},
                         reason=staff_reason if actor != Actor.PATIENT
                         else "skipped by branching after an earlier answer changed")
    if actor == Actor.PATIENT:
        _apply_gates(assessment, instrument, path, rows, user_id)


def is_gate_made(row: ItemResponse) -> bool:
    """A `not_applicable` row that no option of the item gave: its gate made it so."""
    return row.state == ItemState.NOT_APPLICABLE and row.option_code is None


def _apply_gates(assessment, instrument, path, rows, user_id) -> None:
    """The patient's tablet does not show an item its gate makes not applicable: a response already given to
    it becomes `not_applicable`; when the gate answer changes back, the item is to be asked again
    (`not_reached` until it is). Both audited. Items with no response yet get their state at completion.

    Only the patient's own path: paper and staff corrections keep what the source document says (the gate
    still decides scoring, whatever was written on the gated item). Reads nothing unless a row changes."""
    for item_id in path.gated_out:
        row = rows.get(item_id)
        if row is not None and row.state != ItemState.NOT_APPLICABLE:
            old = {"item": item_id, "value": row.value, "option_code": row.option_code, "state": row.state}
            row.value, row.option_code, row.state = None, None, ItemState.NOT_APPLICABLE
            db.session.flush()
            audit.record("item.not_applicable", "item_response", row.id, actor=Actor.PATIENT, user_id=user_id,
                         study_id=assessment.participant.study_id, old=old,
                         new={"value": None, "state": ItemState.NOT_APPLICABLE},
                         reason=f"not applicable after the answer to {instrument.item(item_id).gate.item}")
    for item_id in path.shown:
        row = rows.get(item_id)
        if row is not None and instrument.item(item_id).gate is not None and is_gate_made(row):
            row.state = ItemState.NOT_REACHED
            audit.record("item.asked_again", "item_response", row.id, actor=Actor.PATIENT, user_id=user_id,
                         study_id=assessment.participant.study_id,
                         old={"item": item_id, "state": ItemState.NOT_APPLICABLE},
                         new={"state": ItemState.NOT_REACHED},
                         reason=f"applicable again after the answer to {instrument.item(item_id).gate.item}"
                                " changed")
