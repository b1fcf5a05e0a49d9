"""pro-app's PRO-CTCAE results against ProAE's `toxTables`, re-done in Python from the R source (issue 14:
"the symptom tables agree with ProAE's toxTables run on the proae data set of the same study").

R cannot be installed here, so `tox_tables` below is a test oracle that follows ProAE's own code step by step:
ProAE 1.0.4 (CRAN mirror github.com/cran/ProAE, commit 529b0ee), file R/toxTables.R; line numbers below are
of that file (the summary-score steps are the same since 0.2.9). It is our own code, not a translation of R
text, and uses nothing of pro-app: it takes the exported `proae` data set (with the arm from `subjects`), and
its figures are compared with the exported `results_terms` data set.

What toxTables does (composite table, lines 424-450, the same as the item table, lines 155-178):
- max_post_bl: per participant, the highest value over rows whose cycle is not `baseline_val` (and not
  missing); missing when every such value is missing (lines 159-162).
- bl_adjusted: only for participants with a row at the baseline cycle (line 166): 0 when the baseline value is
  at least the highest value over all their rows, else that highest value (lines 168-172); a missing baseline
  value makes the comparison, so the score, missing; a participant with no baseline row gets none at the
  merge (line 175); and it is missing wherever max_post_bl is (line 178).
- The tables count one row per participant (line 188): present = score > 0, severe = score >= 3
  (lines 193-195, 197-198); R's table() leaves out missing scores and missing arms, so the denominator n is
  the participants with a score (lines 212-216, 272-273, 352); the percentage is 100 * round(freq / n, 2)
  (lines 222, 231, 366, 379).
- Items: only 0-4 items; yes/no items (`…_IND`) are left out (line 121) and have no composite (lines 124-132).

pro-app's results also give the shares with grade >= 2 and the grade 0-3 counts of the same per-participant
scores, per-timepoint shares and yes/no items; toxTables has no such figures, so the oracle applies the same
steps to them (marked "beyond toxTables" below).
"""

from __future__ import annotations

import copy
import functools
import math

import numpy as np
import pandas as pd
import pytest

from pro_app.exports import datasets as D
from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.instruments.scoring import score
from pro_app.models import Study
from pro_app.results.services import ALL, NO_ARM

from .study import BRANCHED, Person, build

# --- the oracle -------------------------------------------------------------------------------------------

TYPES = ("max_post_bl", "bl_adjusted")


def summary_scores(dsn: pd.DataFrame, item: str, id_var: str = "id", cycle_var: str = "Cycle",
                   baseline_val: float = 1) -> pd.DataFrame:
    """Per participant of `dsn` (index `id_var`): max_post_bl and bl_adjusted of `item`, as toxTables builds
    them (R/toxTables.R lines 159-178; 431-450 for composites)."""
    # lines 109-111: toxTables stops on a participant with two rows at one cycle
    assert not dsn.duplicated([id_var, cycle_var]).any()
    # lines 159-162: rows off the baseline cycle, cycle not missing; the maximum ignoring missing values, missing
    # when all are (pandas' max skips NaN and gives NaN for all-NaN: the same as R's ifelse(all(is.na)) there)
    post = dsn[(dsn[cycle_var] != baseline_val) & dsn[cycle_var].notna()]
    max_post_bl = post.groupby(id_var)[item].max()
    # line 166: participants with a row at the baseline cycle, whatever its value
    at_baseline = dsn[cycle_var] == baseline_val
    base_ids = set(dsn.loc[at_baseline, id_var])
    # lines 168-172: for those, base_val = the value at the baseline row; max_val = the maximum over all their
    # rows (baseline included); bl_adjusted = 0 when base_val >= max_val, else max_val; R's comparison with a
    # missing value is missing, and so is ifelse's result
    theirs = dsn[dsn[id_var].isin(base_ids)]
    base_val = theirs[theirs[cycle_var] == baseline_val].set_index(id_var)[item]
    max_val = theirs.groupby(id_var)[item].max()
    both = pd.DataFrame({"base_val": base_val, "max_val": max_val})
    known = both["base_val"].notna() & both["max_val"].notna()
    bl_adjusted = pd.Series(np.where(both["base_val"] >= both["max_val"], 0.0, both["max_val"]),
                            index=both.index).where(known)
    # lines 175-178 and 186-188: one row per participant of dsn (left joins), bl_adjusted missing where
    # max_post_bl is
    ids = pd.Index(dsn[id_var].unique(), name=id_var)
    out = pd.DataFrame({"max_post_bl": max_post_bl.reindex(ids), "bl_adjusted": bl_adjusted.reindex(ids)})
    out.loc[out["max_post_bl"].isna(), "bl_adjusted"] = np.nan
    return out


def tabulate(scores: pd.Series) -> dict:
    """Lines 193-195 / 208-231 (overall) and 253-273 / 352-379 (per arm, on each arm's rows): present (> 0) and
    severe (>= 3) among the participants with a score; R's table() drops missing scores."""
    scored = scores.dropna()
    n = len(scored)
    present, severe = int((scored > 0).sum()), int((scored >= 3).sum())
    return {"n": n, "present": present, "severe": severe,
            "present_perc": 100 * round(present / n, 2) if n else math.nan,
            "severe_perc": 100 * round(severe / n, 2) if n else math.nan}


def tox_tables(dsn: pd.DataFrame, type: str = "bl_adjusted", arm_var: str | None = None,  # noqa: A002 (R's name)
               baseline_val: float = 1, tables=("individual", "composite")) -> dict[str, dict[str, dict]]:
    """{"individual": {item: {arm: row}}, "composite": {composite: {arm: row}}} with `arm` "overall" when
    no arm_var is given (line 183), as toxTables(dsn, id_var="id", cycle_var="Cycle", baseline_val, type,
    arm_var) returns them; `tables`: which of the two to build (R builds both; one is quicker here)."""
    assert type in TYPES
    names = [c.upper() for c in dsn.columns]
    # line 121: 0-4 items only (yes/no items left out); lines 124-132: the composites present
    items = [c for c in names if c.startswith("PROCTCAE_") and c.endswith("_SCL")]
    composites = [c for c in names if c.startswith("PROCTCAE_") and c.endswith("_COMP")]
    out = {}
    for table, variables in (("individual", items), ("composite", composites)):
        if table not in tables:
            continue
        out[table] = {}
        for variable in variables:
            scores = summary_scores(dsn, variable, baseline_val=baseline_val)[type]
            if arm_var is None:
                out[table][variable] = {"overall": tabulate(scores)}
                continue
            # lines 244-247: each participant's first row gives the arm; table(arm, ...) drops a missing arm
            arm = dsn.groupby("id")[arm_var].first().reindex(scores.index)
            out[table][variable] = {a: tabulate(scores[arm == a]) for a in sorted(arm.dropna().unique())}
    return out


# --- the study ----------------------------------------------------------------------------------------------

T1, T17, T5 = "PROCTCAE_1_COMP", "PROCTCAE_17_COMP", "PROCTCAE_5A_IND"
D_ = None  # declined


def t17(frequency, severity=BRANCHED, interference=BRANCHED) -> dict:
    """Term 17 (abdominal pain: frequency, severity, interference), branching as the tablet does it."""
    if frequency == 0:
        severity = interference = BRANCHED
    elif severity == 0:
        interference = BRANCHED
    return {"PROCTCAE_17A_SCL": frequency, "PROCTCAE_17B_SCL": severity, "PROCTCAE_17C_SCL": interference}


def given(term17: dict, dry_mouth, yes_no=...) -> dict:
    """The items of one assessment: term 17, term 1 (dry mouth, one severity item: a single-item term with a
    composite) and, unless left out, term 5's yes/no item (no composite)."""
    out = {**term17, "PROCTCAE_1A_SCL": dry_mouth}
    if yes_no is not ...:
        out[T5] = yes_no
    return out


PEOPLE = [
    # worse than baseline: the maximum counts
    Person("A1", scores={"baseline": given(t17(0), 1, 0), "wk12": given(t17(2, 2, 1), 2, 1),
                         "wk24": given(t17(3, 3, 3), 1)}),
    # the same as baseline at worst: 0
    Person("A2", scores={"baseline": given(t17(2, 2, 2), 2, 1), "wk12": given(t17(2, 2, 2), 2, 1),
                         "wk24": given(t17(1, 1, 1), 0)}),
    # better than baseline (dry mouth 4 is composite 3): 0
    Person("A3", scores={"baseline": given(t17(3, 4, 4), 4, 1), "wk12": given(t17(1, 1, 0), 1, 0)}),
    # no baseline assessment at all
    Person("A4", scores={"wk12": given(t17(2, 3, 2), 3, 1), "wk24": given(t17(0), 0, 0)}),
    # a baseline with the items declined: no baseline grade
    Person("A5", scores={"baseline": given(t17(D_, D_, D_), D_, D_), "wk12": given(t17(1, 1, 1), 1, 1)}),
    # only a baseline
    Person("A6", scores={"baseline": given(t17(2, 1, 1), 2, 1)}),
    # worse, to grade 3
    Person("B1", arm="B", scores={"baseline": given(t17(1, 1, 1), 1, 0), "wk12": given(t17(4, 4, 4), 4, 1)}),
    # a declined severity leaves week 12 without a composite; week 24 is 0, as is baseline-adjusted
    Person("B2", arm="B", scores={"baseline": given(t17(1, 1, 0), 1, 0), "wk12": given(t17(2, D_, D_), D_, 1),
                                  "wk24": given(t17(0), 0)}),
    # every post-baseline item declined: no post-baseline grade
    Person("B3", arm="B", scores={"baseline": given(t17(2, 2, 1), 2, 0), "wk12": given(t17(D_, D_, D_), D_, D_)}),
    # a partial (closed) assessment counts; the fourth timepoint too
    Person("B4", arm="B", scores={"baseline": given(t17(0), 0, 0), "wk12": given(t17(2, 2, 3), 3, 1),
                                  "fu30": given(t17(1, 1, 1), 1)}, statuses={"wk12": "partial"}),
    # baseline started, then marked not done (its answers kept, never scored): no baseline grade
    Person("B5", arm="B", site="MIA", scores={"baseline": given(t17(3, 3, 3), 3, 1),
                                              "wk12": given(t17(1, 1, 1), 1, 0)}, statuses={"baseline": "not_done"}),
    # no arm
    Person("N1", arm=None, site="MIA", scores={"baseline": given(t17(0), 0, 0), "wk12": given(t17(1, 2, 1), 1, 0)}),
]
COUNTED = ("completed", "partial")


@functools.cache
def with_composites() -> tuple[Person, ...]:
    """PEOPLE with the composite grades pro-app stores for their scored assessments (its scoring engine:
    SCORING.md §4) beside the items; a not-done assessment keeps its answers and has no scores."""
    people = copy.deepcopy(PEOPLE)
    scored = [values for person in people for tp, values in person.scores.items()
              if person.statuses.get(tp, "completed") in COUNTED]
    answers = pd.DataFrame([{k: (np.nan if v is None or v == BRANCHED else float(v)) for k, v in values.items()}
                            for values in scored])
    grades = score(get_instrument("pro_ctcae"), answers).values
    for values, (_, row) in zip(scored, grades.iterrows(), strict=True):
        values.update({code: (None if math.isnan(row[code]) else float(row[code])) for code in (T1, T17)})
    return tuple(people)


@pytest.fixture
def exported(app):
    """The study's `proae` data set with each participant's arm from `subjects` (proae has no arm column: an
    analyst merges the two, as ProAE wants one frame) and each assessment's status from `compliance`, and its
    `results_terms` data set."""
    with app.app_context():
        study = db.session.get(Study, build(list(with_composites()), code="TOX-1", terms=(1, 5, 17)))
        proae = pd.concat(list(D.build(study, "proae")), ignore_index=True)
        subjects = pd.concat(list(D.build(study, "subjects")), ignore_index=True)
        compliance = pd.concat(list(D.build(study, "compliance")), ignore_index=True)
        terms = pd.concat(list(D.build(study, "results_terms")), ignore_index=True)
        baseline = study.baseline_position
    arm = subjects.set_index("participant")["arm"].astype(object).where(lambda a: a.notna(), None)
    status = compliance.set_index(["participant", "visit"])["assessment_status"].astype(object)
    proae = proae.assign(arm=proae["id"].map(arm),
                         status=[status[(p, v)] for p, v in zip(proae["id"], proae["Cycle"], strict=True)])
    for column in proae.columns:
        if column.startswith("PROCTCAE_"):
            proae[column] = proae[column].astype("float64")
    proae["Cycle"] = proae["Cycle"].astype("float64")
    return proae, terms, baseline


def pro_app_row(terms: pd.DataFrame, variable: str, summary: str, arm: str, visit=None) -> pd.Series:
    found = terms[(terms["variable"] == variable) & (terms["summary"] == summary) & (terms["arm"] == arm)
                  & (terms["site"] == ALL)]
    found = found[found["visit"].isna()] if visit is None else found[found["visit"] == visit]
    assert len(found) == 1, (variable, summary, arm, visit)
    return found.iloc[0]


SUMMARY = {"max_post_bl": "max_post_baseline", "bl_adjusted": "baseline_adjusted"}


# --- the checks (run by the one test at the end: building the study is most of its time) -------------------

def the_proae_data_set_holds_the_patterns(exported):
    proae, _, baseline = exported
    assert baseline == 1
    assert set(proae["id"]) == {p.code for p in PEOPLE}
    rows = proae.set_index(["id", "Cycle"])
    assert math.isnan(rows.loc[("A5", 1), T17]) and math.isnan(rows.loc[("A5", 1), T1])  # declined
    assert rows.loc[("A3", 1), "PROCTCAE_1A_SCL"] == 4 and rows.loc[("A3", 1), T1] == 3
    assert rows.loc[("A1", 1), "PROCTCAE_17B_SCL"] == 0  # branched, written as 0 for ProAE
    assert rows.loc[("B5", 1), "PROCTCAE_17A_SCL"] == 3 and math.isnan(rows.loc[("B5", 1), T17])  # not done
    assert ("A4", 1) not in rows.index
    assert math.isnan(rows.loc[("B2", 2), T17]) and rows.loc[("B2", 3), T17] == 0
    assert proae["arm"].isna().sum() == 2 and set(proae["arm"].dropna()) == {"A", "B"}


def the_composite_tables_equal_toxtables(exported):
    """toxTables(proae, "id", "Cycle", baseline_val = 1, type, arm_var) for both summary types, overall and per
    arm, against pro-app's per-participant rows: n, present (grade >= 1) and severe (grade 3)."""
    proae, terms, baseline = exported
    checked = 0
    for type_ in TYPES:
        only = {"baseline_val": baseline, "tables": ("composite",)}
        overall = tox_tables(proae, type_, **only)["composite"]
        by_arm = tox_tables(proae, type_, arm_var="arm", **only)["composite"]
        # the no-arm group: toxTables drops a missing arm, so it is toxTables on those participants alone
        no_arm = tox_tables(proae[proae["arm"].isna()], type_, **only)["composite"]
        assert set(overall) == {T1, T17}  # yes/no term 5 has no composite
        for variable in (T1, T17):
            groups = {ALL: overall[variable]["overall"], NO_ARM: no_arm[variable]["overall"], **by_arm[variable]}
            assert set(groups) == {ALL, NO_ARM, "A", "B"}
            for arm, expected in groups.items():
                got = pro_app_row(terms, variable, SUMMARY[type_], arm)
                assert got["n"] == expected["n"], (type_, variable, arm)
                assert got["share_ge1"] == expected["present"] / expected["n"], (type_, variable, arm)
                assert got["share_3"] == expected["severe"] / expected["n"], (type_, variable, arm)
                assert 100 * round(got["share_ge1"], 2) == expected["present_perc"]
                assert 100 * round(got["share_3"], 2) == expected["severe_perc"]
                checked += 1
    assert checked == 2 * 2 * 4


def hand_worked_toxtables_figures(exported):
    """The oracle on the patterns, worked by hand (term 17, arm A; composites 0->2->3, 2->2->1, 3->1,
    none->2->0, declined->1, 1 alone): max post-baseline 3, 2, 1, 2, 1 (A6 none): n 5, present 5, severe 1;
    baseline-adjusted 3, 0, 0 (A4 no baseline row, A5 no baseline grade: missing): n 3, present 1, severe 1."""
    proae, _, _ = exported
    arm_a = tox_tables(proae, "max_post_bl", arm_var="arm")["composite"][T17]["A"]
    assert (arm_a["n"], arm_a["present"], arm_a["severe"], arm_a["present_perc"]) == (5, 5, 1, 100)
    adjusted = tox_tables(proae, "bl_adjusted", arm_var="arm")["composite"][T17]["A"]
    assert (adjusted["n"], adjusted["present"], adjusted["severe"], adjusted["present_perc"]) == (3, 1, 1, 33)
    scores = summary_scores(proae, T17)
    assert scores.loc["A1"].tolist() == [3, 3]
    assert scores.loc["A2", "bl_adjusted"] == 0 and scores.loc["A3", "bl_adjusted"] == 0
    for no_baseline in ("A4", "A5", "B5"):
        assert math.isnan(scores.loc[no_baseline, "bl_adjusted"]) and scores.loc[no_baseline, "max_post_bl"] >= 1
    assert scores.loc[["A6", "B3"]].isna().all().all()  # only a baseline; every post-baseline grade declined
    assert scores.loc["B2"].tolist() == [0, 0]


def the_single_item_term_agrees_with_its_item_table(exported):
    """Term 1 has one item: toxTables' individual table of that item (0-4) gives the same n, present and severe
    as its composite (4 is composite 3) once the answers of B5's not-done baseline are left out: the proae
    data set keeps every started assessment's answers, but only a completed or partial one is scored (and
    counts in pro-app's results)."""
    proae, _, baseline = exported
    not_counted = ~proae["status"].isin(COUNTED)
    assert proae.loc[not_counted, ["id", "Cycle", "status"]].values.tolist() == [["B5", 1, "not_done"]]
    assert proae.loc[not_counted, "PROCTCAE_1A_SCL"].item() == 3 and math.isnan(proae.loc[not_counted, T1].item())
    for type_ in TYPES:
        tables = tox_tables(proae[~not_counted], type_, arm_var="arm", baseline_val=baseline)
        assert tables["individual"]["PROCTCAE_1A_SCL"] == tables["composite"][T1]
        assert "PROCTCAE_5A_IND" not in tables["individual"]  # toxTables leaves yes/no items out (line 121)
    # with them, B5's baseline answer 3 makes its item's baseline-adjusted score 0 where the composite has none
    everything = tox_tables(proae, "bl_adjusted", arm_var="arm", baseline_val=baseline)
    assert everything["individual"]["PROCTCAE_1A_SCL"]["B"]["n"] == everything["composite"][T1]["B"]["n"] + 1


def grade_counts_of_the_same_scores(exported):
    """Beyond toxTables: pro-app's grade 0-3 counts and share >= 2 of each participant's score, from the same
    toxTables scores."""
    proae, terms, baseline = exported
    for type_ in TYPES:
        for variable in (T1, T17):
            scores = summary_scores(proae, variable, baseline_val=baseline)[type_]
            arm = proae.groupby("id")["arm"].first().reindex(scores.index).fillna(NO_ARM)
            for group in (ALL, NO_ARM, "A", "B"):
                kept = scores[(arm == group) if group != ALL else slice(None)].dropna()
                got = pro_app_row(terms, variable, SUMMARY[type_], group)
                assert [got[f"grade_{g}"] for g in range(4)] == [int((kept == g).sum()) for g in range(4)]
                assert got["share_ge2"] == (kept >= 2).sum() / len(kept)


def shares_per_timepoint(exported):
    """Beyond toxTables (it has no per-cycle table): per cycle, the composites given at it in the proae data
    set (a missing one not counted) against pro-app's per-timepoint rows."""
    proae, terms, _ = exported
    checked = 0
    for variable in (T1, T17):
        for cycle, rows in proae.groupby("Cycle"):
            for group in (ALL, NO_ARM, "A", "B"):
                kept = rows if group == ALL else rows[rows["arm"].fillna(NO_ARM) == group]
                values = kept[variable].dropna()
                found = terms[(terms["variable"] == variable) & (terms["summary"] == "visit")
                              & (terms["visit"] == cycle) & (terms["arm"] == group) & (terms["site"] == ALL)]
                if values.empty:
                    assert found.empty
                    continue
                got = found.iloc[0]
                assert got["n"] == len(values)
                assert [got[f"grade_{g}"] for g in range(4)] == [int((values == g).sum()) for g in range(4)]
                assert (got["share_ge1"], got["share_ge2"], got["share_3"]) == (
                    (values >= 1).sum() / len(values), (values >= 2).sum() / len(values),
                    (values >= 3).sum() / len(values))
                checked += 1
    assert checked > 20


def a_yes_no_term_follows_the_same_rules_outside_toxtables(exported):
    """Documented difference (pro_app/results/services.py docstring; data set codebook): toxTables leaves yes/no
    items out (line 121), pro-app tabulates a term without a composite on its item (0/1). The same
    summary-score steps applied to that item, on the assessments pro-app counts (completed or partial: the
    proae data set also holds B5's not-done baseline answers), give pro-app's figures."""
    proae, terms, baseline = exported
    assert T5 not in tox_tables(proae)["individual"] and T5 not in tox_tables(proae)["composite"]
    proae = proae[proae["status"].isin(COUNTED)]
    for type_ in TYPES:
        scores = summary_scores(proae, T5, baseline_val=baseline)[type_]
        arm = proae.groupby("id")["arm"].first().reindex(scores.index).fillna(NO_ARM)
        for group in (ALL, NO_ARM, "A", "B"):
            kept = scores[(arm == group) if group != ALL else slice(None)].dropna()
            got = pro_app_row(terms, T5, SUMMARY[type_], group)
            assert got["kind"] == "item"
            assert (got["n"], got["grade_0"], got["grade_1"]) == (len(kept), (kept == 0).sum(), (kept == 1).sum())
            assert got["share_ge1"] == (kept > 0).sum() / len(kept)
            assert math.isnan(got["share_3"])


# --- the tests ----------------------------------------------------------------------------------------------

def test_pro_app_agrees_with_toxtables(exported):
    """One test, one study built: toxTables' own figures, then those it lacks by the same rules."""
    the_proae_data_set_holds_the_patterns(exported)
    hand_worked_toxtables_figures(exported)
    the_composite_tables_equal_toxtables(exported)
    the_single_item_term_agrees_with_its_item_table(exported)
    # beyond toxTables
    grade_counts_of_the_same_scores(exported)
    shares_per_timepoint(exported)
    a_yes_no_term_follows_the_same_rules_outside_toxtables(exported)
