"""Study results against independent computations on a hand-built study: scale statistics (scipy / numpy on
the raw values, plus hand-computed figures), PRO-CTCAE grade shares and per-participant maxima on ProAE's
baseline-adjustment patterns, and time to deterioration on a small Kaplan-Meier example worked by hand."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy import stats

from pro_app.extensions import db
from pro_app.models import Study
from pro_app.results import services
from pro_app.results.services import ALL, NO_ARM, Selection

from .study import Person, build

P = "PROCTCAE_17_COMP"
IND = "PROCTCAE_5A_IND"

PEOPLE = [
    Person("A1", scores={"baseline": {"PF2": 80, "PA": 20, P: 0, IND: 0}, "wk12": {"PF2": 60, "PA": 50, P: 1, IND: 1},
                         "wk24": {"PF2": 70, "PA": 40, P: 2}}),
    Person("A2", scores={"baseline": {"PF2": 90, "PA": 10, P: 2, IND: 1}, "wk12": {"PF2": 95, "PA": 5, P: 2, IND: 1},
                         "wk24": {"PF2": 100, "PA": 0, P: 1}}, late={"wk24": 3}),
    Person("A3", scores={"baseline": {"PF2": 70, "PA": 30, P: 3}, "wk12": {"PF2": 75, "PA": 100 / 3, P: 1},
                         "wk24": {"PF2": 50, "PA": 200 / 3}}),
    Person("A4", status="withdrawn", scores={"baseline": {"PF2": 85, "PA": 15}, "wk12": {"PF2": 85, "PA": 15}},
           statuses={"wk12": "partial"}),  # closed with some answers
    # baseline not done (a score left stored from before must not count), so no baseline
    Person("A5", scores={"baseline": {"PF2": 40, "PA": 90, P: 0}, "wk12": {"PF2": 55, "PA": 60, P: 2}},
           statuses={"baseline": "not_done"}),
    Person("B1", arm="B", scores={"baseline": {"PF2": 60, "PA": 50, P: 1}, "wk12": {"PF2": 40, "PA": 250 / 3, P: 3,
                                                                                    IND: 0},
                                  "wk24": {"PF2": None}}),
    Person("B2", arm="B", site="MIA", scores={"baseline": {"PF2": 100, "PA": 0, P: 1}, "wk12": {"PF2": 100, "PA": 0}}),
    Person("B3", arm="B", death_date=date(2025, 6, 1),
           scores={"baseline": {"PF2": 220 / 3, "PA": 100 / 3}, "wk12": {"PF2": 200 / 3, "PA": 40}}),
    Person("N1", arm=None, site="MIA", scores={"baseline": {"PF2": 50, "PA": 50 / 3}, "wk12": {"PF2": 140 / 3}}),
]
COUNTED = ("completed", "partial")


@pytest.fixture
def results(app):
    with app.app_context():
        study_id = build(PEOPLE)
        yield services.compute(db.session.get(Study, study_id), Selection(by_site=True))


def values(scale: str, tp: str, arm: str = ALL, site: str = ALL) -> list[float]:
    """The counted values, straight from the hand-built data."""
    out = []
    for p in PEOPLE:
        value = p.scores.get(tp, {}).get(scale)
        if value is None or p.statuses.get(tp, "completed") not in COUNTED:
            continue
        if arm != ALL and (p.arm or NO_ARM) != arm or site != ALL and p.site != site:
            continue
        out.append(float(value))
    return out


def changes(scale: str, tp: str, arm: str = ALL) -> list[float]:
    out = []
    for p in PEOPLE:
        if arm != ALL and (p.arm or NO_ARM) != arm:
            continue
        base, later = p.scores.get("baseline", {}).get(scale), p.scores.get(tp, {}).get(scale)
        if (base is None or later is None or p.statuses.get("baseline", "completed") not in COUNTED
                or p.statuses.get(tp, "completed") not in COUNTED):
            continue
        out.append(float(later) - float(base))
    return out


def row(frame, **keys):
    found = frame
    for key, value in keys.items():
        found = found[found[key] == value]
    assert len(found) == 1, keys
    return found.iloc[0]


GROUPS = [(ALL, ALL), ("A", ALL), ("B", ALL), (NO_ARM, ALL), (ALL, "BCN"), (ALL, "MIA"), ("B", "MIA")]


TIMEPOINTS = [("baseline", 1), ("wk12", 2), ("wk24", 3)]


def test_scale_statistics_match_scipy(results):
    checked = 0
    for scale in ("PF2", "PA"):
        for tp, visit in TIMEPOINTS:
            for arm, site in GROUPS:
                checked += check_scale(results, scale, tp, visit, arm, site)
    assert checked == 33  # every group with a value


def check_scale(results, scale, tp, visit, arm, site) -> int:
    x = np.array(values(scale, tp, arm, site))
    match = results.scales[(results.scales["scale"] == scale) & (results.scales["visit"] == visit)
                           & (results.scales["arm"] == arm) & (results.scales["site"] == site)]
    if len(x) == 0:
        assert match.empty
        return 0
    got = row(match)
    assert got["n"] == len(x)
    assert got["timepoint"] == tp
    assert got["mean"] == pytest.approx(x.mean())
    assert got["median"] == pytest.approx(np.median(x))
    assert (got["p25"], got["p75"]) == pytest.approx(tuple(np.percentile(x, [25, 75])))
    if len(x) >= 2:
        low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
        assert got["sd"] == pytest.approx(x.std(ddof=1))
        assert (got["ci_low"], got["ci_high"]) == pytest.approx((low, high))
    else:
        assert math.isnan(got["ci_low"]) and math.isnan(got["sd"])
    threshold = {"PF2": ("below", 83), "PA": ("above", 25)}[scale]
    past = (x < threshold[1]) if threshold[0] == "below" else (x > threshold[1])
    assert got["threshold"] == threshold[1]
    assert got["past_threshold"] == pytest.approx(past.mean())
    return 1


def test_change_from_baseline_among_those_with_both(results):
    for scale, direction in (("PF2", 1), ("PA", -1)):
        for tp, visit in TIMEPOINTS[1:]:
            for arm in (ALL, "A", "B", NO_ARM):
                if values(scale, tp, arm):
                    check_change(results, scale, direction, tp, visit, arm)


def check_change(results, scale, direction, tp, visit, arm):
    d = np.array(changes(scale, tp, arm))
    got = row(results.scales, scale=scale, visit=visit, arm=arm, site=ALL)
    assert got["n_change"] == len(d)
    if len(d) == 0:
        assert math.isnan(got["change_mean"]) and math.isnan(got["improved"])
        return
    assert got["change_mean"] == pytest.approx(d.mean())
    if len(d) >= 2:
        low, high = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        assert (got["change_ci_low"], got["change_ci_high"]) == pytest.approx((low, high))
    signed = d * direction
    assert got["improved"] == pytest.approx((signed >= 10).mean())
    assert got["deteriorated"] == pytest.approx((signed <= -10).mean())
    assert got["stable"] == pytest.approx((abs(signed) < 10).mean())


def test_hand_computed_figures(results):
    """Arm A, PF2 at week 12: 60, 95, 75, 85 (partial assessment) and 55 (no baseline)."""
    pf = row(results.scales, scale="PF2", visit=2, arm="A", site=ALL)
    assert (pf["n"], pf["mean"], pf["median"]) == (5, 74, 75)
    assert pf["past_threshold"] == pytest.approx(3 / 5)  # 60, 75, 55 below 83
    assert (pf["n_change"], pf["change_mean"]) == (4, -2.5)  # -20, +5, +5, 0
    assert (pf["improved"], pf["stable"], pf["deteriorated"]) == (0, 0.75, 0.25)
    pa = row(results.scales, scale="PA", visit=3, arm="A", site=ALL)  # 20->40, 10->0, 30->66.7
    assert (pa["improved"], pa["stable"], pa["deteriorated"]) == pytest.approx((1 / 3, 0, 2 / 3))
    # not done at baseline: A5's stored baseline score does not count
    assert row(results.scales, scale="PF2", visit=1, arm="A", site=ALL)["n"] == 4
    # the unscored (insufficient) PF2 of B1 at week 24 is not a value: no arm B row there
    assert results.scales[(results.scales["scale"] == "PF2") & (results.scales["visit"] == 3)
                          & (results.scales["arm"] == "B")].empty


def test_composite_grade_shares_per_timepoint(results):
    base = row(results.terms, variable=P, summary="visit", visit=1, arm="A", site=ALL)  # grades 0, 2, 3
    assert base["n"] == 3 and base["timepoint"] == "baseline"
    assert [base[f"grade_{g}"] for g in range(4)] == [1, 0, 1, 1]
    assert (base["share_ge1"], base["share_ge2"], base["share_3"]) == pytest.approx((2 / 3, 2 / 3, 1 / 3))
    wk12 = row(results.terms, variable=P, summary="visit", visit=2, arm=ALL, site=ALL)  # 1, 2, 1, 2, 3
    assert wk12["n"] == 5
    assert (wk12["share_ge1"], wk12["share_ge2"], wk12["share_3"]) == pytest.approx((1, 3 / 5, 1 / 5))
    assert row(results.terms, variable=P, summary="visit", visit=2, arm=ALL, site=ALL)["term"] == 17


def test_maximum_and_baseline_adjusted_maximum_follow_proae(results):
    """ProAE's patterns: worse than baseline keeps the maximum (A1 0 -> 2, B1 1 -> 3); the same as baseline
    (A2 2 -> 2) or better (A3 3 -> 1) counts 0; no baseline (A5) and no post-baseline grade (B2) are not
    counted (tests/results/test_toxtables.py checks these against ProAE's code)."""
    worst = row(results.terms, variable=P, summary="max_post_baseline", arm="A", site=ALL)
    assert worst["n"] == 4 and [worst[f"grade_{g}"] for g in range(4)] == [0, 1, 3, 0]
    adjusted = row(results.terms, variable=P, summary="baseline_adjusted", arm="A", site=ALL)
    assert adjusted["n"] == 3 and [adjusted[f"grade_{g}"] for g in range(4)] == [2, 0, 1, 0]
    assert (adjusted["share_ge1"], adjusted["share_3"]) == (1 / 3, 0)
    arm_b = row(results.terms, variable=P, summary="baseline_adjusted", arm="B", site=ALL)
    assert arm_b["n"] == 1 and arm_b["grade_3"] == 1 and arm_b["share_3"] == 1
    everyone = row(results.terms, variable=P, summary="max_post_baseline", arm=ALL, site=ALL)
    assert everyone["n"] == 5 and everyone["share_3"] == pytest.approx(1 / 5)
    assert everyone["share_ge1"] == 1 and everyone["visit"] is pd_na()


def pd_na():
    import pandas as pd

    return pd.NA


def test_a_term_without_composite_is_tabulated_on_its_item(results):
    item = row(results.terms, variable=IND, summary="visit", visit=2, arm=ALL, site=ALL)  # yes, yes, no
    assert item["kind"] == "item" and item["term"] == 5
    assert (item["n"], item["grade_0"], item["grade_1"]) == (3, 1, 2)
    assert item["share_ge1"] == pytest.approx(2 / 3)
    assert math.isnan(item["share_ge2"]) and item["grade_2"] is pd_na()
    adjusted = row(results.terms, variable=IND, summary="baseline_adjusted", arm="A", site=ALL)
    assert (adjusted["n"], adjusted["grade_1"]) == (2, 1)  # A1 0 -> 1 counts, A2 1 -> 1 does not


def test_time_to_deterioration_rows(results):
    pa = results.ttd[results.ttd["scale"] == "PA"].set_index("participant")
    assert (pa.loc["A1", "time"], pa.loc["A1", "event"]) == (84, 1)
    assert pa.loc["A1", "event_value"] == 50
    assert (pa.loc["A2", "time"], pa.loc["A2", "event"], pa.loc["A2", "censoring_reason"]) == (171, 0,
                                                                                                "last_assessment")
    assert (pa.loc["A3", "time"], pa.loc["A3", "event"]) == (168, 1)
    assert (pa.loc["A4", "time"], pa.loc["A4", "censoring_reason"]) == (84, "withdrawn")
    assert pa.loc["A5", "censoring_reason"] == "no_baseline" and pa.loc["A5", "event"] is pd_na()
    assert (pa.loc["B3", "event"], pa.loc["B3", "censoring_reason"]) == (0, "died")  # +6.7 is not 10
    assert (pa.loc["N1", "time"], pa.loc["N1", "censoring_reason"]) == (0, "no_follow_up")
    assert pa.loc["B1", "event"] == 1


def test_kaplan_meier_matches_the_hand_computed_curve(results):
    """Arm A on PA: events at 84 and 168, censored at 84 (withdrawn) and 171. At 84: 4 at risk, 1 event,
    S = 3/4; at 168: 2 at risk, 1 event, S = 3/8, so the median is 168."""
    km = row(results.km, scale="PA", arm="A", site=ALL)
    assert (km["n"], km["events"]) == (4, 2)
    assert km["median"] == 168
    assert (km["at_risk_wk12"], km["at_risk_wk24"], km["at_risk_fu30"]) == (4, 2, 0)
    assert (km["survival_wk12"], km["survival_wk24"], km["survival_fu30"]) == pytest.approx((0.75, 0.375, 0.375))
    assert km["median_ci_low"] <= 168
    curve = results.curves[("PA", "A", ALL)]
    assert curve["survival"].tolist()[-1] == pytest.approx(0.375)
    b = row(results.km, scale="PA", arm="B", site=ALL)  # B1 event at 84; B2 and B3 censored at 84
    assert (b["n"], b["events"], b["survival_wk12"]) == (3, 1, pytest.approx(2 / 3))
    assert math.isnan(b["median"])  # never reached


def test_site_and_arm_selection_keep_only_those_participants(app):
    with app.app_context():
        study = db.session.get(Study, build(PEOPLE))
        mia = services.compute(study, Selection(sites=("MIA",)))
        arm_a = services.compute(study, Selection(arms=("A",), scales=("PF2",), terms=(P,)))
    assert set(mia.ttd["participant"]) == {"B2", "N1"}
    assert row(mia.scales, scale="PF2", visit=1, arm=ALL, site=ALL)["n"] == 2
    assert set(mia.scales["site"]) == {ALL}
    assert set(arm_a.scales["scale"]) == {"PF2"} and set(arm_a.scales["arm"]) == {"A", ALL}
    assert set(arm_a.terms["variable"]) == {P}
    assert row(arm_a.scales, scale="PF2", visit=2, arm=ALL, site=ALL)["n"] == 5


def test_an_empty_study_has_empty_results(app):
    with app.app_context():
        study = db.session.get(Study, build([]))
        empty = services.compute(study)
    assert empty.scales.empty and empty.terms.empty and empty.ttd.empty and empty.km.empty
