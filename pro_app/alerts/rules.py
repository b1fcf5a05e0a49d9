"""The rules that raise alerts from an assessment's scores and answers.

The rules are data of the instrument definitions (`alert_rules`: a kind, an urgency, a value); a study's
thresholds for clinical importance (its own, editable copy of the definitions') decide the `threshold`
rule. A condition the assessment already has an alert for (open or acknowledged, e.g. before a staff
correction re-scored it) is not raised again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db, library
from ..instruments import AlertRule, Instrument, Threshold
from ..models import Alert, Assessment, ItemResponse, Score, Study
from ..vocabulary import AlertKind, ItemState

#: Scales of this type are graded (PRO-CTCAE composites): the `grade_at_least` rule looks at them.
GRADE_TYPE = "composite"


@dataclass(frozen=True)
class Condition:
    kind: AlertKind
    urgency: int
    source: str  # the scale code or item id
    value: float


def _scale_conditions(rule: AlertRule, instrument: Instrument, score: Score, study: Study) -> Iterator[Condition]:
    scale = instrument.scale(score.scale_code)
    if rule.kind == AlertKind.GRADE_AT_LEAST and scale.type == GRADE_TYPE and score.value >= rule.value:
        yield Condition(AlertKind.GRADE_AT_LEAST, rule.urgency, score.scale_code, score.value)
    # The study's own threshold for the scale (an instrument that takes thresholds: see Instrument).
    threshold = (study.thresholds or {}).get(score.scale_code) if instrument.takes_thresholds else None
    if rule.kind == AlertKind.THRESHOLD and threshold and Threshold.from_dict(threshold).crossed(score.value):
        yield Condition(AlertKind.THRESHOLD, rule.urgency, score.scale_code, score.value)


def _item_conditions(rule: AlertRule, response: ItemResponse) -> Iterator[Condition]:
    if rule.kind == AlertKind.ITEM_VALUE and response.state == ItemState.ANSWERED and response.value == rule.value:
        yield Condition(AlertKind.ITEM_VALUE, rule.urgency, response.item_id, float(response.value))


def conditions(assessment: Assessment) -> list[Condition]:
    """Every condition the assessment's scores and answers meet, under its instruments' rules."""
    study = assessment.participant.study
    found: list[Condition] = []
    for score in assessment.scores:
        if score.value is None:
            continue
        instrument = library.get(score.instrument_id)
        for rule in instrument.alert_rules:
            found.extend(_scale_conditions(rule, instrument, score, study))
    for response in assessment.responses:
        for rule in library.get(response.instrument_id).alert_rules:
            found.extend(_item_conditions(rule, response))
    return found


def raise_alerts(assessment: Assessment) -> list[Alert]:
    """Alerts for the conditions the assessment meets and has no alert for yet; returns the new ones."""
    existing = set(db.session.execute(
        select(Alert.kind, Alert.source).where(Alert.assessment_id == assessment.id)).all())
    study_id = assessment.participant.study_id
    alerts = [Alert(assessment=assessment, study_id=study_id, kind=c.kind, urgency=c.urgency, source=c.source,
                    value=c.value) for c in conditions(assessment) if (c.kind, c.source) not in existing]
    db.session.add_all(alerts)
    return alerts
