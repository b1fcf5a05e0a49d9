"""Completing an assessment: final item states, scores through the instrument library, alerts."""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd

from .. import audit
from ..alerts.rules import raise_alerts
from ..clock import utcnow
from ..extensions import db
from ..instruments import ENGINE_VERSION, Instrument, route, score
from ..models import Assessment, ItemResponse, PlanPart, Score
from ..vocabulary import AssessmentStatus, ItemState, Mode
from .answers import AssessmentClosed, branching_view, ensure_plan, instrument_of, responses_by_item


def complete(assessment: Assessment, *, actor: str, user_id: int | None = None, language: str = "en",
             at: datetime | None = None) -> bool:
    """Finish the assessment: fill in item states, score, raise alerts. False if it was already complete
    (a double-tapped Submit stores one submission). `at`: when it was completed, if not now (a paper form:
    the date on the paper; the items given a state now get that time too)."""
    if assessment.status == AssessmentStatus.COMPLETED:
        return False
    if assessment.status == AssessmentStatus.NOT_DONE:
        raise AssessmentClosed
    rows = responses_by_item(assessment)
    for part in ensure_plan(assessment):
        instrument = instrument_of(part)
        settle_states(assessment, instrument, part, rows, language, at)
        store_scores(assessment, instrument, part, rows)
    assessment.status, assessment.completed_at = AssessmentStatus.COMPLETED, at or utcnow()
    raise_alerts(assessment)
    audit.record("assessment.complete", "assessment", assessment.id, actor=actor, user_id=user_id,
                 study_id=assessment.participant.study_id, new={"status": "completed"})
    return True


def settle_states(assessment: Assessment, instrument: Instrument, part: PlanPart, rows: dict[str, ItemResponse],
                  language: str, at: datetime | None = None) -> list[ItemResponse]:
    """Give every item of the part its final state: items with no response become `branched`,
    `not_applicable` (gated out: SCORING.md §2) or `not_reached`; an answer hidden by branching whose
    earlier answer was changed back is shown again but was never answered again, so it becomes
    `not_reached`. Returns the rows changed that way."""
    path = route(instrument, branching_view(rows), part.items)
    reopened = []
    for item_id in part.items:
        state = (ItemState.BRANCHED if item_id in path.branched
                 else ItemState.NOT_APPLICABLE if item_id in path.gated_out else ItemState.NOT_REACHED)
        row = rows.get(item_id)
        if row is not None:
            if row.state == ItemState.BRANCHED and state == ItemState.NOT_REACHED:
                row.state = state
                reopened.append(row)
            continue
        row = ItemResponse(assessment=assessment, instrument_id=instrument.id, instrument_version=part.version,
                           item_id=item_id, value=None, option_code=None, state=state,
                           language=language, mode=assessment.mode or Mode.SELF, answered_at=at or utcnow())
        db.session.add(row)
        rows[item_id] = row
    return reopened


def store_scores(assessment: Assessment, instrument: Instrument, part: PlanPart, rows: dict[str, ItemResponse]) -> None:
    """Score one instrument of the assessment through the library and store every scale, unrounded."""
    answers = {i: float(rows[i].value) if i in rows and rows[i].value is not None else math.nan
               for i in part.items}
    result = score(instrument, pd.DataFrame([answers]))
    asked = set(part.items)
    existing = {s.scale_code: s for s in assessment.scores}
    for scale in instrument.scales:
        if scale.items and not asked.intersection(scale.items):
            continue  # a PRO-CTCAE term not in the study's set
        value = float(result.values[scale.code].iloc[0])
        row = existing.get(scale.code) or Score(assessment=assessment, scale_code=scale.code)
        row.instrument_id, row.instrument_version, row.scoring_version = instrument.id, part.version, ENGINE_VERSION
        row.value = None if math.isnan(value) else value
        row.status = str(result.status[scale.code].iloc[0])
        row.n_items = int(result.n_items[scale.code].iloc[0])
        row.computed_at = utcnow()
        db.session.add(row)
