"""A study's results, from one read per table (participants, assessments, scores and, for PRO-CTCAE terms
without a composite, their yes/no items), counted in numpy.

A 10,000-participant study has two million scored values. They come from the database grouped by scale and
value (`_score_levels`): a few thousand rows, each a scale, a value and the ids of the assessments with it,
where reading every value as a row of its own would cost more than everything else together. A scale's
figures then follow from histograms, per scale, timepoint, arm and site, of its values and of its changes
from baseline (each change a pair of values); time to deterioration and the symptom maxima from one index
per participant and variable. Sums run in extended precision over the distinct values: a mean or SD may
differ from pandas' on the values one by one (a compensated running sum, Welford's SD) in the last bit or
two, never beyond 1e-14 relatively.

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
from sqlalchemy import Text, cast, func, select

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


def _counted_assessments(study: Study, selection: Selection):
    return (select(Assessment.id).join(Participant, Assessment.participant_id == Participant.id)
            .where(*_in_scope(study, selection), Assessment.status.in_(COUNTED_STATUSES)))


def _visits(study: Study, selection: Selection, people: pd.DataFrame) -> pd.DataFrame:
    """The counted assessments of the people selected, in assessment id order: `person` (row of `people`),
    `visit` (the timepoint's position) and `day` (from the anchor date)."""
    stmt = (select(Assessment.id, Assessment.participant_id, Assessment.timepoint_id,
                   as_stored(func.coalesce(Assessment.completed_at, Assessment.started_at)))
            .join(Participant, Assessment.participant_id == Participant.id)
            # the schedule's timepoints only: an unscheduled assessment belongs to no timepoint's statistics
            .where(*_in_scope(study, selection), Assessment.status.in_(COUNTED_STATUSES),
                   Assessment.timepoint_id.is_not(None)))
    frame = _frame(stmt, ["assessment_id", "participant_id", "timepoint_id", "when"])
    frame["when"] = pd.to_datetime(frame["when"], utc=True, format="ISO8601")
    persons = people[["participant_id", "anchor_date"]].assign(person=np.arange(len(people)))
    frame = frame.merge(persons, on="participant_id", how="inner")
    position = {t.id: t.position for t in study.timepoints}
    frame["visit"] = frame["timepoint_id"].map(position).astype(int)
    frame["day"] = (frame["when"].dt.tz_localize(None).dt.normalize() - frame["anchor_date"]).dt.days
    frame["assessment_id"] = frame["assessment_id"].astype("int64")
    return frame.sort_values("assessment_id").reset_index(drop=True)


@dataclass
class _Levels:
    """Values as runs of one variable and value (a level): each level's variable (index into the variables:
    -1 for one the study does not show), value and count, and the assessment ids of its values, level by
    level."""

    variable: np.ndarray
    value: np.ndarray
    count: np.ndarray
    assessment_id: np.ndarray

    @classmethod
    def of_rows(cls, ids: np.ndarray, variable: np.ndarray, value: np.ndarray) -> _Levels:
        """The levels of values read one by one."""
        order = np.lexsort((value, variable))
        variable, value = variable[order], value[order]
        starts = np.flatnonzero(np.r_[True, (variable[1:] != variable[:-1]) | (value[1:] != value[:-1])]) \
            if len(order) else np.empty(0, dtype=np.intp)
        return cls(variable[starts], value[starts], np.diff(np.r_[starts, len(order)]), ids[order])

    @classmethod
    def concat(cls, parts: list[_Levels]) -> _Levels:
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("variable", "value", "count",
                                                                              "assessment_id")))

    def located(self, visits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """For each assessment id, its level and its row of the visits (-1: not one of them)."""
        return np.repeat(np.arange(len(self.count)), self.count), _rows(visits["assessment_id"].to_numpy(),
                                                                         self.assessment_id)


def _score_levels(study: Study, selection: Selection, variables: pd.Index, every: bool, counted: int) -> _Levels:
    """The scored values of the counted assessments. A 10,000-participant study has two million: the database
    groups them by scale and value (in the order of ix_score_scored_values, so SQLite need not sort) and sends
    each group as one row with its assessment ids as text, a few thousand rows instead of two million tuples.
    SQLite does so when it reads every scored value anyway (_score_scan; the study's are kept afterwards:
    _Values.of); for a study with a small share of its database it reads through the assessment index, value
    by value."""
    if not counted:  # nobody selected has a counted assessment
        return _Levels.of_rows(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.intp), np.empty(0))
    scored = [Score.status == "scored", Score.value.is_not(None)]
    if not every:
        scored.append(Score.scale_code.in_(list(variables)))
    in_study = Score.assessment_id.in_(_counted_assessments(study, selection))
    scan = _score_scan(counted)
    if bulk.dialect() == "sqlite" and not scan:
        stmt = select(Score.assessment_id, Score.scale_code, Score.value).where(in_study, *scored)
        return _levels_of(stmt, variables)
    ids = Score.assessment_id if bulk.dialect() == "sqlite" else cast(Score.assessment_id, Text)
    stmt = (select(Score.scale_code, Score.value, func.aggregate_strings(ids, ","))
            .where(*scored, *(() if scan else (in_study,))).group_by(Score.scale_code, Score.value))
    rows = db.session.execute(stmt).all()
    codes, values, lists = zip(*rows, strict=True) if rows else ((), (), ())
    return _Levels(variables.get_indexer(list(codes)), np.array(values, dtype=float),
                   np.array([text.count(",") + 1 for text in lists], dtype=np.int64),
                   np.fromstring(",".join(lists), dtype=np.int64, sep=",") if lists else np.empty(0, dtype=np.int64))


def _levels_of(stmt, variables: pd.Index) -> _Levels:
    """The levels of a read of (assessment id, variable, value) rows, in chunks of plain tuples."""
    ids, names, values = [np.empty(0, dtype=np.int64)], [np.empty(0, dtype=np.intp)], [np.empty(0)]
    first, second, third = itemgetter(0), itemgetter(1), itemgetter(2)
    for chunk in _chunks(stmt):
        ids.append(np.fromiter(map(first, chunk), np.int64, len(chunk)))
        names.append(variables.get_indexer(list(map(second, chunk))))
        values.append(np.fromiter(map(third, chunk), float, len(chunk)))
    return _Levels.of_rows(np.concatenate(ids), np.concatenate(names), np.concatenate(values))


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
    """Whether SQLite should group every scored value of the database rather than read the study's through
    the assessment index: when the study holds a sixth or more of all assessments, one grouped pass over every
    scored value (keeping the study's afterwards; some 0.4 µs a value on the benchmark) costs less than
    reading the study's values one by one as rows (some 2.5 µs each). Without statistics SQLite's planner
    cannot tell; PostgreSQL's planner chooses by its own statistics."""
    if bulk.dialect() != "sqlite" or not counted:
        return False
    return counted * 6 >= db.session.scalar(select(func.count()).select_from(Assessment))


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


def _item_levels(study: Study, selection: Selection, variables: pd.Index, item_ids: list[str]) -> _Levels:
    stmt = (select(ItemResponse.assessment_id, ItemResponse.item_id, ItemResponse.value)
            .join(Assessment, ItemResponse.assessment_id == Assessment.id)
            .join(Participant, Assessment.participant_id == Participant.id)
            .where(*_in_scope(study, selection), Assessment.status.in_(COUNTED_STATUSES),
                   ItemResponse.item_id.in_(item_ids), ItemResponse.state == "answered",
                   ItemResponse.value.is_not(None)))
    return _levels_of(stmt, variables)


def _graded(study: Study) -> list[Instrument]:
    return [i for i in study_instruments(study) if any(s.type == GRADE_TYPE for s in i.scales)]


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


# --- the values counted ------------------------------------------------------------------------------------

@dataclass
class _People:
    """The people selected (`frame`: _participants) with their arm and site as codes into `arms` and `sites`,
    and their order by participant code (`by_code`: rows of the frame; `rank`: each row's place)."""

    frame: pd.DataFrame
    arms: pd.Index
    arm: np.ndarray
    sites: pd.Index
    site: np.ndarray
    by_code: np.ndarray
    rank: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame) -> _People:
        by_code = np.argsort(frame["participant"].to_numpy(dtype=object), kind="stable")
        rank = np.empty(len(frame), dtype=np.intp)
        rank[by_code] = np.arange(len(frame))
        return cls(frame, *_codes(frame["arm"]), *_codes(frame["site"]), by_code, rank)


@dataclass
class _Values:
    """The values the results count, one per counted assessment of a person selected and variable, as arrays
    in no particular order: `level` (index into the levels: each a variable and a value, `level_variable` and
    `level_value`), `variable`, `value`, `row` (the assessment's row of the visits, so in assessment id order),
    `person` (row of the people), `visit` (index into `positions`, the positions of the timepoints counted),
    `day` (from the anchor date) and `pair`, one index per variable and person (variable by variable, people
    by code); `base` holds each pair's baseline value (its index; -1: none) and `later` flags the values
    after baseline."""

    level_variable: np.ndarray
    level_value: np.ndarray
    positions: np.ndarray
    level: np.ndarray
    variable: np.ndarray
    value: np.ndarray
    row: np.ndarray
    person: np.ndarray
    visit: np.ndarray
    day: np.ndarray
    pair: np.ndarray
    base: np.ndarray
    later: np.ndarray

    @classmethod
    def of(cls, levels: _Levels, located: tuple[np.ndarray, np.ndarray], visits: pd.DataFrame, people: _People,
           shown: np.ndarray, baseline: int | None) -> _Values:
        """The values of the levels of a variable `shown` (one flag per variable) that belong to the visits
        (`located`: _Levels.located)."""
        kept = (levels.variable >= 0) & ~np.isnan(levels.value)
        kept[kept] = shown[levels.variable[kept]]
        level, row = located
        wanted = kept[level] & (row >= 0)
        level, row = level[wanted], row[wanted]
        positions, visit = np.unique(visits["visit"].to_numpy(), return_inverse=True)
        person, visit, variable = visits["person"].to_numpy()[row], visit[row], levels.variable[level]
        pair = variable * len(people.frame) + people.rank[person]
        at_baseline = visit == np.searchsorted(positions, baseline) if baseline in positions \
            else np.zeros(len(row), dtype=bool)
        return cls(levels.variable, levels.value, positions, level, variable, levels.value[level], row, person,
                   visit, visits["day"].to_numpy(dtype=float)[row], pair,
                   _baseline(pair, row, at_baseline, len(shown) * len(people.frame)), ~at_baseline)

    def __len__(self) -> int:
        return len(self.level)


def _codes(column: pd.Series) -> tuple[pd.Index, np.ndarray]:
    """The distinct labels of a column (sorted, of the column's dtype) and each row's index into them."""
    labels = pd.Index(np.unique(column.to_numpy(dtype=object)), dtype=column.dtype)
    return labels, labels.get_indexer(column)


def _rows(ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The index of each wanted id in the sorted `ids` (-1: not there), by a table over the ids' range: two
    million look-ups by binary search cost some thirty times more."""
    if not len(ids):
        return np.full(len(wanted), -1)
    table = np.full(ids[-1] - ids[0] + 1, -1)
    table[ids - ids[0]] = np.arange(len(ids))
    inside = (wanted >= ids[0]) & (wanted <= ids[-1])
    rows = np.full(len(wanted), -1)
    rows[inside] = table[wanted[inside] - ids[0]]
    return rows


def _at(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """`values[index]`, NaN where the index is -1."""
    return np.where(index >= 0, values[index], np.nan) if len(values) else np.full(len(index), np.nan)


def _first(pairs: np.ndarray, order: np.ndarray, size: int) -> np.ndarray:
    """For each of `size` pairs, the index (into `pairs`) of its entry least by `order` (-1: none); `order` is
    distinct within a pair."""
    least = np.full(size, np.iinfo(np.int64).max)
    np.minimum.at(least, pairs, order)
    chosen = np.flatnonzero(order == least[pairs])
    first = np.full(size, -1)
    first[pairs[chosen]] = chosen
    return first


def _baseline(pair: np.ndarray, row: np.ndarray, at_baseline: np.ndarray, size: int) -> np.ndarray:
    """For each of `size` pairs, the index of its baseline value (-1: none), that of the first assessment if
    there are more."""
    at = np.flatnonzero(at_baseline)
    first = _first(pair[at], row[at], size)
    return np.where(first >= 0, at[first], -1) if len(at) else first


def _tally(codes: list[np.ndarray], sizes: list[int]) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct combinations of integer codes (each column's below its size) and how many entries have
    each, in order of the codes."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for column, size in zip(codes, sizes, strict=True):
        key *= size
        key += column
    total = math.prod(sizes)
    if total <= 4 * len(key) + 100_000:  # a count per combination costs less than sorting the keys
        counts = np.bincount(key, minlength=total)
        present = np.flatnonzero(counts)
        counts = counts[present]
    else:
        present, counts = np.unique(key, return_counts=True)
    decoded = []
    for size in reversed(sizes):
        decoded.append(present % size)
        present = present // size
    return decoded[::-1], counts


def _histogram(values: _Values, variables: pd.Index, people: _People, where: np.ndarray | None = None,
               base: np.ndarray | None = None) -> pd.DataFrame:
    """How many values (those `where` is true, or all) each variable, visit, arm and site has of each value
    (`value`, `count`); with `base` (the index of each value's baseline value) of each change from baseline
    instead."""
    index = slice(None) if where is None else np.flatnonzero(where)
    person = values.person[index]
    codes = [values.level[index], values.visit[index], people.arm[person], people.site[person]]
    sizes = [len(values.level_value), len(values.positions), len(people.arms), len(people.sites)]
    if base is not None:
        codes.append(values.level[base[index]])
        sizes.append(len(values.level_value))
    (level, visit, arm, site, *rest), count = _tally(codes, sizes)
    value = values.level_value[level] - (values.level_value[rest[0]] if rest else 0)
    return pd.DataFrame({"variable": pd.Series(variables.to_numpy()[values.level_variable[level]], dtype=object),
                         "visit": values.positions[visit], "arm": people.arms.take(arm),
                         "site": people.sites.take(site), "value": value, "count": count})


def _distribution(frame: pd.DataFrame, keys: list[str], shares: tuple[str, ...] = ()) -> pd.DataFrame:
    """Per group of `keys` of a histogram (each row a `value` and the `count` of values equal to it): n, mean,
    SD (n - 1 degrees of freedom), median and quartiles (R's type 7, as pandas computes them) and the share of
    each 0/1 column of `shares`. Sums are taken in extended precision over the distinct values, so the mean is
    pandas' (a compensated sum of every value) but for a rare last-bit rounding of that sum."""
    ids = frame.groupby(keys, sort=False, observed=True).ngroup().to_numpy()
    value = frame["value"].to_numpy(dtype=float)
    order = np.lexsort((value, ids))
    ids, value, count = ids[order], value[order], frame["count"].to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    n = np.add.reduceat(count, starts)
    total = np.add.reduceat(value.astype(np.longdouble) * count, starts)
    deviation = value.astype(np.longdouble) - np.repeat(total / n, np.diff(np.r_[starts, len(ids)]))
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt((np.add.reduceat(deviation * deviation * count, starts) / (n - 1)).astype(float))
    cumulative = np.cumsum(count)
    before = cumulative[starts] - count[starts]

    def nth(k: np.ndarray) -> np.ndarray:  # the k-th smallest value of each group, from 0
        return value[np.searchsorted(cumulative, before + k, side="right")]

    out = frame[keys].iloc[order[starts]].reset_index(drop=True)
    out["n"], out["mean"], out["sd"] = n, total.astype(float) / n, np.where(n >= 2, sd, np.nan)
    out["median"] = np.where(n % 2 == 1, nth(n // 2), (nth(n // 2) + nth(np.maximum(n // 2 - 1, 0))) / 2)
    for name, q in (("p25", 0.25), ("p75", 0.75)):
        at = q * (n - 1)
        whole = at.astype(np.int64)
        low, frac = nth(whole), at % 1
        out[name] = np.where(frac == 0, low, low + (nth(np.minimum(whole + 1, n - 1)) - low) * frac)
    for share in shares:
        out[share] = np.add.reduceat(frame[share].to_numpy(dtype=float)[order] * count, starts) / n
    return out


# --- compute -----------------------------------------------------------------------------------------------

def compute(study: Study, selection: Selection | None = None) -> Results:
    """Every result of the study for the selection."""
    selection = selection or Selection()
    timepoints = [(t.position, t.code, t.label, t.target_day) for t in study.timepoints]
    people = _People.of(_participants(study, selection))
    visits = _visits(study, selection, people.frame)
    scale_info = _scale_info(study)
    graded = set(scale_info.index[scale_info["type"] == GRADE_TYPE])
    wanted = [c for c in scale_info.index if c in graded or not selection.scales or c in selection.scales]
    items = [item_id for _, item_id, _ in _single_items(study)]
    variables = pd.Index(wanted + items, dtype=object)
    levels = [_score_levels(study, selection, variables, len(wanted) == len(scale_info), len(visits))]
    if items:
        levels.append(_item_levels(study, selection, variables, items))
    levels = _Levels.concat(levels)
    located = levels.located(visits)
    baseline = study.baseline_position

    symptoms = set(term_info(study).index) & (set(selection.terms) if selection.terms else set(variables))
    scale_values = _Values.of(levels, located, visits, people, ~variables.isin(graded | set(items)), baseline)
    symptom_values = _Values.of(levels, located, visits, people, variables.isin(symptoms), baseline)

    codes = {p: c for p, c, _, _ in timepoints}
    scales = _scale_results(study, scale_values, variables, people, scale_info, selection)
    terms = _term_results(study, symptom_values, variables, people, selection)
    ttd = _ttd(scale_values, variables, people, scale_info)
    km, curves = _kaplan_meier(study, ttd, timepoints, baseline, selection)
    for table in (scales, terms):
        table.insert(table.columns.get_loc("visit"), "timepoint", table["visit"].map(codes))
    return Results(scales, terms, ttd, km, curves, timepoints)


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
CHANGE_SHARES = ("improved", "stable", "deteriorated")


def _scale_results(study: Study, values: _Values, variables: pd.Index, people: _People, info: pd.DataFrame,
                   selection: Selection) -> pd.DataFrame:
    """The scale results from two histograms per scale, visit, arm and site: of the values, and of the
    changes from baseline."""
    if not len(values):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SCALE_COLUMNS})
    histogram = _histogram(values, variables, people).rename(columns={"variable": "scale"})
    below, above = histogram["scale"].map(info["below"]), histogram["scale"].map(info["above"])
    past = (histogram["value"] < below) | (histogram["value"] > above)
    histogram["past"] = past.astype(float).where(below.notna() | above.notna())
    changes = _changes(values, variables, people, info)

    def summarise(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        out = _distribution(frame, keys, ("past",)).rename(columns={"past": "past_threshold"})
        if changes.empty:
            return out.assign(n_change=0, change_mean=np.nan, change_sd=np.nan, improved=np.nan, stable=np.nan,
                              deteriorated=np.nan)
        change = _distribution(changes, keys, CHANGE_SHARES)[keys + ["n", "mean", "sd", *CHANGE_SHARES]]
        change = change.rename(columns={"n": "n_change", "mean": "change_mean", "sd": "change_sd"})
        out = out.merge(change, on=keys, how="left")
        out["n_change"] = out["n_change"].fillna(0).astype("int64")
        return out

    out = _grouped(histogram, ["scale", "visit"], selection, summarise)
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


def _changes(values: _Values, variables: pd.Index, people: _People, info: pd.DataFrame) -> pd.DataFrame:
    """The histogram of the changes from baseline (values after baseline of a person and scale with a baseline
    value), with their shares improved, stable and deteriorated by MEANINGFUL_CHANGE."""
    base = values.base[values.pair]
    changes = _histogram(values, variables, people, (base >= 0) & values.later, base)
    changes = changes.rename(columns={"variable": "scale"})
    signed = changes["value"] * changes["scale"].map(info["direction"])
    changes["improved"] = (signed >= MEANINGFUL_CHANGE).astype(float)
    changes["deteriorated"] = (signed <= -MEANINGFUL_CHANGE).astype(float)
    changes["stable"] = (signed.abs() < MEANINGFUL_CHANGE).astype(float)
    return changes


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


def _grades(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per group of `keys` of a histogram of grades: n and how many have each grade."""
    grade = frame["value"].round()
    counts = pd.DataFrame({"n": frame["count"], **{f"grade_{g}": frame["count"].where(grade == g, 0)
                                                   for g in range(4)}})
    return counts.groupby([frame[k] for k in keys], sort=False, observed=True).sum().reset_index()


def _worst(values: _Values, variables: pd.Index, people: _People) -> dict[str, pd.DataFrame]:
    """Per person and term with a grade after baseline: the highest (MAX_POST_BASELINE), and that grade only
    when worse than baseline, else 0 (BASELINE_ADJUSTED; a person with no baseline grade has none and is not
    counted, as in ProAE's toxTables), as histograms per variable, arm and site."""
    later = values.pair[values.later]
    worst = np.full(len(values.base), -np.inf)
    np.maximum.at(worst, later, values.value[values.later])
    present = np.flatnonzero(np.bincount(later, minlength=len(values.base)))
    base_value = _at(values.value, values.base[present])
    person = people.by_code[present % len(people.frame)]
    variable, arm, site = present // len(people.frame), people.arm[person], people.site[person]
    out = {}
    based = ~np.isnan(base_value)
    for summary, kept, grade in ((MAX_POST_BASELINE, slice(None), worst[present]),
                                 (BASELINE_ADJUSTED, based, np.where(worst[present][based] > base_value[based],
                                                                     worst[present][based], 0.0))):
        grade_code, grades = pd.factorize(grade)
        (v, a, s, g), count = _tally([variable[kept], arm[kept], site[kept], grade_code],
                                     [len(variables), len(people.arms), len(people.sites), len(grades)])
        out[summary] = pd.DataFrame({"variable": pd.Series(variables.to_numpy()[v], dtype=object),
                                     "arm": people.arms.take(a), "site": people.sites.take(s),
                                     "value": np.asarray(grades, dtype=float)[g], "count": count})
    return out


def _term_results(study: Study, values: _Values, variables: pd.Index, people: _People,
                  selection: Selection) -> pd.DataFrame:
    info = term_info(study)
    if not len(values) or info.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TERM_COLUMNS})
    by_visit = _grouped(_histogram(values, variables, people), ["variable", "visit"], selection, _grades)
    parts = [by_visit.assign(summary=BY_VISIT)]
    for summary, frame in _worst(values, variables, people).items():
        parts.append(_grouped(frame, ["variable"], selection, _grades).assign(summary=summary, visit=pd.NA))
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


def _ttd(values: _Values, variables: pd.Index, people: _People, info: pd.DataFrame) -> pd.DataFrame:
    """One row per participant and scale with a score: days to deterioration or censoring, computed per pair
    of person and scale in numpy (a study of 10,000 participants has some 300,000 pairs)."""
    if not len(values):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in TTD_COLUMNS})
    size, pairs, base = len(values.base), values.pair, values.base
    base_of_value = base[pairs]
    post = (base_of_value >= 0) & values.later
    day = np.clip(values.day, 0, None)
    direction = variables.map(info["direction"]).to_numpy(dtype=float)[values.variable]
    worse = np.flatnonzero(post & ((values.value - values.value[base_of_value]) * direction <= -MEANINGFUL_CHANGE))
    present = np.flatnonzero(np.bincount(pairs, minlength=size))
    # the first worse assessment of each pair, by day (unknown last) and then by assessment
    when = np.where(np.isnan(day), 2 ** 31, day).astype(np.int64) * (values.row.max() + 1) + values.row
    first = _first(pairs[worse], when[worse], size)[present]
    event_day, event_value = _at(day[worse], first), _at(values.value[worse], first)
    last_day = np.full(size, -np.inf)  # the last post-baseline day
    np.maximum.at(last_day, pairs[post], np.nan_to_num(day[post], nan=-np.inf))
    last_day = np.where(last_day[present] == -np.inf, np.nan, last_day[present])
    baseline_value = _at(values.value, base[present])
    person = people.by_code[present % len(people.frame)]
    scale = present // len(people.frame)
    out = pd.DataFrame({"instrument": pd.Series(variables.map(info["instrument"]).to_numpy()[scale], dtype=object),
                        "scale": pd.Series(variables.to_numpy()[scale], dtype=object)})
    for column in ("participant", "site", "arm"):
        out[column] = people.frame[column].array.take(person)
    event = ~np.isnan(event_day)
    has_base = ~np.isnan(baseline_value)
    time = np.where(event, event_day, np.where(has_base, np.nan_to_num(last_day), np.nan))
    out["baseline_value"] = baseline_value
    out["time"] = pd.arrays.IntegerArray(np.nan_to_num(time).astype(np.int64), np.isnan(time))
    out["event"] = pd.arrays.IntegerArray(event.astype(np.int64), ~has_base)
    out["event_value"] = event_value
    died = people.frame["death_date"].notna().to_numpy()[person]
    withdrawn = (people.frame["status"] == "withdrawn").to_numpy()[person]
    reason = np.select([~has_base, event, np.isnan(last_day), died, withdrawn], [4, -1, 3, 2, 1], default=0)
    out["censoring_reason"] = pd.array(CENSOR_REASONS, dtype="string").take(reason, allow_fill=True)
    return out[TTD_COLUMNS]


KM_COLUMNS = ["instrument", "scale", "arm", "site", "n", "events", "median", "median_ci_low", "median_ci_high"]


def _kaplan_meier(study: Study, ttd: pd.DataFrame, timepoints, baseline: int | None,
                  selection: Selection) -> tuple[pd.DataFrame, dict]:
    later = [(code, day) for position, code, _, day in timepoints if position != baseline]
    columns = KM_COLUMNS + [f"at_risk_{c}" for c, _ in later] + [f"survival_{c}" for c, _ in later]
    at_risk = ttd["event"].notna().to_numpy()
    if not at_risk.any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}), {}
    durations = ttd["time"].to_numpy(dtype=float, na_value=np.nan)[at_risk]
    events = ttd["event"].to_numpy(dtype=int, na_value=0)[at_risk]
    codes, labels = {}, {}
    for column in ("scale", "arm", "site"):
        found, labels[column] = pd.factorize(ttd[column])
        codes[column] = found[at_risk]
    rows, curves = [], {}
    for by_arm, by_site in _groupings(selection):
        keys = ["scale"] + (["arm"] if by_arm else []) + (["site"] if by_site else [])
        for where in _groups([codes[k] for k in keys]):
            scale, arm, site = (labels[k][codes[k][where[0]]] if k in keys else ALL for k in ("scale", "arm", "site"))
            days = durations[where]
            time, survival, low, high = _curve(days, events[where].astype(bool))
            row = {"scale": scale, "arm": arm, "site": site, "n": len(where), "events": int(events[where].sum()),
                   "median": _median(time, survival), "median_ci_low": _median(time, low),
                   "median_ci_high": _median(time, high)}
            steps = np.searchsorted(time, np.array([d for _, d in later], dtype=float), side="right") - 1
            for (code, day), step in zip(later, steps, strict=True):
                row[f"at_risk_{code}"] = int((days >= day).sum())
                row[f"survival_{code}"] = float(survival[max(step, 0)])  # the last step at or before the day
            rows.append(row)
            curves[(scale, arm, site)] = pd.DataFrame({"time": time, "survival": survival, "low": low, "high": high})
    out = pd.DataFrame(rows)
    info = _scale_info(study)
    out["instrument"] = out["scale"].map(info["instrument"])
    out = out.assign(_o=out["scale"].map(info["order"]), _a=_arm_order(study, out["arm"]),
                     _s=(out["site"] != ALL).astype(int))
    out = out.sort_values(["_o", "_s", "site", "_a"], kind="stable")
    return out[columns].reset_index(drop=True), curves


def _groups(codes: list[np.ndarray]) -> list[np.ndarray]:
    """The positions of each distinct combination of the codes, combinations in order of first appearance."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for column in codes:
        key = key * (column.max() + 1) + column
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(inverse[order])) + 1)
    return [groups[g] for g in np.argsort(first)]


#: The normal quantile of the confidence bands.
Z = stats.norm.ppf(0.5 + CONFIDENCE / 2)


def kaplan_meier(days: np.ndarray, events: np.ndarray) -> pd.DataFrame:
    """The Kaplan-Meier curve of right-censored times: `time` (0, then each distinct time observed),
    `survival`, and its pointwise 95% band (`low`, `high`; log-log transform, "exponential Greenwood"). Where
    the band is undefined (survival 1 before any event, or 0 after the last) it is the survival itself.

    Computed in numpy, the same figures as `scipy.stats.ecdf` on `CensoredData` with
    `confidence_interval(method="log-log")` (tests/results checks both agree): SciPy's takes some 20 ms a
    curve, and a study's page draws a curve per scale and arm."""
    time, survival, low, high = _curve(days, events)
    return pd.DataFrame({"time": time, "survival": survival, "low": low, "high": high})


def _curve(days: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """kaplan_meier's columns as arrays."""
    days = np.asarray(days, dtype=float)
    events = np.asarray(events, dtype=bool)
    if not events.any():  # nobody deteriorated: the curve stays at 1
        return np.zeros(1), np.ones(1), np.ones(1), np.ones(1)
    ordered = np.sort(days)
    distinct = ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
    at_risk = len(days) - np.searchsorted(ordered, distinct, side="left")
    died = np.bincount(np.searchsorted(distinct, days[events]), minlength=len(distinct))
    with np.errstate(divide="ignore", invalid="ignore"):
        survival_at = np.cumprod(1.0 - died / at_risk)
        greenwood = np.cumsum(np.where(died > 0, died / (at_risk * (at_risk - died)), 0.0))
        log_s = np.log(survival_at)
        spread = Z * np.sqrt(greenwood) / np.abs(log_s)
        low_at = survival_at ** np.exp(spread)
        high_at = survival_at ** np.exp(-spread)
    undefined = ~np.isfinite(spread) | (survival_at <= 0) | (survival_at >= 1)
    low_at = np.where(undefined, survival_at, low_at)
    high_at = np.where(undefined, survival_at, high_at)
    keep = distinct > 0
    # from 1 at day 0, unless some deteriorated on day 0: then the curve starts below 1
    start = survival_at[0] if distinct[0] == 0 and died[0] else 1.0
    return tuple(np.r_[first, column[keep]] for first, column in ((0.0, distinct), (start, survival_at),
                                                                   (start, low_at), (start, high_at)))


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


def _median(time: np.ndarray, survival: np.ndarray) -> float:
    """The first time the curve (or a bound of its band) is at or below one half; blank (NaN) if it never is."""
    below = np.flatnonzero(survival <= 0.5 + 1e-12)
    return float(time[below[0]]) if len(below) else math.nan
