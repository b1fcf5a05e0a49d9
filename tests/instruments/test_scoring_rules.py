"""Hand-computed cases for every rule of SCORING.md: half rule, formulas, gates, SUMSC, composites."""

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pro_app.instruments import AnswerError, get_instrument, get_registry, score, validate_answers
from pro_app.instruments.examples import example_problems
from tests.support.scoring import score_one

WORKED = [2, 3, 2, 1, 1, 2, 2, 1, 2, 3, 2, 2, 1, 1, 1, 1, 1, 2, 1, 1, 2, 2, 1, 1, 1, 1, 2, 1, 5, 5]
C30_WORKED = {f"q{n}": v for n, v in enumerate(WORKED, start=1)}


@pytest.mark.parametrize(
    "instrument_id, example",
    [(inst.id, ex) for inst in get_registry() for ex in inst.examples],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_worked_examples_in_every_definition(instrument_id, example):
    assert example_problems(get_instrument(instrument_id), example) == []


def test_c30_worked_example_to_the_last_decimal():
    got = {code: value for code, (value, _, _) in score_one("qlq_c30", C30_WORKED).items()}
    # Exact fractions of the rules, unrounded: e.g. PF2 = (1 - (RS - 1)/3) * 100 with RS = 9/5.
    assert got["PF2"] == pytest.approx((1 - (9 / 5 - 1) / 3) * 100, abs=1e-12)
    assert got["QL2"] == pytest.approx((5 - 1) / 6 * 100, abs=1e-12)
    assert got["FA"] == pytest.approx((7 / 3 - 1) / 3 * 100, abs=1e-12)
    expected = {
        "QL2": 66.67,
        "PF2": 73.33,
        "RF2": 66.67,
        "EF": 83.33,
        "CF": 100,
        "SF": 83.33,
        "FA": 44.44,
        "NV": 0,
        "PA": 16.67,
        "DY": 0,
        "SL": 33.33,
        "AP": 0,
        "CO": 0,
        "DI": 0,
        "FI": 0,
        "SUMSC": 85.56,
    }
    assert {c: round(v, 2) for c, v in got.items()} == expected


C30_MULTI_ITEM = {
    "QL2": (29, 30),
    "PF2": (1, 2, 3, 4, 5),
    "RF2": (6, 7),
    "EF": (21, 22, 23, 24),
    "CF": (20, 25),
    "SF": (26, 27),
    "FA": (10, 12, 18),
    "NV": (14, 15),
    "PA": (9, 19),
}


@pytest.mark.parametrize("code", sorted(C30_MULTI_ITEM))
def test_c30_half_rule_boundary(code):
    items = C30_MULTI_ITEM[code]
    needed = math.ceil(len(items) / 2)
    for answered in range(len(items) + 1):
        answers = {f"q{n}": 2 for n in items[:answered]}
        value, status, used = score_one("qlq_c30", answers)[code]
        if answered >= needed:
            assert status == "scored" and used == answered
            expected = {"QL2": 100 / 6}.get(code, 100 / 3 if code in ("FA", "NV", "PA") else 200 / 3)
            assert value == pytest.approx(expected)
        else:
            assert (value, status, used) == (None, "insufficient", 0)


@pytest.mark.parametrize("code, item", [("DY", 8), ("SL", 11), ("AP", 13), ("CO", 16), ("DI", 17), ("FI", 28)])
def test_c30_single_item_scale_is_missing_when_its_item_is(code, item):
    answers = dict(C30_WORKED)
    assert score_one("qlq_c30", answers)[code][1] == "scored"
    del answers[f"q{item}"]
    assert score_one("qlq_c30", answers)[code] == (None, "insufficient", 0)


def test_global_health_is_not_scored_with_the_functional_formula():
    assert score_one("qlq_c30", {"q29": 7, "q30": 7})["QL2"][0] == 100
    assert score_one("qlq_c30", {"q29": 1, "q30": 1})["QL2"][0] == 0
    assert score_one("qlq_c30", {"q29": 4, "q30": 5})["QL2"][0] == pytest.approx((4.5 - 1) / 6 * 100)


def test_summary_score_needs_all_thirteen_scales_and_ignores_ql2_and_fi():
    base = score_one("qlq_c30", C30_WORKED)
    components = ["PF2", "RF2", "EF", "CF", "SF"]
    symptoms = ["FA", "NV", "PA", "DY", "SL", "AP", "CO", "DI"]
    by_hand = (sum(base[c][0] for c in components) + sum(100 - base[c][0] for c in symptoms)) / 13
    assert base["SUMSC"][0] == pytest.approx(by_hand, abs=1e-12)
    without_ql_fi = {k: v for k, v in C30_WORKED.items() if k not in ("q28", "q29", "q30")}
    assert score_one("qlq_c30", without_ql_fi)["SUMSC"][0] == pytest.approx(by_hand, abs=1e-12)
    for item in ("q8", "q11", "q13", "q16", "q17"):
        answers = {k: v for k, v in C30_WORKED.items() if k != item}
        assert score_one("qlq_c30", answers)["SUMSC"] == (None, "insufficient", 0)


def test_summary_with_missing_items_uses_the_component_scores_computed_from_answered_items():
    answers = {k: v for k, v in C30_WORKED.items() if k not in ("q2", "q4")}
    got = score_one("qlq_c30", answers)
    assert got["PF2"][0] == pytest.approx((1 - (5 / 3 - 1) / 3) * 100)
    assert round(got["PF2"][0], 2) == 77.78
    assert got["SUMSC"][0] == pytest.approx((85.5555555555 * 13 - 73.333333333333 + got["PF2"][0]) / 13, abs=1e-6)


def test_extreme_answers():
    answers = {f"q{n}": 4 for n in range(1, 29)} | {"q29": 1, "q30": 1}
    got = score_one("qlq_c30", answers)
    inst = get_instrument("qlq_c30")
    for scale in inst.scales:
        expected = {"functional": 0, "symptom": 100, "global": 0, "summary": 0}[scale.type]
        assert got[scale.code][0] == expected, scale.code


BR45_WORKED = dict(
    zip(
        (f"q{n}" for n in range(31, 76)),
        [
            1,
            2,
            3,
            4,
            4,
            2,
            2,
            3,
            2,
            1,
            2,
            3,
            4,
            4,
            3,
            1,
            2,
            3,
            2,
            1,
            4,
            3,
            4,
            1,
            4,
            3,
            3,
            4,
            3,
            2,
            4,
            3,
            3,
            2,
            3,
            3,
            2,
            2,
            1,
            3,
            1,
            3,
            3,
            1,
            4,
        ],
        strict=True,
    )
)


def test_br45_worked_example():
    got = {c: round(v, 2) for c, (v, _, _) in score_one("qlq_br45", BR45_WORKED).items()}
    assert got == {
        "BI": 66.67,
        "FU": 0,
        "SX": 83.33,
        "SE": 0,
        "BS": 50,
        "SYS": 47.62,
        "HU": 100,
        "ARM": 44.44,
        "BR": 66.67,
        "ET": 46.67,
        "SM": 72.22,
        "ES": 50,
    }


def test_hair_loss_upset_is_not_applicable_without_hair_loss_whatever_was_answered():
    answers = BR45_WORKED | {"q34": 1, "q35": 4}
    assert score_one("qlq_br45", answers)["HU"] == (None, "not_applicable", 0)
    answers = BR45_WORKED | {"q34": 2, "q35": 4}
    assert score_one("qlq_br45", answers)["HU"] == (100, "scored", 1)
    # Gate unanswered: the gated item counts as usual; gated item unanswered: missing, not "not applicable".
    answers = {k: v for k, v in BR45_WORKED.items() if k != "q34"}
    assert score_one("qlq_br45", answers)["HU"] == (100, "scored", 1)
    answers = {k: v for k, v in BR45_WORKED.items() if k != "q35"}
    assert score_one("qlq_br45", answers)["HU"] == (None, "insufficient", 0)


def test_sexual_enjoyment_and_endocrine_sexual_symptoms_follow_sexual_activity():
    inactive = BR45_WORKED | {"q45": 1, "q46": 4, "q70": 3, "q71": 1, "q72": 4, "q73": 4}
    got = score_one("qlq_br45", inactive)
    assert got["SE"] == (None, "not_applicable", 0)
    assert got["SX"][0] == pytest.approx((2.5 - 1) / 3 * 100)  # q44 = 4, q45 = 1: SX is never gated
    assert got["ES"] == (pytest.approx((2 - 1) / 3 * 100), "scored", 2)  # q72, q73 excluded
    # Half rule over the applicable items: 1 of q70-q71 is enough when q72-q73 are gated out ...
    only_q70 = {k: v for k, v in inactive.items() if k not in ("q71",)}
    assert score_one("qlq_br45", only_q70)["ES"] == (pytest.approx(200 / 3), "scored", 1)
    # ... and answers on gated-out items never make up for missing applicable ones.
    none_applicable = {k: v for k, v in inactive.items() if k not in ("q70", "q71")}
    assert score_one("qlq_br45", none_applicable)["ES"] == (None, "insufficient", 0)
    # Sexually active: all four items count, 2 of 4 suffice.
    active = {k: v for k, v in BR45_WORKED.items() if k not in ("q70", "q71")}
    assert score_one("qlq_br45", active)["ES"] == (pytest.approx(200 / 3), "scored", 2)


def test_positively_worded_br45_scales_are_scored_on_raw_values():
    got = score_one("qlq_br45", {"q44": 4, "q45": 4, "q46": 4, "q74": 4, "q75": 4, "q39": 1, "q40": 1, "q43": 1})
    assert [got[c][0] for c in ("SX", "SE", "BS")] == [100, 100, 100]
    assert [got[c][0] for c in ("BI", "FU")] == [100, 100]  # functional formula: not at all = best


@pytest.mark.parametrize("code, n_items", [("SYS", 7), ("ET", 10), ("SM", 6), ("BR", 4), ("ARM", 3), ("BI", 4)])
def test_br45_half_rule_boundary(code, n_items):
    items = get_instrument("qlq_br45").scale(code).items
    assert len(items) == n_items
    needed = math.ceil(n_items / 2)
    assert score_one("qlq_br45", {i: 3 for i in items[: needed - 1]})[code][1] == "insufficient"
    assert score_one("qlq_br45", {i: 3 for i in items[:needed]})[code][1] == "scored"


# --- PRO-CTCAE composite grades -------------------------------------------------------------------------

COMPOSITE_CSV = Path(__file__).parents[2] / "pro_app" / "instruments" / "data" / "proctcae_composite.csv"
# A term for each attribute pattern of the table: (f, s, i) → 17 abdominal pain; (f, s) → 9 nausea;
# (f, i) → 18 fecal incontinence; (s, i) → 3 mouth sores; f → 16 diarrhoea; s → 1 dry mouth; amount → 27.
TERM_FOR_PATTERN = {
    (True, True, True): 17,
    (True, True, False): 9,
    (True, False, True): 18,
    (False, True, True): 3,
    (True, False, False): 16,
    (False, True, False): 1,
    (False, False, True): 27,
}


def _table_rows():
    with COMPOSITE_CSV.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_composite_table_is_the_published_one():
    rows = _table_rows()
    assert len(rows) == 179
    shared = Path(__file__).parents[1] / "data" / "proctcae_composite.csv"
    assert COMPOSITE_CSV.read_bytes() == shared.read_bytes()


def _answers_for(term: int, values: list[int]) -> dict[str, int]:
    items = get_instrument("pro_ctcae").items_for_selection([term])
    return dict(zip(items, values, strict=True))


@pytest.mark.parametrize("row", _table_rows(), ids=lambda r: "f{frequency}s{severity}i{interference}".format(**r))
def test_every_row_of_the_composite_table(row):
    attrs = [row["frequency"], row["severity"], row["interference"]]
    term = TERM_FOR_PATTERN[tuple(a != "" for a in attrs)]
    answers = _answers_for(term, [int(a) for a in attrs if a != ""])
    value, status, _ = score_one("pro_ctcae", answers)[f"PROCTCAE_{term}_COMP"]
    assert (value, status) == (int(row["composite_grade"]), "scored")


def test_all_179_rows_at_once_through_one_vectorised_call():
    rows = _table_rows()
    full = [r for r in rows if all(r[k] != "" for k in ("frequency", "severity", "interference"))]
    frame = pd.DataFrame(
        {
            "PROCTCAE_17A_SCL": [float(r["frequency"]) for r in full],
            "PROCTCAE_17B_SCL": [float(r["severity"]) for r in full],
            "PROCTCAE_17C_SCL": [float(r["interference"]) for r in full],
        }
    )
    grades = score(get_instrument("pro_ctcae"), frame).values["PROCTCAE_17_COMP"].to_numpy()
    assert grades.tolist() == [float(r["composite_grade"]) for r in full]


@pytest.mark.parametrize(
    "values, expected, used",
    [
        ([0, None, None], 0, 3),  # never: severity and interference branched, taken as 0
        ([0, 3, 4], 0, 3),  # first attribute 0 decides, whatever else was keyed from paper
        ([2, 0, None], 0, 3),  # severity none: interference branched → table (2, 0, 0) = 0
        ([3, 0, None], 1, 3),  # table (3, 0, 0) = 1
        ([2, 0, 3], 2, 3),  # interference answered after severity none: the answer is used, (2, 0, 3) = 2
        ([2, None, None], None, 0),  # severity skipped by the patient: missing
        ([2, None, 3], None, 0),  # a declined severity is not branching: interference is not enough
        ([2, 2, None], None, 0),  # interference skipped by the patient: missing
        ([None, 2, 2], None, 0),  # no frequency: no composite
        ([None, None, None], None, 0),
        ([4, 4, 4], 3, 3),
    ],
)
def test_composite_branching_patterns(values, expected, used):
    answers = {k: v for k, v in _answers_for(17, values).items() if v is not None}
    value, status, n = score_one("pro_ctcae", answers)["PROCTCAE_17_COMP"]
    assert value == expected
    assert status == ("insufficient" if expected is None else "scored")
    assert n == used


def test_two_attribute_terms_branch_on_the_first():
    assert score_one("pro_ctcae", _answers_for(18, [0, None]) if False else {"PROCTCAE_18A_SCL": 0})[
        "PROCTCAE_18_COMP"
    ][:2] == (0, "scored")
    assert score_one("pro_ctcae", {"PROCTCAE_18A_SCL": 3})["PROCTCAE_18_COMP"][:2] == (None, "insufficient")
    assert score_one("pro_ctcae", {"PROCTCAE_3A_SCL": 0})["PROCTCAE_3_COMP"][:2] == (0, "scored")
    assert score_one("pro_ctcae", {"PROCTCAE_3A_SCL": 4})["PROCTCAE_3_COMP"][:2] == (None, "insufficient")
    assert score_one("pro_ctcae", {"PROCTCAE_9A_SCL": 4, "PROCTCAE_9B_SCL": 3})["PROCTCAE_9_COMP"][:2] == (3, "scored")


def test_presence_terms_and_extra_options_have_no_composite():
    inst = get_instrument("pro_ctcae")
    for term in (5, 12, 24, 57, 58, 69, 70, 79):
        assert f"PROCTCAE_{term}_COMP" not in inst.scale_codes
    # "Not applicable" / "not sexually active" are stored with no value: the composite is missing.
    got = score_one("pro_ctcae", {"PROCTCAE_1A_SCL": 2})
    assert got["PROCTCAE_36_COMP"] == (None, "insufficient", 0)
    assert got["PROCTCAE_66_COMP"] == (None, "insufficient", 0)


def test_one_code_path_many_rows_equal_one_at_a_time():
    rng = np.random.default_rng(7)
    inst = get_instrument("qlq_c30")
    data = rng.integers(1, 5, size=(400, 30)).astype(float)
    data[:, 28:] = rng.integers(1, 8, size=(400, 2))
    data[rng.random(data.shape) < 0.3] = np.nan
    frame = pd.DataFrame(data, columns=list(inst.item_ids), index=[f"adm{i}" for i in range(400)])
    together = score(inst, frame)
    assert list(together.values.index) == list(frame.index)
    for label in frame.index[:40]:
        alone = score(inst, frame.loc[[label]])
        pd.testing.assert_frame_equal(alone.values, together.values.loc[[label]])
        pd.testing.assert_frame_equal(alone.status, together.status.loc[[label]])


def test_long_form_has_one_row_per_administration_and_scale():
    inst = get_instrument("qlq_c30")
    frame = pd.DataFrame([{k: float(v) for k, v in C30_WORKED.items()}] * 2, index=["a", "b"])
    long = score(inst, frame).long()
    assert len(long) == 2 * len(inst.scales)
    row = long[(long.row == "a") & (long.scale == "PF2")].iloc[0]
    assert (round(row.value, 2), row.status, row.n_items) == (73.33, "scored", 5)


@pytest.mark.parametrize("bad", [5, 0, 2.5, -1, "x", "3a"])
def test_validate_answers_names_row_and_column(bad):
    inst = get_instrument("qlq_c30")
    frame = pd.DataFrame({"q1": [1, 2, 3], "q2": [1, 1, 1]}, dtype=object)
    frame.loc[1, "q2"] = bad
    with pytest.raises(AnswerError) as info:
        validate_answers(inst, frame)
    assert (info.value.row, info.value.column) == (2, "q2")
    assert "row 2, column q2" in str(info.value)


def test_validate_answers_accepts_blanks_and_numeric_text():
    inst = get_instrument("qlq_c30")
    validate_answers(inst, pd.DataFrame({"q1": ["1", "", None, " 4"], "q29": [7.0, np.nan, 1.0, 3.0]}))
