"""The symptom diary in tests/data/instruments: an instrument defined in YAML alone loads beside the bundled
ones and works end to end (choices, parsing, scoring with the half rule, codebook, charts, rules, examples)
with no code of its own."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pro_app.instruments import (
    AlertRule,
    Choice,
    InvalidChoice,
    ItemState,
    Threshold,
    build_registry,
    bundled_dir,
    get_registry,
    route,
    score,
    validate_answers,
    value_range,
)
from pro_app.instruments.examples import check_examples
from tests.support.definitions import TEST_INSTRUMENTS


@pytest.fixture(scope="module")
def registry():
    return build_registry(bundled_dir(), TEST_INSTRUMENTS)


@pytest.fixture(scope="module")
def diary(registry):
    return registry.get("symptom_diary")


def scored(diary, rows: list[dict]) -> dict[str, list]:
    frame = pd.DataFrame([{k: float(v) for k, v in r.items()} for r in rows], columns=diary.item_ids)
    result = score(diary, frame)
    return {code: [(None if math.isnan(v) else v, s, n)
                   for v, s, n in zip(result.values[code], result.status[code], result.n_items[code], strict=True)]
            for code in diary.scale_codes}


def test_it_loads_beside_the_bundled_instruments(registry, diary):
    assert registry.ids == ("pro_ctcae", "qlq_br45", "qlq_c30", "symptom_diary")
    assert diary.item_ids == ("sd1", "sd2", "sd3", "sd4", "sd5")
    assert diary.scale_codes == ("SDSYM", "SDPAIN")
    assert diary.source == str(TEST_INSTRUMENTS / "symptom_diary.yaml")
    assert get_registry(TEST_INSTRUMENTS).get("symptom_diary").version == "1.0-test"
    assert "symptom_diary" not in get_registry().ids  # only where the caller names the folder


def test_its_worked_examples_pass(diary):
    assert len(diary.examples) == 4
    assert check_examples(diary) == []


def test_symptom_burden_is_the_mean_of_the_answered_items_with_the_half_rule(diary):
    got = scored(diary, [
        {"sd1": 1, "sd2": 2, "sd3": 3, "sd4": 4},  # 10/4
        {"sd1": 0, "sd2": 1, "sd4": 4},  # 5/3
        {"sd1": 4, "sd3": 1},  # 2 of 4 is enough: 5/2
        {"sd2": 3},  # 1 of 4 is not
        {"sd5": 3},
    ])
    assert got["SDSYM"] == [(2.5, "scored", 4), (5 / 3, "scored", 3), (2.5, "scored", 2), (None, "insufficient", 0),
                            (None, "insufficient", 0)]
    assert got["SDPAIN"] == [(None, "insufficient", 0)] * 4 + [(3.0, "scored", 1)]


def test_worst_pain_is_the_rating_itself(diary):
    got = scored(diary, [{"sd5": v} for v in range(11)])
    assert got["SDPAIN"] == [(float(v), "scored", 1) for v in range(11)]


def test_answers_outside_the_rating_are_refused(diary):
    validate_answers(diary, pd.DataFrame({"sd5": [0, 10, None], "sd1": [0, 4, 2]}))
    with pytest.raises(ValueError, match="column sd5"):
        validate_answers(diary, pd.DataFrame({"sd5": [11]}))
    with pytest.raises(ValueError, match="column sd1"):
        validate_answers(diary, pd.DataFrame({"sd1": [5]}))


def test_the_pain_rating_offers_a_row_of_numbers_with_anchored_points(diary):
    item = diary.item("sd5")
    assert item.type.name == "numeric_rating" and item.layout == "scale"
    choices = item.choices("en")
    assert [c.key for c in choices] == [str(v) for v in range(11)]
    assert choices[0] == Choice("0", "0 (No pain)", 0, None, ItemState.ANSWERED)
    assert choices[5].label == "5 (Moderate pain)" and choices[6].label == "6"
    assert item.choices("es")[10].label == "10 (El peor dolor que pueda imaginar)"
    assert [(v, t.es) for v, t in item.anchors] == [(0, "Sin dolor"), (5, "Dolor moderado"),
                                                    (10, "El peor dolor que pueda imaginar")]


@pytest.mark.parametrize("key, expected", [("0", 0), ("7", 7), ("10", 10)])
def test_the_pain_rating_parses_a_posted_number(diary, key, expected):
    assert diary.item("sd5").parse(key) == (expected, None, ItemState.ANSWERED)


@pytest.mark.parametrize("key", ["11", "-1", "7.5", "seven", "", "07"])
def test_the_pain_rating_refuses_anything_else(diary, key):
    with pytest.raises(InvalidChoice) as info:
        diary.item("sd5").parse(key)
    assert info.value.allowed == tuple(str(v) for v in range(11))


def test_codebook_texts(diary):
    assert diary.item("sd5").codebook() == (
        "0 = No pain; 1 = 1; 2 = 2; 3 = 3; 4 = 4; 5 = Moderate pain; 6 = 6; 7 = 7; 8 = 8; 9 = 9; "
        "10 = Worst pain you can imagine")
    assert diary.item("sd1").codebook() == (
        "0 = Not at all; 1 = A little; 2 = Moderately; 3 = Quite a lot; 4 = Extremely")


def test_single_choice_items_of_the_diary(diary):
    for item_id in ("sd1", "sd2"):  # sd2 names its type, sd1 does not
        item = diary.item(item_id)
        assert item.type.name == "single_choice" and item.layout == "list"
        assert [c.key for c in item.choices("es")] == ["0", "1", "2", "3", "4"]


def test_every_item_is_shown_with_no_branching(diary):
    assert route(diary, {"sd1": 0}).shown == diary.item_ids
    assert diary.items_for_selection() == diary.item_ids and not diary.selectable


def test_rules_carried_by_the_diary(diary):
    assert diary.default_thresholds() == {"SDSYM": {"above": 2}, "SDPAIN": {"above": 6}}
    assert diary.scale("SDPAIN").threshold == Threshold("above", 6)
    assert diary.alert_rules == (AlertRule("threshold", 2),)
    assert [value_range(diary, s) for s in diary.scales] == [(0.0, 4.0), (0.0, 10.0)]
    assert not any(s.higher_is_better for s in diary.scales)


def test_reports_get_a_default_chart_with_no_charts_block(diary):
    (chart,) = diary.charts
    assert (chart.id, chart.types) == ("symptom", ("symptom",))
    assert chart.title.en == "Daily symptom diary (test instrument): symptoms (higher is worse)"
    assert chart.title.es == "Diario de síntomas (instrumento de prueba): síntomas (un valor más alto es peor)"
    assert [s.code for s in diary.chart_scales(chart)] == ["SDSYM", "SDPAIN"]
