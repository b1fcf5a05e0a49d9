"""The rules that raise alerts from an assessment's scores and answers."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import ALERT_KINDS, Alert, Assessment
from ..vocabulary import AlertKind, ItemState

#: PRO-CTCAE composite grade that raises an alert (a severe or worse symptom; SCORING.md §4)
ALERT_GRADE = 3
#: PRO-CTCAE item answer that raises an alert (the top of the 0-4 scale)
ALERT_ITEM_VALUE = 4


def raise_alerts(assessment: Assessment) -> list[Alert]:
    """Alerts for a clinician: PRO-CTCAE grade 3, a PRO-CTCAE item answered 4, a QLQ-C30 scale past the
    study's threshold for clinical importance. A condition the assessment already has an alert for (open
    or acknowledged, e.g. before a staff correction re-scored it) is not raised again. Returns the new ones."""
    study = assessment.participant.study
    existing = set(db.session.execute(
        select(Alert.kind, Alert.source).where(Alert.assessment_id == assessment.id)).all())
    found: list[tuple[str, str, float]] = []
    for s in assessment.scores:
        if s.value is None:
            continue
        if s.instrument_id == "pro_ctcae" and s.value >= ALERT_GRADE:
            found.append((AlertKind.GRADE_AT_LEAST, s.scale_code, s.value))
        rule = study.thresholds.get(s.scale_code) if s.instrument_id == "qlq_c30" else None
        if rule and (("below" in rule and s.value < rule["below"]) or ("above" in rule and s.value > rule["above"])):
            found.append((AlertKind.THRESHOLD, s.scale_code, s.value))
    for r in assessment.responses:
        if r.instrument_id == "pro_ctcae" and r.state == ItemState.ANSWERED and r.value == ALERT_ITEM_VALUE:
            found.append((AlertKind.ITEM_VALUE, r.item_id, float(r.value)))
    alerts = [Alert(assessment=assessment, study_id=study.id, kind=kind, urgency=ALERT_KINDS[kind],
                    source=source, value=value) for kind, source, value in found if (kind, source) not in existing]
    db.session.add_all(alerts)
    return alerts
