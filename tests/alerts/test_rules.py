"""A study's alert rules as data: every rule kind, worsening from a missing baseline, switching a rule off,
excluding the baseline, urgencies, and edits that leave alerts already raised as they were."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pro_app.alerts.rules import conditions, default_rules, raise_alerts
from pro_app.extensions import db
from pro_app.models import Alert, Assessment, ItemResponse, Score, Study

ITEM = "PROCTCAE_17A_SCL"
COMPOSITE = "PROCTCAE_17_COMP"


@pytest.fixture
def study(create_study):
    return create_study()


@pytest.fixture
def participant(study, create_participant):
    return create_participant(study, code="P-RULES")


def _complete(assessment_id: int, scores: dict[str, float], answers: dict[str, int] | None = None) -> None:
    assessment = db.session.get(Assessment, assessment_id)
    assessment.status = "completed"
    for code, value in scores.items():
        instrument = "pro_ctcae" if code.startswith("PROCTCAE") else "qlq_c30"
        db.session.add(Score(assessment=assessment, instrument_id=instrument, instrument_version="1",
                             scoring_version="1", scale_code=code, value=value, status="scored", n_items=1))
    for item, value in (answers or {}).items():
        db.session.add(ItemResponse(assessment=assessment, instrument_id="pro_ctcae", instrument_version="1",
                                    item_id=item, value=value, state="answered", language="en", mode="self"))
    db.session.flush()


def _set_rules(study_id: int, rules: list[dict]) -> None:
    db.session.get(Study, study_id).alert_rules = rules
    db.session.flush()


def _found(assessment_id: int) -> set[tuple[str, str, int]]:
    return {(c.kind, c.source, c.urgency) for c in conditions(db.session.get(Assessment, assessment_id))}


def _rule(kind: str, urgency: str = "urgent", **more) -> dict:
    return {"kind": kind, **more, "urgency": urgency, "enabled": True, "exclude_baseline": False}


def test_grade_at_least_per_term_and_default(app, study, participant):
    with app.app_context():
        _complete(participant.assessments["baseline"], {COMPOSITE: 3, "PROCTCAE_9_COMP": 2})
        assert _found(participant.assessments["baseline"]) >= {("grade_at_least", COMPOSITE, 1)}
        assert not any(s == "PROCTCAE_9_COMP" for _, s, _ in _found(participant.assessments["baseline"]))
        # Per term: grade 2 of term 9 is urgent, term 17 needs 4.
        _set_rules(study.id, [_rule("grade_at_least", value=2, source="PROCTCAE_9_COMP"),
                              _rule("grade_at_least", value=4, source=COMPOSITE)])
        assert _found(participant.assessments["baseline"]) == {("grade_at_least", "PROCTCAE_9_COMP", 1)}


def test_worsening_grade_from_baseline_and_a_missing_baseline(app, study, participant):
    with app.app_context():
        _set_rules(study.id, [_rule("worsening_grade", value=2)])
        # No baseline assessment completed: no worsening, and no error.
        _complete(participant.assessments["wk12"], {COMPOSITE: 3})
        assert _found(participant.assessments["wk12"]) == set()
        _complete(participant.assessments["baseline"], {COMPOSITE: 1})
        assert _found(participant.assessments["wk12"]) == {("worsening_grade", COMPOSITE, 1)}
        _set_rules(study.id, [_rule("worsening_grade", value=3)])
        assert _found(participant.assessments["wk12"]) == set()


def test_item_at_a_value_named_or_any(app, study, participant):
    with app.app_context():
        _complete(participant.assessments["baseline"], {}, {ITEM: 4, "PROCTCAE_9A_SCL": 1})
        _set_rules(study.id, [_rule("item_value", value=4)])
        assert _found(participant.assessments["baseline"]) == {("item_value", ITEM, 1)}
        _set_rules(study.id, [_rule("item_value", "review", value=1, source="PROCTCAE_9A_SCL")])
        assert _found(participant.assessments["baseline"]) == {("item_value", "PROCTCAE_9A_SCL", 2)}


def test_scale_threshold_and_worsening_by_ten_points(app, study, participant):
    with app.app_context():
        _set_rules(study.id, [_rule("threshold", "review"), _rule("worsening_score", "note", value=10)])
        _complete(participant.assessments["baseline"], {"PF2": 90.0, "FA": 20.0})
        assert _found(participant.assessments["baseline"]) == set()
        # PF2 (higher is better) 12 points lower and under 83; FA (symptom) 5 points higher.
        _complete(participant.assessments["wk12"], {"PF2": 78.0, "FA": 25.0})
        assert _found(participant.assessments["wk12"]) == {("threshold", "PF2", 2), ("worsening_score", "PF2", 3)}


def test_a_rule_switched_off_and_the_baseline_excluded(app, study, participant):
    with app.app_context():
        _complete(participant.assessments["baseline"], {COMPOSITE: 4})
        _set_rules(study.id, [{**_rule("grade_at_least", value=3), "enabled": False}])
        assert _found(participant.assessments["baseline"]) == set()
        _set_rules(study.id, [{**_rule("grade_at_least", value=3), "exclude_baseline": True}])
        assert _found(participant.assessments["baseline"]) == set()
        _complete(participant.assessments["wk12"], {COMPOSITE: 4})
        assert _found(participant.assessments["wk12"]) == {("grade_at_least", COMPOSITE, 1)}


def test_rule_edits_do_not_change_alerts_already_raised(app, study, participant):
    with app.app_context():
        _complete(participant.assessments["baseline"], {COMPOSITE: 3})
        _set_rules(study.id, [_rule("grade_at_least", value=3)])
        (raised,) = raise_alerts(db.session.get(Assessment, participant.assessments["baseline"]))
        db.session.commit()
        _set_rules(study.id, [_rule("grade_at_least", "note", value=3), _rule("threshold")])
        assert raise_alerts(db.session.get(Assessment, participant.assessments["baseline"])) == []
        _set_rules(study.id, [{**_rule("grade_at_least", value=3), "enabled": False}])
        db.session.commit()
        alerts = db.session.scalars(select(Alert).where(Alert.assessment_id == participant.assessments["baseline"]))
        assert [(a.id, a.kind, a.urgency, a.value) for a in alerts] == [(raised.id, "grade_at_least", 1, 3.0)]


def test_a_study_without_rules_uses_the_definitions_defaults(app, study):
    with app.app_context():
        kept = db.session.get(Study, study.id)
        assert kept.alert_rules is None
        kinds = {(r["kind"], r.get("value"), r["urgency"], r["enabled"]) for r in default_rules()}
        assert ("grade_at_least", 3, "urgent", True) in kinds
        assert ("worsening_grade", 2, "urgent", True) in kinds
        assert ("threshold", None, "review", True) in kinds


def test_through_paper_entry_a_crossing_that_is_no_alert_is_a_flag_in_the_report(app, client, create_study,
                                                                                  create_participant, create_staff):
    from tests.reports.test_reports import WK12, row
    from tests.support.http import login
    from tests.support.kiosk import html
    from tests.support.staff import c30_paper_answers, paper

    study = create_study(terms=[17], instruments=["qlq_c30", "pro_ctcae"])
    with app.app_context():
        _set_rules(study.id, [{**_rule("threshold", "review"), "enabled": False},
                              _rule("worsening_grade", "urgent", value=2)])
        db.session.commit()
    participant = create_participant(study)
    assert login(client, create_staff(studies=[study]).email).status_code == 302
    base = {"PROCTCAE_17A_SCL": "1", "PROCTCAE_17B_SCL": "1", "PROCTCAE_17C_SCL": "1"}
    wk12 = {"PROCTCAE_17A_SCL": "1", "PROCTCAE_17B_SCL": "3", "PROCTCAE_17C_SCL": "3"}
    assert paper(client, participant.assessments["baseline"], c30_paper_answers() | base).status_code == 302
    assert paper(client, participant.assessments["wk12"], c30_paper_answers(WK12) | wk12,
                 early=True).status_code == 302
    with app.app_context():
        kinds = {(a.kind, a.source) for a in db.session.scalars(select(Alert))}
    assert ("worsening_grade", COMPOSITE) in kinds
    assert not any(kind == "threshold" for kind, _ in kinds)
    page = html(client.get(f"/staff/participants/{participant.id}/report"))
    assert "Above 25" in row(page, "PA", "wk12")
