"""Instrument rules kept as data in the definitions: clinical-importance thresholds, which direction is
better, default alert rules, report chart groups and selectable terms; plus the state vocabulary."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pro_app.instruments import (
    ALERT_RULE_KINDS,
    ITEM_STATES,
    SCORE_STATUSES,
    AlertRule,
    InstrumentError,
    ItemState,
    ScoreStatus,
    Threshold,
    build_registry,
    get_instrument,
    load_file,
)
from pro_app.instruments.model import Text
from tests.support.definitions import BUNDLED, assert_reported, definition, load_error, write

C30 = get_instrument("qlq_c30")
BR45 = get_instrument("qlq_br45")
PC = get_instrument("pro_ctcae")
PF2, FA, QL2, SUMSC = 1, 6, 0, 15  # positions in qlq_c30.yaml's scales


@pytest.fixture
def c30() -> dict:
    return definition(BUNDLED / "qlq_c30.yaml")


@pytest.fixture
def pro_ctcae() -> dict:
    return definition(BUNDLED / "pro_ctcae.yaml")


# --- thresholds for clinical importance (SCORING.md §3) ------------------------------------------------
#: What the app stored as DEFAULT_THRESHOLDS before the thresholds became data.
APP_DEFAULT_THRESHOLDS = {
    "PF2": {"below": 83}, "RF2": {"below": 58}, "SF": {"below": 58}, "EF": {"below": 71}, "CF": {"below": 75},
    "FA": {"above": 39}, "PA": {"above": 25}, "NV": {"above": 8}, "SL": {"above": 50}, "DY": {"above": 17},
    "AP": {"above": 50}, "CO": {"above": 50}, "DI": {"above": 17}, "FI": {"above": 17},
}


def test_c30_default_thresholds_are_the_published_ones_in_the_stored_shape():
    thresholds = C30.default_thresholds()
    assert thresholds == APP_DEFAULT_THRESHOLDS
    assert all(type(v) is int for rule in thresholds.values() for v in rule.values())
    assert C30.scale("QL2").threshold is None and C30.scale("SUMSC").threshold is None
    assert C30.scale("PF2").threshold == Threshold("below", 83)
    assert BR45.default_thresholds() == {} and PC.default_thresholds() == {}


def test_default_thresholds_are_a_fresh_copy_each_time():
    first = C30.default_thresholds()
    first["PF2"]["below"] = 1
    assert C30.default_thresholds()["PF2"] == {"below": 83}


def test_a_threshold_is_crossed_strictly_and_never_by_a_missing_score():
    below, above = Threshold("below", 83), Threshold("above", 39)
    values = np.array([0.0, 82.99, 83.0, 83.01, 100.0, math.nan])
    assert below.crossed(values).tolist() == [True, True, False, False, False, False]
    assert above.crossed(np.array([39.0, 39.01, 100.0, math.nan])).tolist() == [False, True, True, False]
    assert above.crossed([40, 10]).tolist() == [True, False]  # any array-like


def test_a_threshold_from_the_stored_shape():
    assert Threshold.from_dict({"above": 17}) == Threshold("above", 17)
    assert Threshold.from_dict(C30.default_thresholds()["PF2"]) == C30.scale("PF2").threshold
    with pytest.raises(ValueError, match="exactly one direction"):
        Threshold.from_dict({"below": 83, "above": 10})
    with pytest.raises(ValueError, match="'under'"):
        Threshold.from_dict({"under": 83})


def test_threshold_with_an_unknown_direction(c30, tmp_path):
    c30["scales"][PF2]["threshold"] = {"under": 83}
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[1].threshold", "'under'", "below", "above")


def test_threshold_with_two_directions(c30, tmp_path):
    c30["scales"][PF2]["threshold"] = {"below": 83, "above": 10}
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[1].threshold", "too many properties")


@pytest.mark.parametrize(
    "position, threshold, expected",
    [(PF2, {"above": 83}, "a functional scale is flagged below its threshold, not above"),
     (FA, {"below": 39}, "a symptom scale is flagged above its threshold, not below")],
    ids=["functional-above", "symptom-below"],
)
def test_threshold_in_the_wrong_direction_for_the_scale(c30, tmp_path, position, threshold, expected):
    c30["scales"][position]["threshold"] = threshold
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, f"scales[{position}].threshold", expected)


def test_threshold_outside_the_scale_values(c30, tmp_path):
    c30["scales"][PF2]["threshold"] = {"below": 120}
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[1].threshold", "120", "outside", "PF2", "0 to 100")


def test_a_threshold_on_any_scale_type_that_has_a_direction(c30, tmp_path):
    c30["scales"][QL2]["threshold"] = {"below": 50.5}
    c30["scales"][SUMSC]["threshold"] = {"below": 60}
    instrument = load_file(write(tmp_path, c30))
    assert instrument.default_thresholds()["QL2"] == {"below": 50.5}
    assert instrument.scale("SUMSC").threshold == Threshold("below", 60)


# --- which direction is better --------------------------------------------------------------------------
def test_higher_is_better_follows_the_scale_type():
    better = {s.code for s in C30.scales if s.higher_is_better}
    assert better == {"QL2", "PF2", "RF2", "EF", "CF", "SF", "SUMSC"}
    assert {s.code for s in BR45.scales if s.higher_is_better} == {"BI", "FU", "SX", "SE", "BS"}
    assert not any(s.higher_is_better for s in PC.scales)


# --- default alert rules ----------------------------------------------------------------------------------
def test_default_alert_rules_of_the_bundled_instruments():
    assert ALERT_RULE_KINDS == ("grade_at_least", "item_value", "threshold")
    assert PC.alert_rules == (AlertRule("grade_at_least", 1, 3), AlertRule("item_value", 1, 4))
    assert C30.alert_rules == (AlertRule("threshold", 2, None),)
    assert BR45.alert_rules == ()


@pytest.mark.parametrize(
    "rule, where, words",
    [
        ({"kind": "grade_above", "urgency": 1, "value": 3}, "alert_rules[2].kind",
         ("unknown alert rule kind 'grade_above'", "grade_at_least, item_value, threshold")),
        ({"kind": "grade_at_least", "urgency": 1}, "alert_rules[2]", ("grade_at_least", "needs a `value`")),
        ({"kind": "item_value", "urgency": 1, "value": 7}, "alert_rules[2].value", ("7", "not an answer value")),
        ({"kind": "threshold", "urgency": 2, "value": 3}, "alert_rules[2]", ("threshold", "takes no `value`")),
        ({"kind": "threshold", "urgency": 2}, "alert_rules[2].kind", ("needs a scale with a `threshold`",)),
        ({"kind": "grade_at_least", "urgency": 1, "value": 4}, "alert_rules[2].value",
         ("no composite scale reaches a grade of 4",)),
        ({"kind": "item_value", "urgency": 0, "value": 4}, "alert_rules[2].urgency", ("minimum",)),
        ({"kind": "item_value", "urgency": 1, "value": 4, "level": "red"}, "alert_rules[2]", ("'level'",)),
    ],
    ids=["unknown-kind", "grade-without-value", "item-value-not-an-answer", "threshold-with-value",
         "threshold-without-thresholds", "grade-out-of-range", "urgency-below-1", "unknown-key"],
)
def test_alert_rule_errors(pro_ctcae, tmp_path, rule, where, words):
    pro_ctcae["alert_rules"].append(rule)
    error, path = load_error(tmp_path, pro_ctcae)
    assert_reported(error, path, where, *words)


def test_grade_rule_needs_a_composite_scale(c30, tmp_path):
    c30["alert_rules"].append({"kind": "grade_at_least", "urgency": 1, "value": 3})
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "alert_rules[1].kind", "grade_at_least needs a composite scale")


def test_alert_rules_are_optional(c30, tmp_path):
    del c30["alert_rules"]
    assert load_file(write(tmp_path, c30)).alert_rules == ()


# --- report chart groups ----------------------------------------------------------------------------------
def test_bundled_chart_groups():
    charts = {(i.id, c.id): (c.types, c.title.en) for i in (C30, BR45, PC) for c in i.charts}
    assert charts == {
        ("qlq_c30", "functioning"): (("global", "functional", "summary"),
                                     "QLQ-C30: global health status and functioning (higher is better)"),
        ("qlq_c30", "symptoms"): (("symptom",), "QLQ-C30: symptoms (higher is worse)"),
        ("qlq_br45", "functioning"): (("functional",), "QLQ-BR45: functioning (higher is better)"),
        ("qlq_br45", "symptoms"): (("symptom",), "QLQ-BR45: symptoms (higher is worse)"),
        ("pro_ctcae", "composites"): (("composite",), "PRO-CTCAE: composite grade per symptom (0 to 3)"),
    }
    assert C30.chart("functioning").title.es == (
        "QLQ-C30: estado de salud global y funcionamiento (un valor más alto es mejor)")
    assert all(c.title.es and c.title.es != c.title.en for i in (C30, BR45, PC) for c in i.charts)


def test_a_chart_shows_its_scale_types_in_instrument_order():
    codes = [s.code for s in C30.chart_scales(C30.chart("functioning"))]
    assert codes == ["QL2", "PF2", "RF2", "EF", "CF", "SF", "SUMSC"]
    assert len(PC.chart_scales(PC.chart("composites"))) == len(PC.scales)
    with pytest.raises(KeyError):
        C30.chart("composites")


def test_without_charts_one_group_per_scale_type_in_order_of_appearance(c30, tmp_path):
    del c30["charts"]
    instrument = load_file(write(tmp_path, c30))
    assert [(c.id, c.types) for c in instrument.charts] == [
        ("global", ("global",)), ("functional", ("functional",)), ("symptom", ("symptom",)),
        ("summary", ("summary",))]
    title = instrument.chart("symptom").title
    assert title == Text("Quality of life core questionnaire (QLQ-C30-style): symptoms (higher is worse)",
                         "Cuestionario básico de calidad de vida (estilo QLQ-C30): síntomas (un valor más alto "
                         "es peor)")


@pytest.mark.parametrize(
    "change, where, words",
    [
        (lambda charts: charts[1].update(id="functioning"), "charts[1].id", ("duplicate chart id 'functioning'",)),
        (lambda charts: charts[1]["types"].append("composite"), "charts[1].types[1]", ("no scale of type",)),
        (lambda charts: charts[1].update(types=["symptoms"]), "charts[1].types[0]", ("'symptoms'",)),
        (lambda charts: charts[1].update(types=[]), "charts[1].types", ("should be non-empty",)),
        (lambda charts: charts[1]["title"].pop("es"), "charts[1].title", ("'es'",)),
    ],
    ids=["duplicate-id", "type-without-scales", "unknown-type", "no-types", "untranslated-title"],
)
def test_chart_errors(c30, tmp_path, change, where, words):
    change(c30["charts"])
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, where, *words)


# --- selectable items (PRO-CTCAE terms) --------------------------------------------------------------------
def test_pro_ctcae_is_selectable_by_term():
    assert PC.selectable
    assert PC.default_selection() == PC.default_term_set.terms and len(PC.default_selection()) == 25
    assert [t.number for t in PC.selection_choices()] == list(range(1, 81))
    assert PC.selection_choices()[16].name.en and PC.selection_choices()[16].name.es
    assert PC.items_for_selection([17]) == ("PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL")
    assert PC.items_for_selection([18, 17])[:3] == PC.items_for_selection([17])  # instrument order
    assert PC.items_for_selection(()) == ()


def test_an_unknown_term_is_an_error():
    with pytest.raises(ValueError, match=r"\[81\]"):
        PC.items_for_selection([17, 81])


def test_an_instrument_without_terms_is_asked_whole():
    assert not C30.selectable
    assert C30.default_selection() == () and C30.selection_choices() == ()
    assert C30.items_for_selection() == C30.item_ids == C30.items_for_selection(())
    with pytest.raises(ValueError, match="qlq_c30 has no selectable terms"):
        C30.items_for_selection([1])


# --- the state vocabulary (SCORING.md §5) -----------------------------------------------------------------
def test_states_and_statuses_are_string_enums_with_the_contract_values():
    assert ITEM_STATES == ("answered", "declined", "branched", "not_applicable", "not_reached")
    assert SCORE_STATUSES == ("scored", "insufficient", "not_applicable")
    assert tuple(ItemState) == ITEM_STATES and tuple(ScoreStatus) == SCORE_STATUSES
    assert ItemState.NOT_REACHED == "not_reached" and f"{ScoreStatus.INSUFFICIENT}" == "insufficient"


# --- a licensed override keeps the rules ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "change, part",
    [
        (lambda doc: doc["scales"][PF2].update(threshold={"below": 80}), "scales"),
        (lambda doc: doc["scales"][QL2].update(threshold={"below": 50}), "scales"),
        (lambda doc: doc["alert_rules"][0].update(urgency=1), "alert rules"),
        (lambda doc: doc["charts"][1]["types"].append("summary"), "charts"),
    ],
    ids=["threshold-changed", "threshold-added", "alert-rule", "chart-types"],
)
def test_an_override_may_not_change_the_rules(c30, tmp_path, change, part):
    bundled = tmp_path / "bundled"
    write(bundled, c30, "qlq_c30.yaml")
    licensed = definition(BUNDLED / "qlq_c30.yaml")
    licensed["wording"] = "licensed"
    licensed["charts"][0]["title"]["en"] = "Functioning (licensed title)"  # titles are wording: allowed
    write(tmp_path / "site", licensed, "qlq_c30.yaml")
    assert build_registry(bundled, tmp_path / "site").get("qlq_c30").chart("functioning").title.en == (
        "Functioning (licensed title)")

    change(licensed)
    write(tmp_path / "site", licensed, "qlq_c30.yaml")
    with pytest.raises(InstrumentError, match="structure") as info:
        build_registry(bundled, tmp_path / "site")
    assert f"changes its {part};" in str(info.value)
