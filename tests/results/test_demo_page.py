"""Issue 14's "done when": after `pro-app demo --participants 60` the results page shows every scale of the three
instruments and the default PRO-CTCAE term set over the four timepoints, and every figure it shows (n, means and
CIs, grade counts and shares, Kaplan-Meier n, events, median and number at risk) equals the `results_scales`,
`results_terms` and `ttd` data sets as downloaded (CSV), rounded as the page rounds them.

The demo is seeded once for the module (some 20 s), on a database of its own; the page is read once."""

from __future__ import annotations

import math

import lxml.html
import numpy as np
import pandas as pd
import pytest

from pro_app.demo import STUDY_CODE, TIMEPOINTS
from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.results.services import scipy_kaplan_meier
from pro_app.users.services import create_user
from tests.support.exports import demo_installation, export_bytes, read_csv
from tests.support.http import PASSWORD, login

PARTICIPANTS = 60
LABELS = {code: label for code, label, *_ in TIMEPOINTS}
ALL, NO_ARM = "all", "none"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo installation, the results page as a coordinator sees it, and the three data sets."""
    with demo_installation(tmp_path_factory.mktemp("demo-results"), participants=PARTICIPANTS) as installed:
        app = installed.app
        with app.app_context():
            create_user("pi@example.org", "coordinator", PASSWORD, [STUDY_CODE])
            db.session.commit()
        client = app.test_client()
        assert login(client, "pi@example.org").status_code == 302
        response = client.get(f"/staff/studies/{STUDY_CODE}/results")
        assert response.status_code == 200
        sets = {name: read_csv(export_bytes(app, STUDY_CODE, name, "csv"))
                for name in ("results_scales", "results_terms", "ttd")}
        yield lxml.html.fromstring(response.get_data(as_text=True)), sets


# --- the page as a reader sees it -----------------------------------------------------------------------------

def text(node) -> str:
    return " ".join(node.text_content().split())


def table_rows(article) -> list[list[str]]:
    return [[text(td) for td in tr.xpath("./td")] for tr in article.xpath(".//table/tbody/tr")]


def articles(tree, attribute: str) -> dict[str, object]:
    return {a.get(attribute): a for a in tree.xpath(f"//article[@{attribute}]")}


# --- the figures as the page rounds them ----------------------------------------------------------------------

def missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def num(value, digits: int = 1) -> str:
    return "—" if missing(value) else f"{value:.{digits}f}"


def ci(low, high) -> str:
    return "—" if missing(low) or missing(high) else f"{low:.1f} to {high:.1f}"


def pct(value) -> str:
    return "—" if missing(value) else f"{value * 100:.0f}%"


def arm_label(arm: str) -> str:
    return {ALL: "All", NO_ARM: "No arm"}.get(arm, arm)


def expected_scale_rows(rows: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    expected = {}
    for r in rows.to_dict("records"):
        baseline = r["timepoint"] == "baseline"
        n_change = 0 if missing(r["n_change"]) else int(r["n_change"])
        change = ("baseline" if baseline else
                  f"{n_change}: {num(r['change_mean'])} ({ci(r['change_ci_low'], r['change_ci_high'])})" if n_change
                  else "—")
        shares = ("—" if baseline or not n_change
                  else f"{pct(r['improved'])} / {pct(r['stable'])} / {pct(r['deteriorated'])}")
        key = (LABELS[r["timepoint"]], arm_label(r["arm"]))
        expected[key] = [*key, str(int(r["n"])), f"{num(r['mean'])} ({num(r['sd'])})", ci(r["ci_low"], r["ci_high"]),
                         f"{num(r['median'])} ({ci(r['p25'], r['p75'])})", change, shares]
    return expected


def expected_term_rows(rows: pd.DataFrame, composite: bool) -> dict[tuple[str, str], list[str]]:
    expected = {}
    for r in rows.to_dict("records"):
        n = int(r["n"])
        cells = []
        for g in range(4 if composite else 2):
            count = r[f"grade_{g}"]
            cells.append("—" if missing(count) else f"{int(count)} ({pct(int(count) / n if n else None)})")
        key = (LABELS[r["timepoint"]], arm_label(r["arm"]))
        expected[key] = [*key, str(n), *cells]
    return expected


def default_term_variables() -> list[str]:
    """From the instrument definition: each term of the default set by its composite grade, or by its yes/no
    item when it has none."""
    pro_ctcae = get_instrument("pro_ctcae")
    variables = []
    for term in pro_ctcae.default_selection():
        items = [i for i in pro_ctcae.items if i.term == term]
        composite = [s.code for s in pro_ctcae.scales if s.type == "composite"
                     and {i.id for i in items} & set(s.items)]
        variables += composite or [i.id for i in items if i.attribute == "presence"]
    return variables


# --- the tests ------------------------------------------------------------------------------------------------

def test_every_scale_and_term_of_the_demo_is_on_the_page_over_the_four_timepoints(demo):
    tree, sets = demo
    scales = [s.code for i in ("qlq_c30", "qlq_br45") for s in get_instrument(i).scales]
    terms = default_term_variables()
    assert len(scales) == 28 and len(terms) > 20
    by_scale, by_term, by_km = articles(tree, "data-scale"), articles(tree, "data-term"), articles(tree, "data-km")
    assert sorted(by_scale) == sorted(scales)
    assert sorted(by_term) == sorted(terms)
    assert sorted(by_km) == sorted(scales)  # a Kaplan-Meier curve per scale
    assert set(sets["results_terms"]["variable"]) == set(terms)
    counted = text(tree.xpath("//*[@data-testid='participants-counted']")[0])
    assert counted == f"{sets['ttd']['participant'].nunique()} participants with a scored value."
    four = [label for _code, label, *_ in TIMEPOINTS]
    for code, article in [*by_scale.items(), *by_term.items()]:
        shown = [row[0] for row in table_rows(article) if row[1] == "All"]
        assert shown == four, code
        assert article.xpath(".//svg[@role='img']"), code  # and its chart


def test_scale_figures_equal_the_results_scales_data_set(demo):
    tree, sets = demo
    rows = sets["results_scales"]
    rows = rows[rows["site"] == ALL]
    for code, article in articles(tree, "data-scale").items():
        shown = {(row[0], row[1]): row for row in table_rows(article)}
        assert shown == expected_scale_rows(rows[rows["scale"] == code]), code


def test_grade_counts_and_shares_equal_the_results_terms_data_set(demo):
    tree, sets = demo
    rows = sets["results_terms"]
    rows = rows[rows["site"] == ALL]
    for variable, article in articles(tree, "data-term").items():
        part = rows[rows["variable"] == variable]
        shown = {(row[0], row[1]): row for row in table_rows(article)}
        assert shown == expected_term_rows(part[part["summary"] == "visit"], part["kind"].iloc[0] == "composite"), \
            variable


def test_maximum_grades_equal_the_results_terms_data_set(demo):
    tree, sets = demo
    rows = sets["results_terms"]
    rows = rows[rows["site"] == ALL].set_index(["variable", "summary", "arm"])
    labels = {arm_label(a): a for a in rows.index.get_level_values("arm")}
    shown = tree.xpath("//table[@data-testid='maxima']/tbody/tr")
    assert len(shown) == len(default_term_variables()) * 4  # each arm of the demo and everyone
    for tr in shown:
        variable, cells = tr.get("data-term"), [text(td) for td in tr.xpath("./td")]
        arm = labels[cells[1]]
        worst = rows.loc[(variable, "max_post_baseline", arm)]
        adjusted = rows.loc[(variable, "baseline_adjusted", arm)]
        assert cells[2:] == [str(int(worst["n"])), pct(worst["share_ge1"]), pct(worst["share_ge2"]),
                             pct(worst["share_3"]), str(int(adjusted["n"])), pct(adjusted["share_ge1"]),
                             pct(adjusted["share_ge2"]), pct(adjusted["share_3"])], (variable, arm)


def kaplan_meier_row(times: np.ndarray, events: np.ndarray, later_days: list[int]) -> dict:
    """n, events, median (first day the survival is at or below 50%) with its CI, and at each later timepoint's
    target day the number at risk and the survival, from the ttd rows (scipy's Kaplan-Meier)."""
    curve = scipy_kaplan_meier(times.astype(float), events.astype(bool))

    def first_at_half(column: str) -> float | None:
        below = curve[curve[column] <= 0.5 + 1e-12]
        return None if below.empty else float(below["time"].iloc[0])

    def survival(day: float) -> float:
        return float(curve[curve["time"] <= day]["survival"].iloc[-1])

    return {"n": len(times), "events": int(events.sum()), "median": first_at_half("survival"),
            "low": first_at_half("low"), "high": first_at_half("high"),
            "at_risk": [int((times >= d).sum()) for d in later_days], "survival": [survival(d) for d in later_days]}


def test_time_to_deterioration_equals_the_ttd_data_set(demo):
    tree, sets = demo
    ttd = sets["ttd"]
    at_risk = ttd[ttd["event"].notna()]
    later = [(label, day) for code, label, day, *_ in TIMEPOINTS if code != "baseline"]
    header = [text(th) for th in tree.xpath("//article[@data-km]//table/thead/tr")[0].xpath("./th")]
    assert header[4:] == [f"At risk on day {day} ({label})" for label, day in later]
    for code, article in articles(tree, "data-km").items():
        rows = at_risk[at_risk["scale"] == code]
        groups = {arm_label(arm): part for arm, part in rows.groupby("arm")} | {"All": rows}
        shown = {row[0]: row for row in table_rows(article)}
        assert set(shown) == set(groups), code
        for arm, part in groups.items():
            km = kaplan_meier_row(part["time"].to_numpy(), part["event"].to_numpy().astype(int),
                                  [day for _label, day in later])
            median = "not reached" if km["median"] is None else f"{km['median']:.0f}"
            low = "—" if km["low"] is None else f"{km['low']:.0f}"
            high = "not reached" if km["high"] is None else f"{km['high']:.0f}"
            assert shown[arm] == [arm, str(km["n"]), str(km["events"]), f"{median} ({low} to {high})",
                                  *[f"{n} ({pct(s)})" for n, s in zip(km["at_risk"], km["survival"], strict=True)]], \
                (code, arm)


def test_the_demo_has_figures_worth_comparing(demo):
    """Not a page of blanks: the demo's 60 participants give every group means, CIs, events and medians."""
    _tree, sets = demo
    scales = sets["results_scales"]
    everyone = scales[(scales["site"] == ALL) & (scales["arm"] == ALL)]
    assert (everyone["n"] >= 2).all() and everyone["ci_low"].notna().all()
    assert (everyone[everyone["timepoint"] == "baseline"]["n"] >= 30).all()
    assert sets["ttd"]["event"].sum() > 50
