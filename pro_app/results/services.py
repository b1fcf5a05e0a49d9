"""A study's results, computed with pandas from one read per table (participants, assessments, scores and,
for PRO-CTCAE terms without a composite, their yes/no items).

What counts: scored values of completed or partial assessments; not-done and missed
assessments and unscored scales (insufficient, not applicable) are left out, so every figure carries its n.
Baseline is the study's baseline timepoint (Study.baseline_position). Groups: each arm, participants with no
arm (`NO_ARM`) and everyone (`ALL`); optionally each site as well (site `ALL` otherwise).

Scales (non-composite): n, mean, SD, 95% CI of the mean (t distribution, n - 1 degrees of freedom), median
and quartiles (linear interpolation, R's type 7); change from baseline among those with both (mean, SD, 95%
CI); the shares improved, stable and deteriorated by at least MEANINGFUL_CHANGE points (improved is up for
functional, global and summary scales, down for symptom scales); the share past the study's threshold for
clinical importance (instruments that take thresholds).

Symptoms (PRO-CTCAE): per term and timepoint the grade distribution of the composite (0-3) and the shares
with grade >= 1, >= 2 and 3; per participant the maximum post-baseline grade, and the baseline-adjusted
maximum as ProAE's toxTables computes it (the maximum when worse than baseline, else 0; a participant with no
baseline grade has none, as in R/toxTables.R, and is not counted: tests/results/test_toxtables.py); terms with
no composite (yes/no items, which toxTables leaves out) are tabulated on their item (0/1) by the same rules.

Time to deterioration (non-composite scales): time from the anchor day (day 0 of the schedule) to the first
post-baseline assessment worse than baseline by at least MEANINGFUL_CHANGE points; without one, censored at
the last post-baseline assessment. Death and withdrawal are not events: such participants are censored at
their last assessment, with the reason (`died`, `withdrawn`) recorded; assessments kept after a withdrawal
with follow-up continuing count like any other. Participants with no baseline score are not at risk
(reason `no_baseline`, no time); those with a baseline but no later score are censored at day 0
(`no_follow_up`). Kaplan-Meier estimates in numpy, checked against `scipy.stats.ecdf` on right-censored data
(tests/results): survival and number at risk at each post-baseline timepoint's target day, the median (the
first time the survival is at or below one half) with its 95% CI read off the pointwise log-log ("exponential
Greenwood") band the same way.
lifelines computes the same figures, but it requires pandas < 3, which would change how every CSV export's
floats read back; tests/results checks these against hand-worked curves.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import func, select

from ..exports import bulk
from ..exports.bulk import as_stored
from ..extensions import db, library
from ..instruments import Instrument
from ..models import Assessment, ItemResponse, Participant, Score, Site, Study
from ..vocabulary import AssessmentStatus

#: Change from baseline that counts as clinically meaningful (Osoba 1998; SCORING.md §3).
MEANINGFUL_CHANGE = 10.0
#: The group label of everyone (every arm; every site).
ALL = "all"
#: The arm label of participants with no arm assigned.
NO_ARM = "none"
#: Assessments whose scores count: completed, and partial ones (closed with some answers: `pro-app assessments
#: close-expired`) for the scales the half rule scored.
COUNTED_STATUSES = (AssessmentStatus.COMPLETED.value, AssessmentStatus.PARTIAL.value)
GRADE_TYPE = "composite"
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Selection:
    """What to compute: arms and sites kept (empty: all), scales and terms shown (empty: all), and whether
    to add a group per site."""

    arms: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    scales: tuple[str, ...] = ()
    terms: tuple[str, ...] = ()  # composite scale codes or item ids of the symptom results
    by_site: bool = False


@dataclass
class Results:
    scales: pd.DataFrame  # results_scales
    terms: pd.DataFrame  # results_terms
    ttd: pd.DataFrame  # one row per participant and scale
    km: pd.DataFrame  # one row per scale and group: n, events, median and its CI, at risk per timepoint
    curves: dict = field(default_factory=dict)  # (scale, arm, site) -> DataFrame(time, survival, low, high)
    timepoints: list = field(default_factory=list)  # (position, code, label, target_day), schedule order


# --- reads -------------------------------------------------------------------------------------------------

def _frame(stmt, columns: list[str]) -> pd.DataFrame:
    """The statement's rows as a frame, column by column from plain tuples (_chunks)."""
    values = [[] for _ in columns]
    for chunk in _chunks(stmt):
        for n, column in enumerate(values):
            column.extend(map(itemgetter(n), chunk))
    if not values[0]:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.DataFrame(dict(zip(columns, values, strict=True)))


def _in_scope(study: Study, selection: Selection) -> list:
    """The conditions on Participant of every read: the study, and the sites selected (a site-limited user's
    are always selected: results/page.py)."""
    conditions = [Participant.study_id == study.id]
    if selection.sites:
        conditions.append(Participant.site_id.in_(
            select(Site.id).where(Site.study_id == study.id, Site.code.in_(selection.sites))))
    return conditions


def _participants(study: Study, selection: Selection) -> pd.DataFrame:
    stmt = (select(Participant.id, Participant.study_code, Site.code, Participant.arm, Participant.status,
                   Participant.withdrawn_on, Participant.death_date, Participant.anchor_date)
            .join(Site, Participant.site_id == Site.id).where(*_in_scope(study, selection)))
    frame = _frame(stmt,
                   ["participant_id", "participant", "site", "arm", "status", "withdrawn_on", "death_date",
                    "anchor_date"])
    frame["arm"] = frame["arm"].fillna(NO_ARM).replace("", NO_ARM).astype(str)
    if selection.arms:
        frame = frame[frame["arm"].isin(selection.arms)]
    frame["anchor_date"] = pd.to_datetime(frame["anchor_date"])
    return frame.reset_index(drop=True)


def _assessments(study: Study, selection: Selection) -> pd.DataFrame:
    stmt = (select(Assessment.id, Assessment.participant_id, Assessment.timepoint_id,
                   as_stored(func.coalesce(Assessment.completed_at, Assessment.started_at)))
            .join(Participant, Assessment.participant_id == Participant.id)
            # the schedule's timepoints only: an unscheduled assessment belongs to no timepoint's statistics
            .where(*_in_scope(study, selection), Assessment.status.in_(COUNTED_STATUSES),
                   Assessment.timepoint_id.is_not(None)))
    frame = _frame(stmt, ["assessment_id", "participant_id", "timepoint_id", "when"])
    frame["when"] = pd.to_datetime(frame["when"], utc=True, format="ISO8601")
    return frame


def _scores(study: Study, selection: Selection, codes: list[str], every: bool, counted: int) -> pd.DataFrame:
    """The scored values of the counted assessments, long (assessment_id, scale, value), ordered by assessment
    and then by the order of `codes` (the order every mean sums in). A 10,000-participant study has two
    million of them: one select of the three columns, read in chunks of plain tuples (_chunks) straight into
    numpy, the scale as a categorical of the study's codes. `counted`: how many assessments the study counts
    (_score_scan)."""
    assessment_ids = (select(Assessment.id).join(Participant, Assessment.participant_id == Participant.id)
                      .where(*_in_scope(study, selection), Assessment.status.in_(COUNTED_STATUSES)))
    key = Score.assessment_id + 0 if _score_scan(counted) else Score.assessment_id
    stmt = (select(Score.assessment_id, Score.scale_code, Score.value)
            .where(key.in_(assessment_ids), Score.status == "scored", Score.value.is_not(None),
                   *(() if every else (Score.scale_code.in_(codes),))))
    categories = pd.Index(codes, dtype=object)
    ids, scales, values = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.intp)], [np.empty(0)]
    first, second, third = itemgetter(0), itemgetter(1), itemgetter(2)
    for chunk in _chunks(stmt):
        ids.append(np.fromiter(map(first, chunk), np.int64, len(chunk)))
        scales.append(categories.get_indexer(list(map(second, chunk))))
        values.append(np.fromiter(map(third, chunk), float, len(chunk)))
    ids, scales, values = np.concatenate(ids), np.concatenate(scales), np.concatenate(values)
    kept = (scales >= 0) & ~np.isnan(values)  # a scale no instrument of the study has is left out
    ids, scales, values = ids[kept], scales[kept], values[kept]
    order = np.argsort(ids * (len(codes) + 1) + scales, kind="stable")
    # the scale as a categorical of the study's codes: two million strings would make every lookup by scale slow
    return pd.DataFrame({"assessment_id": ids[order],
                         "scale": pd.Categorical.from_codes(scales[order], categories=categories),
                         "value": values[order]})


#: Rows a chunk of a large read holds (_chunks).
CHUNK_ROWS = 100_000


def _chunks(stmt):
    """The statement's rows as lists of plain tuples from the DBAPI cursor, CHUNK_ROWS at a time. SQLAlchemy's
    Row objects, and `zip(*rows)` (an iterator object per row for the garbage collector to walk), each cost
    more than the read itself on two million rows."""
    result = db.session.connection().execute(stmt)
    try:
        while chunk := result.cursor.fetchmany(CHUNK_ROWS):
            yield chunk
    finally:
        result.close()


def _score_scan(counted: int) -> bool:
    """Whether SQLite should read the score table from end to end rather than through its assessment index:
    when the study holds a third or more of all assessments, a scan (keeping the study's rows by a list of its
    assessment ids) costs about half the index's row-by-row look-ups. Without statistics SQLite's planner
    always takes the index; PostgreSQL's planner chooses by its own statistics."""
    if bulk.dialect() != "sqlite" or not counted:
        return False
    return counted * 3 >= db.session.scalar(select(func.count()).select_from(Assessment))


def _single_items(study: Study) -> list[tuple[Instrument, str, int]]:
    """(instrument, item id, term) of the terms asked whose items have no composite (yes/no items)."""
    found = []
    for instrument in _graded(study):
        composed = {i for s in instrument.scales if s.type == GRADE_TYPE for i in s.items}
        for item_id in instrument.items_for_selection(study.selection_of(instrument)):
            item = instrument.item(item_id)
            if item_id not in composed and item.attribute == "presence":
                found.append((instrument, item_id, item.term))
    return found


def _items(study: Study, selection: Selection, item_ids: list[str]) -> pd.DataFrame:
    if not item_ids:
        return pd.DataFrame({"assessment_id": pd.Series(dtype="int64"), "scale": pd.Series(dtype=object),
                             "value": pd.Series(dtype=float)})
    stmt = (select(ItemResponse.assessment_id, ItemResponse.item_id, ItemResponse.value)
            .join(Assessment, ItemResponse.assessment_id == Assessment.id)
            .join(Participant, Assessment.participant_id == Participant.id)
            .where(*_in_scope(study, selection), Assessment.status.in_(COUNTED_STATUSES),
                   ItemResponse.item_id.in_(item_ids), ItemResponse.state == "answered",
                   ItemResponse.value.is_not(None)))
    frame = _frame(stmt, ["assessment_id", "scale", "value"])
    frame["value"] = frame["value"].astype(float)
    return frame


def _graded(study: Study) -> list[Instrument]:
    used = {i for t in study.timepoints for i in (t.instruments or [])}
    return [i for i in library.registry if i.id in used and any(s.type == GRADE_TYPE for s in i.scales)]


def study_instruments(study: Study) -> list[Instrument]:
    used = {i for t in study.timepoints for i in (t.instruments or [])}
    return [i for i in library.registry if i.id in used]


# --- helpers -----------------------------------------------------------------------------------------------

def t_interval(mean: pd.Series, sd: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The 95% confidence interval of a mean (t distribution); blank below n = 2."""
    n = n.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * sd / np.sqrt(n)
    half = pd.Series(np.where(n >= 2, half, np.nan), index=mean.index)
    return mean - half, mean + half


def _groupings(selection: Selection) -> list[tuple[bool, bool]]:
    """(by arm, by site) for every group wanted: arms and everyone, and per site when asked."""
    wanted = [(True, False), (False, False)]
    if selection.by_site:
        wanted += [(True, True), (False, True)]
    return wanted


def _grouped(frame: pd.DataFrame, keys: list[str], selection: Selection, summarise) -> pd.DataFrame:
    """`summarise(frame, keys)` per grouping, the arm and site columns filled with ALL where not grouped."""
    parts = []
    for by_arm, by_site in _groupings(selection):
        group_keys = keys + (["arm"] if by_arm else []) + (["site"] if by_site else [])
        part = summarise(frame, group_keys)
        if not by_arm:
            part["arm"] = ALL
        if not by_site:
            part["site"] = ALL
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _arm_order(study: Study, arm: pd.Series) -> pd.Series:
    order = {a: n for n, a in enumerate(study.arms or [])}
    order.update({NO_ARM: len(order), ALL: len(order) + 1})
    return arm.map(order).fillna(len(order)).astype(int)


# --- compute -----------------------------------------------------------------------------------------------

def compute(study: Study, selection: Selection | None = None) -> Results:
    """Every result of the study for the selection."""
    selection = selection or Selection()
    timepoints = [(t.position, t.code, t.label, t.target_day) for t in study.timepoints]
    people = _participants(study, selection)
    visits = _assessments(study, selection)
    visits = visits.merge(people[["participant_id", "site", "arm", "anchor_date"]], on="participant_id", how="inner")
    position = {t.id: t.position for t in study.timepoints}
    visits["visit"] = visits["timepoint_id"].map(position).astype(int)
    visits["day"] = (visits["when"].dt.tz_localize(None).dt.normalize() - visits["anchor_date"]).dt.days
    scale_info = _scale_info(study)
    graded = set(scale_info.index[scale_info["type"] == GRADE_TYPE])
    wanted = [c for c in scale_info.index if c in graded or not selection.scales or c in selection.scales]
    scores = _scores(study, selection, wanted, every=len(wanted) == len(scale_info), counted=len(visits))
    singles = _single_items(study)
    items = _items(study, selection, [item_id for _, item_id, _ in singles])
    baseline = study.baseline_position

    frame = _with_visits(scores, visits)
    scale_rows = frame[~frame["scale"].isin(graded)]
    grade_rows = frame[frame["scale"].isin(graded)]
    item_rows = _with_visits(items, visits)
    symptom_rows = pd.concat([grade_rows.astype({"scale": object}), item_rows], ignore_index=True)
    if selection.terms:
        symptom_rows = symptom_rows[symptom_rows["scale"].isin(selection.terms)]

    codes = {p: c for p, c, _, _ in timepoints}
    scales = _scale_results(study, scale_rows, scale_info, baseline, selection)
    terms = _term_results(study, symptom_rows, singles, baseline, selection)
    ttd = _ttd(scale_rows, scale_info, people, baseline)
    km, curves = _kaplan_meier(study, ttd, timepoints, baseline, selection)
    for table in (scales, terms):
        table.insert(table.columns.get_loc("visit"), "timepoint", table["visit"].map(codes))
    return Results(scales, terms, ttd, km, curves, timepoints)


VISIT_COLUMNS = ["participant_id", "site", "arm", "visit", "day"]


def _with_visits(values: pd.DataFrame, visits: pd.DataFrame) -> pd.DataFrame:
    """The values of counted assessments of the people selected, each with its visit's columns: a lookup by
    assessment id, not a merge (merging copies every column of two million rows more than once)."""
    where = pd.Index(visits["assessment_id"].astype("int64")).get_indexer(values["assessment_id"].astype("int64"))
    kept = where >= 0
    out = values[kept].reset_index(drop=True)
    rows = where[kept]
    for column in VISIT_COLUMNS:
        out[column] = visits[column].iloc[rows].reset_index(drop=True)
    return out


def _pair_key(rows: pd.DataFrame, column: str = "scale") -> np.ndarray:
    """One integer per participant and scale (the scale a categorical): what merges on both would match."""
    scale = rows[column].cat
    return rows["participant_id"].to_numpy(dtype=np.int64) * (len(scale.categories) + 1) + scale.codes.to_numpy()


def _distinct(keys: np.ndarray) -> np.ndarray:
    """np.unique of integer keys by one sort (np.unique hashes first, several times slower on a million keys)."""
    ordered = np.sort(keys)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _lookup(keys: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The value of each wanted key (NaN where it has none); the first value where a key repeats."""
    index = pd.Index(keys)
    if not index.is_unique:
        first = ~index.duplicated()
        index, values = index[first], values[first]
    if not len(index):
        return np.full(len(wanted), np.nan)
    where = index.get_indexer(wanted)
    return np.where(where >= 0, np.asarray(values, dtype=float)[where], np.nan)


def _scale_info(study: Study) -> pd.DataFrame:
    rows = []
    thresholds = study.thresholds or {}
    order = 0
    for instrument in study_instruments(study):
        for scale in instrument.scales:
            rule = thresholds.get(scale.code, {}) if instrument.takes_thresholds else {}
            rows.append({"scale": scale.code, "instrument": instrument.id, "type": scale.type,
                         "direction": 1.0 if scale.higher_is_better else -1.0,
                         "below": float(rule.get("below", math.nan)), "above": float(rule.get("above", math.nan)),
                         "order": order})
            order += 1
    if not rows:
        return pd.DataFrame(columns=["instrument", "type", "direction", "below", "above", "order"],
                            index=pd.Index([], name="scale"))
    return pd.DataFrame(rows).set_index("scale")


SCALE_COLUMNS = ["instrument", "scale", "visit", "arm", "site", "n", "mean", "sd", "ci_low", "ci_high", "median",
                 "p25", "p75", "n_change", "change_mean", "change_sd", "change_ci_low", "change_ci_high", "improved",
                 "stable", "deteriorated", "threshold", "past_threshold"]


def _with_baseline(rows: pd.DataFrame, baseline: int | None, column: str = "scale") -> pd.Series:
    """Each row's baseline value of the same participant and scale (NaN: none)."""
    key = _pair_key(rows, column)
    at_baseline = (rows["visit"] == baseline).to_numpy()
    values = rows["value"].to_numpy(dtype=float)
    return pd.Series(_lookup(key[at_baseline], values[at_baseline], key), index=rows.index)


def _scale_results(study: Study, rows: pd.DataFrame, info: pd.DataFrame, baseline: int | None,
                   selection: Selection) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SCALE_COLUMNS})
    rows = rows.copy()
    rows["baseline"] = _with_baseline(rows, baseline)
    change = (rows["value"] - rows["baseline"]).where(rows["visit"] != baseline)
    rows["change"] = change
    signed = change * rows["scale"].map(info["direction"])
    has = change.notna()
    rows["improved"] = (signed >= MEANINGFUL_CHANGE).astype(float).where(has)
    rows["deteriorated"] = (signed <= -MEANINGFUL_CHANGE).astype(float).where(has)
    rows["stable"] = (signed.abs() < MEANINGFUL_CHANGE).astype(float).where(has)
    below, above = rows["scale"].map(info["below"]), rows["scale"].map(info["above"])
    past = (rows["value"] < below) | (rows["value"] > above)
    rows["past"] = past.astype(float).where(below.notna() | above.notna())

    def summarise(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        grouped = frame.groupby(keys, sort=False, observed=True)
        out = grouped.agg(n=("value", "count"), mean=("value", "mean"), sd=("value", "std"),
                          median=("value", "median"), n_change=("change", "count"),
                          change_mean=("change", "mean"), change_sd=("change", "std"),
                          improved=("improved", "mean"), stable=("stable", "mean"),
                          deteriorated=("deteriorated", "mean"), past_threshold=("past", "mean"))
        quartiles = grouped["value"].quantile([0.25, 0.75]).unstack()
        out["p25"], out["p75"] = quartiles[0.25], quartiles[0.75]
        return out.reset_index()

    out = _grouped(rows, ["scale", "visit"], selection, summarise)
    out["ci_low"], out["ci_high"] = t_interval(out["mean"], out["sd"], out["n"])
    out["change_ci_low"], out["change_ci_high"] = t_interval(out["change_mean"], out["change_sd"], out["n_change"])
    for column in ("change_mean", "change_sd", "change_ci_low", "change_ci_high", "improved", "stable",
                   "deteriorated"):
        out.loc[out["n_change"] == 0, column] = np.nan
    out["scale"] = out["scale"].astype(object)
    out["instrument"] = out["scale"].map(info["instrument"])
    out["threshold"] = out["scale"].map(info["below"]).fillna(out["scale"].map(info["above"]))
    out = out.assign(_o=out["scale"].map(info["order"]), _a=_arm_order(study, out["arm"]),
                     _s=(out["site"] != ALL).astype(int))
    out = out.sort_values(["_o", "_s", "site", "_a", "visit"], kind="stable")
    return out[SCALE_COLUMNS].reset_index(drop=True)


TERM_COLUMNS = ["instrument", "term", "variable", "kind", "summary", "visit", "arm", "site", "n", "grade_0",
                "grade_1", "grade_2", "grade_3", "share_ge1", "share_ge2", "share_3"]
#: `summary` values of the symptom results.
BY_VISIT, MAX_POST_BASELINE, BASELINE_ADJUSTED = "visit", "max_post_baseline", "baseline_adjusted"


def term_info(study: Study) -> pd.DataFrame:
    """One row per symptom variable of the study: composite scales, then yes/no items of terms without one."""
    rows = []
    for instrument in _graded(study):
        asked = set(instrument.items_for_selection(study.selection_of(instrument)))
        for scale in instrument.scales:
            if scale.type == GRADE_TYPE and asked.intersection(scale.items):
                rows.append({"variable": scale.code, "instrument": instrument.id, "kind": "composite",
                             "term": instrument.item(scale.items[0]).term})
    for instrument, item_id, term in _single_items(study):
        rows.append({"variable": item_id, "instrument": instrument.id, "kind": "item", "term": term})
    frame = pd.DataFrame(rows, columns=["variable", "instrument", "kind", "term"])
    frame["order"] = range(len(frame))
    return frame.sort_values(["term", "order"], kind="stable").set_index("variable")


def _term_results(study: Study, rows: pd.DataFrame, singles, baseline: int | None,
                  selection: Selection) -> pd.DataFrame:
    info = term_info(study)
    if rows.empty or info.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TERM_COLUMNS})
    rows = rows[rows["scale"].isin(info.index)].rename(columns={"scale": "variable"})
    rows = rows.assign(variable=pd.Categorical(rows["variable"], categories=list(info.index)))
    grades = rows["value"].round().astype(int)
    for g in range(4):
        rows[f"grade_{g}"] = (grades == g).astype(int)

    def summarise(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        out = frame.groupby(keys, sort=False, observed=True).agg(
            n=("value", "count"), **{f"grade_{g}": (f"grade_{g}", "sum") for g in range(4)})
        return out.reset_index()

    by_visit = _grouped(rows, ["variable", "visit"], selection, summarise).assign(summary=BY_VISIT)
    # per participant: the highest post-baseline grade; baseline-adjusted: that grade only when worse than baseline
    post = rows[rows["visit"] != baseline]
    worst = post.groupby(["variable", "participant_id"], sort=False, observed=True).agg(
        value=("value", "max"), arm=("arm", "first"), site=("site", "first")).reset_index()
    base = rows[rows["visit"] == baseline][["variable", "participant_id", "value"]].rename(columns={"value": "_b"})
    worst = worst.merge(base, on=["variable", "participant_id"], how="left")
    # no baseline grade, no baseline-adjusted maximum (ProAE's toxTables leaves such participants out)
    adjusted = worst[worst["_b"].notna()]
    adjusted = adjusted.assign(value=np.where(adjusted["value"] > adjusted["_b"], adjusted["value"], 0.0))
    parts = [by_visit]
    for summary, frame in ((MAX_POST_BASELINE, worst), (BASELINE_ADJUSTED, adjusted)):
        grades = frame["value"].round().astype(int)
        frame = frame.assign(**{f"grade_{g}": (grades == g).astype(int) for g in range(4)})
        parts.append(_grouped(frame, ["variable"], selection, summarise).assign(summary=summary, visit=pd.NA))
    out = pd.concat(parts, ignore_index=True)
    out["variable"] = out["variable"].astype(object)
    out["visit"] = pd.array([None if pd.isna(v) else int(v) for v in out["visit"]], dtype="Int64")
    n = out["n"].astype(float)
    counts = out[[f"grade_{g}" for g in range(4)]].to_numpy(dtype=float)
    out["share_ge1"] = counts[:, 1:].sum(axis=1) / n
    composite = out["variable"].map(info["kind"]) == "composite"
    out["share_ge2"] = np.where(composite, counts[:, 2:].sum(axis=1) / n, np.nan)
    out["share_3"] = np.where(composite, counts[:, 3:].sum(axis=1) / n, np.nan)
    for g in (2, 3):  # grades a yes/no item cannot take are blank, not 0
        out[f"grade_{g}"] = out[f"grade_{g}"].astype("Int64").where(composite)
    out["instrument"] = out["variable"].map(info["instrument"])
    out["term"] = out["variable"].map(info["term"]).astype(int)
    out["kind"] = out["variable"].map(info["kind"])
    summary_order = {BY_VISIT: 0, MAX_POST_BASELINE: 1, BASELINE_ADJUSTED: 2}
    out = out.assign(_o=out["variable"].map(pd.Series(range(len(info)), index=info.index)),
                     _k=out["summary"].map(summary_order), _a=_arm_order(study, out["arm"]),
                     _s=(out["site"] != ALL).astype(int), _v=out["visit"].fillna(0))
    out = out.sort_values(["_o", "_s", "site", "_k", "_a", "_v"], kind="stable")
    return out[TERM_COLUMNS].reset_index(drop=True)


TTD_COLUMNS = ["instrument", "scale", "participant", "site", "arm", "baseline_value", "time", "event",
               "event_value", "censoring_reason"]
#: Why a participant's time to deterioration is censored (or not at risk).
CENSOR_REASONS = ("last_assessment", "withdrawn", "died", "no_follow_up", "no_baseline")


def _ttd(rows: pd.DataFrame, info: pd.DataFrame, people: pd.DataFrame, baseline: int | None) -> pd.DataFrame:
    """One row per participant and scale with a score: days to deterioration or censoring. Computed on one
    integer key per participant and scale, in numpy: a study of 10,000 participants has over a million rows."""
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TTD_COLUMNS})
    key = _pair_key(rows)
    width = len(rows["scale"].cat.categories) + 1
    visit = rows["visit"].to_numpy()
    value = rows["value"].to_numpy(dtype=float)
    day = np.clip(rows["day"].to_numpy(dtype=float), 0, None)
    at_baseline = visit == baseline
    pairs = _distinct(key)
    base_of_row = _lookup(key[at_baseline], value[at_baseline], key)
    post = ~at_baseline & ~np.isnan(base_of_row)
    signed = (value - base_of_row) * rows["scale"].map(info["direction"]).to_numpy(dtype=float)
    worse = post & (signed <= -MEANINGFUL_CHANGE)
    # the first worse assessment of each pair (by day), and the last post-baseline day
    order = np.lexsort((day[worse], key[worse]))
    worse_keys, worse_days, worse_values = key[worse][order], day[worse][order], value[worse][order]
    first = np.r_[True, worse_keys[1:] != worse_keys[:-1]] if len(worse_keys) else np.array([], dtype=bool)
    event_day = _lookup(worse_keys[first], worse_days[first], pairs)
    event_value = _lookup(worse_keys[first], worse_values[first], pairs)
    last = pd.Series(day[post]).groupby(key[post]).max()
    last_day = _lookup(last.index.to_numpy(), last.to_numpy(dtype=float), pairs)
    baseline_value = _lookup(key[at_baseline], value[at_baseline], pairs)

    participant_id = pairs // width
    person = pd.Index(people["participant_id"].astype("int64")).get_indexer(participant_id)
    scale = pd.Categorical.from_codes(pairs % width, categories=rows["scale"].cat.categories)
    out = pd.DataFrame({"scale": scale, "baseline_value": baseline_value, "event_value": event_value})
    for column in ("participant", "site", "arm", "status", "death_date"):
        out[column] = people[column].iloc[person].to_numpy()
    event = ~np.isnan(event_day)
    has_base = ~np.isnan(baseline_value)
    out["event"] = pd.array(np.where(has_base, event.astype(int), pd.NA), dtype="Int64")
    out["time"] = pd.array(np.where(event, event_day, np.where(has_base, np.nan_to_num(last_day), np.nan)),
                           dtype="Float64").astype("Int64")
    reason = np.select(
        [~has_base, event, np.isnan(last_day), out["death_date"].notna(), out["status"] == "withdrawn"],
        [CENSOR_REASONS[4], "", CENSOR_REASONS[3], CENSOR_REASONS[2], CENSOR_REASONS[1]],
        default=CENSOR_REASONS[0])
    out["censoring_reason"] = pd.array(np.where(reason == "", None, reason), dtype="string")
    out["instrument"] = out["scale"].map(info["instrument"]).astype(object)
    out["scale"] = out["scale"].astype(object)
    out = out.assign(_o=out["scale"].map(info["order"])).sort_values(["_o", "participant"], kind="stable")
    return out[TTD_COLUMNS].reset_index(drop=True)


KM_COLUMNS = ["instrument", "scale", "arm", "site", "n", "events", "median", "median_ci_low", "median_ci_high"]


def _kaplan_meier(study: Study, ttd: pd.DataFrame, timepoints, baseline: int | None,
                  selection: Selection) -> tuple[pd.DataFrame, dict]:
    later = [(code, day) for position, code, _, day in timepoints if position != baseline]
    columns = KM_COLUMNS + [f"at_risk_{c}" for c, _ in later] + [f"survival_{c}" for c, _ in later]
    at_risk = ttd[ttd["event"].notna()]
    if at_risk.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}), {}
    durations = at_risk["time"].to_numpy(dtype=float)
    events = at_risk["event"].to_numpy(dtype=int)
    rows, curves = [], {}
    for by_arm, by_site in _groupings(selection):
        keys = ["scale"] + (["arm"] if by_arm else []) + (["site"] if by_site else [])
        for key, where in at_risk.reset_index(drop=True).groupby(keys, sort=False).indices.items():
            key = key if isinstance(key, tuple) else (key,)
            scale = key[0]
            arm = key[1] if by_arm else ALL
            site = key[-1] if by_site else ALL
            days = durations[where]
            curve = kaplan_meier(days, events[where].astype(bool))
            row = {"scale": scale, "arm": arm, "site": site, "n": len(where), "events": int(events[where].sum()),
                   "median": _median(curve, "survival"), "median_ci_low": _median(curve, "low"),
                   "median_ci_high": _median(curve, "high")}
            survival = _survival_at(curve, [d for _, d in later])
            for (code, day), s in zip(later, survival, strict=True):
                row[f"at_risk_{code}"] = int((days >= day).sum())
                row[f"survival_{code}"] = float(s)
            rows.append(row)
            curves[(scale, arm, site)] = curve
    out = pd.DataFrame(rows)
    info = _scale_info(study)
    out["instrument"] = out["scale"].map(info["instrument"])
    out = out.assign(_o=out["scale"].map(info["order"]), _a=_arm_order(study, out["arm"]),
                     _s=(out["site"] != ALL).astype(int))
    out = out.sort_values(["_o", "_s", "site", "_a"], kind="stable")
    return out[columns].reset_index(drop=True), curves


def kaplan_meier(days: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """The Kaplan-Meier curve of right-censored times: `time` (0, then each distinct time observed),
    `survival`, and its pointwise 95% band (`low`, `high`; log-log transform, "exponential Greenwood"). Where
    the band is undefined (survival 1 before any event, or 0 after the last) it is the survival itself.

    Computed in numpy, the same figures as `scipy.stats.ecdf` on `CensoredData` with
    `confidence_interval(method="log-log")` (tests/results checks both agree): SciPy's takes some 20 ms a
    curve, and a study's page draws a curve per scale and arm."""
    days = np.asarray(days, dtype=float)
    events = np.asarray(events, dtype=bool)
    start = pd.DataFrame({"time": [0.0], "survival": [1.0], "low": [1.0], "high": [1.0]})
    if not events.any():  # nobody deteriorated: the curve stays at 1
        return start
    distinct = np.unique(days)
    at_risk = len(days) - np.searchsorted(np.sort(days), distinct, side="left")
    died = np.bincount(np.searchsorted(distinct, days[events]), minlength=len(distinct))
    with np.errstate(divide="ignore", invalid="ignore"):
        survival_at = np.cumprod(1.0 - died / at_risk)
        greenwood = np.cumsum(np.where(died > 0, died / (at_risk * (at_risk - died)), 0.0))
        z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
        log_s = np.log(survival_at)
        spread = z * np.sqrt(greenwood) / np.abs(log_s)
        low_at = survival_at ** np.exp(spread)
        high_at = survival_at ** np.exp(-spread)
    undefined = ~np.isfinite(spread) | (survival_at <= 0) | (survival_at >= 1)
    low_at = np.where(undefined, survival_at, low_at)
    high_at = np.where(undefined, survival_at, high_at)
    times = distinct[distinct > 0]
    keep = distinct > 0
    curve = pd.DataFrame({"time": times, "survival": survival_at[keep], "low": low_at[keep], "high": high_at[keep]})
    if distinct[0] == 0 and died[0]:  # deteriorated on day 0: the curve starts below 1
        first = survival_at[0]
        start = pd.DataFrame({"time": [0.0], "survival": [first], "low": [first], "high": [first]})
    return pd.concat([start, curve], ignore_index=True)


def scipy_kaplan_meier(days: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """The same curve by `scipy.stats.ecdf` (the reference `kaplan_meier` is tested against)."""
    start = pd.DataFrame({"time": [0.0], "survival": [1.0], "low": [1.0], "high": [1.0]})
    if not events.any():
        return start
    result = stats.ecdf(stats.CensoredData(uncensored=days[events], right=days[~events]))
    times = np.unique(days[days > 0])
    survival = result.sf.evaluate(times)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the band is undefined where survival is 0 or 1
        band = result.sf.confidence_interval(confidence_level=CONFIDENCE, method="log-log")
        low, high = band.low.evaluate(times), band.high.evaluate(times)
    curve = pd.DataFrame({"time": times, "survival": survival,
                          "low": np.where(np.isnan(low), survival, low),
                          "high": np.where(np.isnan(high), survival, high)})
    if (days[events] == 0).any():
        first = result.sf.evaluate([0.0])[0]
        start = pd.DataFrame({"time": [0.0], "survival": [first], "low": [first], "high": [first]})
    return pd.concat([start, curve], ignore_index=True)


def _median(curve: pd.DataFrame, column: str) -> float:
    """The first time `column` of the curve is at or below one half; blank (NaN) if it never is."""
    below = np.flatnonzero(curve[column].to_numpy() <= 0.5 + 1e-12)
    return float(curve["time"].to_numpy()[below[0]]) if len(below) else math.nan


def _survival_at(curve: pd.DataFrame, days: list[float]) -> list[float]:
    """The step function's value at each day (the last step at or before it)."""
    index = np.searchsorted(curve["time"].to_numpy(), np.asarray(days, dtype=float), side="right") - 1
    survival = curve["survival"].to_numpy()
    return [float(survival[max(i, 0)]) for i in index]
