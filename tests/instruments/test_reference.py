"""Guards the independent reference scorer (reference.py) against the worked examples of
SCORING.md §1 and §2, and a few composite cases derived by hand from §4 and the ProAE table."""

import pytest

from tests.support.reference_scorer import (
    BR45_CODES,
    C30_CODES,
    INSUFFICIENT,
    NOT_APPLICABLE,
    PROCTCAE_CODES,
    PROCTCAE_COMPOSITE,
    PROCTCAE_ITEMS,
    PROCTCAE_TERMS,
    SCORED,
    score_br45,
    score_c30,
    score_proctcae,
)


def parse(text: str) -> list[int]:
    """Answers written as in SCORING.md: comma separated, spaces between groups."""
    return [int(x) for x in text.split(sep=",")]


C30_BASE = parse("2,3,2,1,1, 2,2, 1,2,3,2,2,1,1,1,1,1,2,1, 1,2,2,1,1,1, 1,2, 1, 5,5")
C30_BASE_EXPECTED = {
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

BR45_BASE = parse(
    "1,2,3,4,4,2,2,3, 2,1,2,3, 4, 4,3, 1, 2,3,2, 1,4,3,4, 1,4,3, 3,4,3,2,4,3, 3,2,3,3,2,2,1, 3,1,3,3, 1,4"
)
BR45_BASE_EXPECTED = {
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


def c30(missing=(), values=None):
    values = values or C30_BASE
    ans = {f"q{i + 1}": v for i, v in enumerate(values)}
    for n in missing:
        ans[f"q{n}"] = None
    return ans


def br45(**overrides):
    ans = {f"q{i + 31}": v for i, v in enumerate(BR45_BASE)}
    ans.update(overrides)
    return ans


def assert_scores(result, expected):
    for code, exp in expected.items():
        value, status = result[code]
        if exp is None:
            assert value is None, code
            assert status != SCORED, code
        else:
            assert status == SCORED, (code, status)
            assert round(value, 2) == pytest.approx(exp, abs=1e-9), (code, value, exp)


def test_c30_codes_complete():
    assert set(score_c30(c30())) == set(C30_CODES)
    assert len(C30_CODES) == 16


def test_c30_worked_example():
    assert_scores(score_c30(c30()), C30_BASE_EXPECTED)


def test_c30_q2_q4_missing():
    res = score_c30(c30(missing=[2, 4]))
    assert_scores(res, {"PF2": 77.78})


def test_c30_q1_q2_q3_missing():
    res = score_c30(c30(missing=[1, 2, 3]))
    assert_scores(res, {"PF2": None, "SUMSC": None})
    assert res["PF2"][1] == INSUFFICIENT
    assert res["SUMSC"][1] == INSUFFICIENT


def test_c30_q8_missing():
    res = score_c30(c30(missing=[8]))
    assert_scores(res, {"DY": None, "SUMSC": None})
    assert res["DY"][1] == INSUFFICIENT


def test_c30_q28_missing():
    res = score_c30(c30(missing=[28]))
    assert_scores(res, {"FI": None, "SUMSC": 85.56})
    assert res["FI"][1] == INSUFFICIENT


def test_c30_extremes():
    res = score_c30(c30(values=[4] * 28 + [1, 1]))
    for code in ["FA", "NV", "PA", "DY", "SL", "AP", "CO", "DI", "FI"]:
        assert_scores(res, {code: 100})
    for code in ["PF2", "RF2", "EF", "CF", "SF"]:
        assert_scores(res, {code: 0})
    assert_scores(res, {"QL2": 0})


def test_c30_empty():
    res = score_c30({})
    assert all(v == (None, INSUFFICIENT) for v in res.values())


def test_br45_worked_example():
    res = score_br45(br45())
    assert set(res) == set(BR45_CODES)
    assert_scores(res, BR45_BASE_EXPECTED)


def test_br45_gates():
    # q34 = 1: HU not applicable whatever q35 holds
    assert score_br45(br45(q34=1))["HU"] == (None, NOT_APPLICABLE)
    assert score_br45(br45(q34=1, q35=None))["HU"] == (None, NOT_APPLICABLE)
    # q34 missing: q35 counts normally
    assert score_br45(br45(q34=None))["HU"] == (100.0, SCORED)
    assert score_br45(br45(q34=None, q35=None))["HU"] == (None, INSUFFICIENT)
    # q45 = 1: SE not applicable; ES over q70-q71 only
    res = score_br45(br45(q45=1))
    assert res["SE"] == (None, NOT_APPLICABLE)
    assert res["ES"][1] == SCORED
    assert res["ES"][0] == pytest.approx((2 - 1) / 3 * 100)  # q70=3, q71=1 (q72, q73 = 3 ignored)
    res = score_br45(br45(q45=1, q70=None))
    assert res["ES"] == (0.0, SCORED)  # q71=1: 1 of 2 applicable suffices
    res = score_br45(br45(q45=1, q70=None, q71=None))
    assert res["ES"] == (None, INSUFFICIENT)  # q72, q73 answered but excluded
    # q45 missing: everything counts; ES needs 2 of 4
    res = score_br45(br45(q45=None, q70=None, q71=None))
    assert res["ES"][1] == SCORED
    assert res["ES"][0] == pytest.approx((3 - 1) / 3 * 100)  # q72=3, q73=3
    res = score_br45(br45(q45=None, q70=None, q71=None, q72=None))
    assert res["ES"] == (None, INSUFFICIENT)
    assert score_br45(br45(q45=None))["SE"] == (0.0, SCORED)


def test_br45_half_rule_odd():
    # SYS has 7 items: 4 needed
    ans = br45(q31=None, q32=None, q33=None)
    assert score_br45(ans)["SYS"][1] == SCORED
    ans = br45(q31=None, q32=None, q33=None, q36=None)
    assert score_br45(ans)["SYS"] == (None, INSUFFICIENT)


def test_proctcae_tables():
    assert len(PROCTCAE_COMPOSITE) == 179
    assert len(PROCTCAE_TERMS) == 80
    assert len(PROCTCAE_ITEMS) == 124
    assert set(score_proctcae({})) == set(PROCTCAE_CODES)
    assert "PROCTCAE_5_COMP" not in PROCTCAE_CODES  # presence term
    assert "PROCTCAE_27_COMP" in PROCTCAE_CODES  # amount term


@pytest.mark.parametrize(
    "answers, code, expected",
    [
        # first item missing -> no composite, whatever follows
        ({"PROCTCAE_17B_SCL": 3, "PROCTCAE_17C_SCL": 3}, "PROCTCAE_17_COMP", (None, INSUFFICIENT)),
        # first item 0 -> grade 0, whatever follows
        ({"PROCTCAE_17A_SCL": 0, "PROCTCAE_17B_SCL": 4}, "PROCTCAE_17_COMP", (0.0, SCORED)),
        ({"PROCTCAE_18A_SCL": 0}, "PROCTCAE_18_COMP", (0.0, SCORED)),
        # frequency > 0, severity 0, interference branched -> (2, 0, 0) -> 0
        ({"PROCTCAE_17A_SCL": 2, "PROCTCAE_17B_SCL": 0}, "PROCTCAE_17_COMP", (0.0, SCORED)),
        # (3, 0, 0) -> 1
        ({"PROCTCAE_17A_SCL": 3, "PROCTCAE_17B_SCL": 0}, "PROCTCAE_17_COMP", (1.0, SCORED)),
        # severity 0 but interference answered: kept as answered (4, 0, 4) -> 2
        ({"PROCTCAE_48A_SCL": 4, "PROCTCAE_48B_SCL": 0, "PROCTCAE_48C_SCL": 4}, "PROCTCAE_48_COMP", (2.0, SCORED)),
        # frequency > 0, severity skipped -> missing
        ({"PROCTCAE_17A_SCL": 2, "PROCTCAE_17C_SCL": 2}, "PROCTCAE_17_COMP", (None, INSUFFICIENT)),
        # frequency > 0, severity > 0, interference skipped -> missing
        ({"PROCTCAE_17A_SCL": 2, "PROCTCAE_17B_SCL": 2}, "PROCTCAE_17_COMP", (None, INSUFFICIENT)),
        # full: (1, 2, 4) -> 3 ; (4, 1, 2) -> 2
        ({"PROCTCAE_22A_SCL": 1, "PROCTCAE_22B_SCL": 2, "PROCTCAE_22C_SCL": 4}, "PROCTCAE_22_COMP", (3.0, SCORED)),
        ({"PROCTCAE_22A_SCL": 4, "PROCTCAE_22B_SCL": 1, "PROCTCAE_22C_SCL": 2}, "PROCTCAE_22_COMP", (2.0, SCORED)),
        # frequency + severity: (3, 3, ) -> 3
        ({"PROCTCAE_9A_SCL": 3, "PROCTCAE_9B_SCL": 3}, "PROCTCAE_9_COMP", (3.0, SCORED)),
        # frequency + interference: (2, , 3) -> 2; interference missing -> none
        ({"PROCTCAE_18A_SCL": 2, "PROCTCAE_18B_SCL": 3}, "PROCTCAE_18_COMP", (2.0, SCORED)),
        ({"PROCTCAE_18A_SCL": 2}, "PROCTCAE_18_COMP", (None, INSUFFICIENT)),
        # severity + interference: ( , 2, 4) -> 3 ; ( , 0, ) -> 0
        ({"PROCTCAE_19A_SCL": 2, "PROCTCAE_19B_SCL": 4}, "PROCTCAE_19_COMP", (3.0, SCORED)),
        ({"PROCTCAE_19A_SCL": 0}, "PROCTCAE_19_COMP", (0.0, SCORED)),
        # single items: frequency (4, , ) -> 3, severity ( , 4, ) -> 3, amount ( , , 4) -> 2
        ({"PROCTCAE_16A_SCL": 4}, "PROCTCAE_16_COMP", (3.0, SCORED)),
        ({"PROCTCAE_1A_SCL": 4}, "PROCTCAE_1_COMP", (3.0, SCORED)),
        ({"PROCTCAE_27A_SCL": 4}, "PROCTCAE_27_COMP", (2.0, SCORED)),
        ({"PROCTCAE_59A_SCL": 1}, "PROCTCAE_59_COMP", (1.0, SCORED)),
        ({"PROCTCAE_59A_SCL": None}, "PROCTCAE_59_COMP", (None, INSUFFICIENT)),
    ],
)
def test_proctcae_composite_cases(answers, code, expected):
    assert score_proctcae(answers)[code] == expected
