"""The rules that raise alerts from an assessment's scores and answers.

A study's alert rules are data of the study (`Study.alert_rules`, edited in the study form and its YAML);
a study without its own rules uses the defaults the instrument definitions carry (`alert_rules`), plus the
worsening-from-baseline rules (`default_rules`). Each rule is a mapping:

- `grade_at_least` (value: the grade, default 3; optional `source`: one composite, i.e. per term),
- `worsening_grade` (value: grade points up from the participant's baseline, default 2; optional `source`),
- `item_value` (value: the answer; optional `source`: one item id, otherwise any item of the instruments
  whose definitions carry the rule),
- `threshold` (the study's own threshold for clinical importance of each scale; optional `source`),
- `worsening_score` (value: points worse than baseline, default 10; optional `source`),

with `urgency` (urgent / review / note), `enabled` (true / false) and `exclude_baseline` (true / false).
A condition the assessment already has an alert for (any status) is not raised again, and editing the
rules never changes alerts already raised (each keeps the urgency and value it was raised with).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .. import audit
from ..extensions import db, library
from ..instruments import Threshold
from ..models import Alert, Assessment, Score, Study, Timepoint
from ..vocabulary import URGENCY_NAMES, Actor, AlertKind, AlertStatus, AssessmentStatus, ItemState
from . import notify

#: Scales of this type are graded (PRO-CTCAE composites): the grade rules look at them.
GRADE_TYPE = "composite"
#: Rule kinds that compare with the participant's baseline assessment.
WORSENING_KINDS = (AlertKind.WORSENING_GRADE, AlertKind.WORSENING_SCORE)
#: The value a rule of each kind has when none is given.
DEFAULT_VALUES = {AlertKind.GRADE_AT_LEAST: 3, AlertKind.WORSENING_GRADE: 2, AlertKind.WORSENING_SCORE: 10}
_URGENCY_OF_LEVEL = {int(level): name for name, level in URGENCY_NAMES.items()}


@dataclass(frozen=True)
class Condition:
    kind: AlertKind
    urgency: int
    source: str  # the scale code or item id
    value: float
    baseline: float | None = None  # worsening rules: the baseline value compared with


def default_rules() -> list[dict[str, Any]]:
    """A new study's rules: the instrument definitions' rules (first of each kind and value), then a
    worsening of 2 grade points (urgent) and of 10 points on a scale (a note, off: the report flags it)."""
    rules: list[dict[str, Any]] = []
    seen = set()
    for instrument in library.registry:
        for rule in instrument.alert_rules:
            key = (rule.kind, rule.value)
            if key in seen:
                continue
            seen.add(key)
            entry: dict[str, Any] = {"kind": rule.kind}
            if rule.value is not None:
                entry["value"] = int(rule.value) if float(rule.value).is_integer() else rule.value
            entry.update(urgency=_URGENCY_OF_LEVEL.get(rule.urgency, "review"), enabled=True,
                         exclude_baseline=False)
            rules.append(entry)
    kinds = {r["kind"] for r in rules}
    if AlertKind.GRADE_AT_LEAST in kinds:
        rules.append({"kind": str(AlertKind.WORSENING_GRADE), "value": 2, "urgency": "urgent", "enabled": True,
                      "exclude_baseline": True})
    if AlertKind.THRESHOLD in kinds:
        rules.append({"kind": str(AlertKind.WORSENING_SCORE), "value": 10, "urgency": "note", "enabled": False,
                      "exclude_baseline": True})
    return rules


def study_rules(study: Study) -> list[dict[str, Any]]:
    """The study's own rules, or the defaults if it has none."""
    return study.alert_rules if study.alert_rules is not None else default_rules()


def _baseline(assessment: Assessment) -> Assessment | None:
    """The participant's completed (or partial) assessment at the study's baseline timepoint (None: none, or
    this is it)."""
    if _is_baseline(assessment):
        return None
    return db.session.scalar(
        select(Assessment).join(Assessment.timepoint)
        .where(Assessment.participant_id == assessment.participant_id,
               Assessment.status.in_((AssessmentStatus.COMPLETED, AssessmentStatus.PARTIAL)),
               Timepoint.position == assessment.participant.study.baseline_position, Assessment.occurrence == 1)
        .order_by(Assessment.id).limit(1))


def _is_baseline(assessment: Assessment) -> bool:
    timepoint = assessment.timepoint
    return (timepoint is not None and assessment.occurrence == 1
            and timepoint.position == assessment.participant.study.baseline_position)


def _score_conditions(rule: dict, score: Score, study: Study, base: dict[str, float]) -> Iterator[Condition]:
    kind, urgency, source = rule["kind"], URGENCY_NAMES[rule["urgency"]], rule.get("source")
    if source and source != score.scale_code:
        return
    instrument = library.get(score.instrument_id)
    scale = instrument.scale(score.scale_code)
    value = DEFAULT_VALUES.get(kind) if rule.get("value") is None else rule["value"]
    graded = scale.type == GRADE_TYPE
    if kind == AlertKind.GRADE_AT_LEAST and graded and score.value >= value:
        yield Condition(AlertKind.GRADE_AT_LEAST, urgency, score.scale_code, score.value)
    elif kind == AlertKind.THRESHOLD and not graded and instrument.takes_thresholds:
        threshold = (study.thresholds or {}).get(score.scale_code)
        if threshold and Threshold.from_dict(threshold).crossed(score.value):
            yield Condition(AlertKind.THRESHOLD, urgency, score.scale_code, score.value)
    elif kind in WORSENING_KINDS and score.scale_code in base:
        before = base[score.scale_code]
        if kind == AlertKind.WORSENING_GRADE and graded and score.value - before >= value:
            yield Condition(AlertKind.WORSENING_GRADE, urgency, score.scale_code, score.value, before)
        elif kind == AlertKind.WORSENING_SCORE and not graded:
            worse = before - score.value if scale.higher_is_better else score.value - before
            if worse >= value:
                yield Condition(AlertKind.WORSENING_SCORE, urgency, score.scale_code, score.value, before)


def _item_rule_applies(rule: dict, instrument_id: str, item_id: str) -> bool:
    if rule.get("source"):
        return rule["source"] == item_id
    return any(r.kind == AlertKind.ITEM_VALUE for r in library.get(instrument_id).alert_rules)


def conditions(assessment: Assessment) -> list[Condition]:
    """Every condition the assessment's scores and answers meet, under its study's enabled rules."""
    study = assessment.participant.study
    rules = [r for r in study_rules(study) if r.get("enabled", True)
             and not (r.get("exclude_baseline") and _is_baseline(assessment))]
    base: dict[str, float] = {}
    if any(r["kind"] in WORSENING_KINDS for r in rules):
        before = _baseline(assessment)
        if before is not None:
            base = {s.scale_code: s.value for s in before.scores if s.value is not None}
    found: list[Condition] = []
    for rule in rules:
        if rule["kind"] == AlertKind.ITEM_VALUE:
            for response in assessment.responses:
                if (response.state == ItemState.ANSWERED and response.value is not None
                        and response.value == rule["value"]
                        and _item_rule_applies(rule, response.instrument_id, response.item_id)):
                    found.append(Condition(AlertKind.ITEM_VALUE, URGENCY_NAMES[rule["urgency"]], response.item_id,
                                           float(response.value)))
            continue
        for score in assessment.scores:
            if score.value is not None:
                found.extend(_score_conditions(rule, score, study, base))
    # One condition per kind and source (the most urgent, if two rules meet it).
    best: dict[tuple[str, str], Condition] = {}
    for c in found:
        key = (c.kind, c.source)
        if key not in best or c.urgency < best[key].urgency:
            best[key] = c
    return list(best.values())


def reevaluate(assessment: Assessment, *, user_id: int, reason: str) -> list[Alert]:
    """After a correction: an alert whose condition no longer holds is closed as resolved by correction, one
    whose condition holds again is opened again, one still holding shows the current value; a new condition
    raises a new alert (returned). Each change is audited with the correction's reason."""
    current = {(c.kind, c.source): c for c in conditions(assessment)}
    study_id = assessment.participant.study_id
    for alert in db.session.scalars(select(Alert).where(Alert.assessment_id == assessment.id)):
        condition = current.get((alert.kind, alert.source))
        old = {"status": alert.status, "value": alert.value}
        if condition is None:
            if alert.status == AlertStatus.RESOLVED:
                continue
            alert.status = AlertStatus.RESOLVED
            action = "alert.resolved_by_correction"
        else:
            if alert.status == AlertStatus.RESOLVED:
                alert.status = AlertStatus.OPEN
            alert.value = condition.value
            if old == {"status": alert.status, "value": alert.value}:
                continue
            action = "alert.updated_by_correction"
        audit.record(action, "alert", alert.id, actor=Actor.USER, user_id=user_id, study_id=study_id, old=old,
                     new={"status": alert.status, "value": alert.value}, reason=reason)
    return raise_alerts(assessment)


def raise_alerts(assessment: Assessment) -> list[Alert]:
    """Alerts for the conditions the assessment meets and has no alert for yet; returns the new ones. Their
    emails are queued in the same transaction and sent once it commits (notify.py)."""
    existing = set(db.session.execute(
        select(Alert.kind, Alert.source).where(Alert.assessment_id == assessment.id)).all())
    study_id = assessment.participant.study_id
    alerts = [Alert(assessment=assessment, study_id=study_id, kind=c.kind, urgency=c.urgency, source=c.source,
                    value=c.value, baseline_value=c.baseline)
              for c in conditions(assessment) if (c.kind, c.source) not in existing]
    db.session.add_all(alerts)
    notify.queue(assessment, alerts)
    return alerts
