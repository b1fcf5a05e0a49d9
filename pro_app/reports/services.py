"""A participant's scores over time, as pandas DataFrames (charts.py draws them).

Values stay unrounded here (the page rounds for display). Change is from the study's first timepoint
(baseline). Flags: a QLQ-C30 scale past the study's threshold for clinical importance (SCORING.md §3) and
a change of 10 points or more from baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..assessments.schedule import VISIT, anchor_dates, anchor_of, local_today
from ..extensions import db, library
from ..instruments import ChartGroup, Instrument
from ..models import Assessment, Participant, Score, Timepoint
from ..visits import visit_code
from ..vocabulary import Anchor

#: Change from baseline that counts as clinically meaningful (Osoba 1998; SCORING.md §3).
MEANINGFUL_CHANGE = 10.0
#: Scales of this type are grades (shown as a grid of grades, not as scores with change from baseline).
GRADE_TYPE = "composite"


@dataclass(frozen=True)
class Chart:
    """One chart group of an instrument's definition (`charts:`), named "<instrument>-<group>"."""

    name: str
    instrument: str
    group: ChartGroup

    @property
    def types(self) -> tuple[str, ...]:
        return self.group.types


def charts() -> list[Chart]:
    """Every chart the instruments in use define, in the registry's order."""
    return [Chart(f"{i.id}-{group.id}", i.id, group) for i in library.registry for group in i.charts]


def chart_named(name: str) -> Chart | None:
    return next((c for c in charts() if c.name == name), None)

COLUMNS = ["assessment_id", "timepoint", "timepoint_label", "position", "date", "instrument_id", "scale_code",
           "scale_type", "higher_is_better", "thresholded", "value", "status", "n_items"]


def scores_frame(participant: Participant) -> pd.DataFrame:
    """One row per stored score of the participant's completed (and partial) assessments, in timepoint order."""
    rows = db.session.execute(
        select(Assessment.id, Timepoint.code, Timepoint.label, Timepoint.position, Assessment.completed_at,
               Score.instrument_id, Score.scale_code, Score.value, Score.status, Score.n_items,
               Timepoint.repeat_every.is_not(None), Assessment.occurrence, VISIT)
        .outerjoin(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .join(Score, Score.assessment_id == Assessment.id)
        .where(Assessment.participant_id == participant.id,
               Assessment.status.in_(("completed", "partial")))
        .order_by(VISIT, Assessment.id, Score.id)
    ).all()
    registry = library.registry
    records = []
    for (aid, code, label, position, completed_at, instrument_id, scale_code, value, status, n_items, repeats,
         occurrence, visit) in rows:
        # one column per visit: each occurrence of a repeating timepoint, each unscheduled assessment
        if code is None:
            code, label = f"unscheduled-{visit_code(visit)}", _("Unscheduled %(visit)s", visit=visit_code(visit))
        elif repeats:
            code, label = f"{code}-{occurrence}", f"{label} {occurrence}"
        instrument = registry.get(instrument_id)
        scale = instrument.scale(scale_code) if scale_code in instrument.scale_codes else None
        records.append((aid, code, label, position, completed_at, instrument_id, scale_code,
                        scale.type if scale else "", bool(scale and scale.higher_is_better),
                        instrument.takes_thresholds,
                        math.nan if value is None else float(value), status, n_items))
    return pd.DataFrame.from_records(records, columns=COLUMNS)


def baseline_position(participant: Participant) -> int | None:
    return participant.study.baseline_position


def scale_table(participant: Participant, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every scale that is a score (not a grade): value, change from baseline and flags per timepoint."""
    frame = scores_frame(participant) if frame is None else frame
    df = frame[frame["scale_type"] != GRADE_TYPE].copy()
    if df.empty:
        return df.assign(baseline=[], change=[], below_threshold=[], above_threshold=[], threshold=[],
                         meaningful_change=[], direction=[])
    first = baseline_position(participant)
    base = (df[df["position"] == first].set_index("scale_code")["value"]
            if first is not None else pd.Series(dtype=float))
    df["baseline"] = df["scale_code"].map(base).astype(float)
    df["change"] = df["value"] - df["baseline"]
    thresholds = participant.study.thresholds or {}

    def rule(row, side):  # the study's threshold, on the scales of an instrument that takes thresholds
        if not row["thresholded"]:
            return math.nan
        return float(thresholds.get(row["scale_code"], {}).get(side, math.nan))

    df["threshold_below"] = df.apply(rule, axis=1, side="below")
    df["threshold_above"] = df.apply(rule, axis=1, side="above")
    df["below_threshold"] = df["value"] < df["threshold_below"]  # NaN compares False
    df["above_threshold"] = df["value"] > df["threshold_above"]
    df["threshold"] = df["threshold_below"].fillna(df["threshold_above"])
    df["meaningful_change"] = (df["change"].abs() >= MEANINGFUL_CHANGE) & (df["position"] != first)
    better = df["higher_is_better"].astype(bool)
    improved = (df["change"] > 0) == better
    df["direction"] = ""
    df.loc[df["meaningful_change"] & improved, "direction"] = "better"
    df.loc[df["meaningful_change"] & ~improved, "direction"] = "worse"
    return df


def grade_table(frame: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """An instrument's grades (PRO-CTCAE composites): one row per scale, one column per timepoint (NaN: none)."""
    df = frame[(frame["instrument_id"] == instrument.id) & (frame["scale_type"] == GRADE_TYPE)]
    if df.empty:
        return pd.DataFrame()
    order = df.drop_duplicates("timepoint")["timepoint"]
    wide = df.pivot_table(index="scale_code", columns="timepoint", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(columns=list(order))
    return wide.reindex([s.code for s in instrument.scales if s.code in wide.index])


def timepoint_labels(frame: pd.DataFrame) -> dict[str, str]:
    return dict(frame.drop_duplicates("timepoint")[["timepoint", "timepoint_label"]].itertuples(index=False))


def available_charts(frame: pd.DataFrame) -> list[Chart]:
    return [c for c in charts() if not frame[(frame["instrument_id"] == c.instrument)
                                             & frame["scale_type"].isin(c.types)].empty]


@dataclass(frozen=True)
class GradeGroup:
    instrument: Instrument
    columns: list[str]  # timepoint labels
    rows: list  # (scale, [grade per timepoint])


@dataclass(frozen=True)
class Column:
    """A timepoint of an instrument's time axis: its scores' column, its name and the lines under it (its day
    from its anchor; not done or missed)."""

    timepoint: str
    label: str
    notes: list[str]
    state: str


@dataclass(frozen=True)
class ScoreTable:
    """An instrument's scores as a compact table: a row per scale, a column per timepoint of its time axis; a
    cell is scale_table's row (value, change, flags) or None where the scale has no score there."""

    columns: list[Column]
    rows: list  # (scale, [cell or None per column])


@dataclass(frozen=True)
class Section:
    """What the report shows of one instrument (one printed page): its line charts and score table, or its
    grades (drawn as a heat map)."""

    instrument: Instrument
    charts: list[Chart]
    table: ScoreTable | None
    grades: GradeGroup | None


@dataclass(frozen=True)
class Report:
    sections: list[Section]  # per instrument with scores, in the study's order
    timeline: pd.DataFrame  # every timepoint of the study (timeline)

    @property
    def grades(self) -> list[GradeGroup]:
        return [s.grades for s in self.sections if s.grades is not None]


def study_order(participant: Participant) -> list[Instrument]:
    """The instruments in the order the study's schedule asks them (then any other the scores have)."""
    asked = list(dict.fromkeys(i for t in participant.study.timepoints for i in (t.instruments or [])))
    rank = {instrument_id: n for n, instrument_id in enumerate(asked)}
    return sorted(library.registry, key=lambda i: rank.get(i.id, len(rank)))


def report(participant: Participant, today: date) -> Report:
    """Everything the participant's report page shows, from one read of their scores: per instrument its
    charts and a table of its scales over the same time axis, or its grades."""
    frame = scores_frame(participant)
    table = scale_table(participant, frame)
    axis = timeline(participant, today)
    shown = available_charts(frame)
    sections = []
    for instrument in study_order(participant):
        part = table[table["instrument_id"] == instrument.id]
        graded = grade_table(frame, instrument)
        if part.empty and graded.empty:
            continue
        scores = None
        if not part.empty:
            columns = [Column(r["timepoint"], r["label"], axis_notes(r), r["state"])
                       for r in instrument_axis(participant, instrument.id, frame, axis).to_dict("records")]
            cells = {(r["scale_code"], r["timepoint"]): r for r in part.to_dict("records")}
            scored = set(part["scale_code"])
            scores = ScoreTable(columns, [(scale, [cells.get((scale.code, c.timepoint)) for c in columns])
                                          for scale in instrument.scales if scale.code in scored])
        grades = None
        if not graded.empty:
            labels = timepoint_labels(frame[frame["instrument_id"] == instrument.id])
            grades = GradeGroup(instrument, list(labels.values()),
                                [(instrument.scale(code), [values[t] for t in labels])
                                 for code, values in graded.iterrows()])
        sections.append(Section(instrument, [c for c in shown if c.instrument == instrument.id], scores, grades))
    return Report(sections, axis)


#: How the report's time axis shows a timepoint: scored, not done (staff recorded why), missed (the window
#: closed with nothing answered), or still to come.
DONE, NOT_DONE, MISSED, PENDING = "done", "not_done", "missed", "pending"


def timeline(participant: Participant, today: date) -> pd.DataFrame:
    """One row per timepoint of the study, in schedule order, for the report's time axis: `day` counts from
    the timepoint's own anchor (enrolment, start or end of treatment: schedule.anchor_dates), the day the
    assessment was done when it was, else its target day; `state` is DONE, NOT_DONE, MISSED or PENDING, so
    a timepoint not done stays in its place on the axis, marked, instead of being dropped. A timepoint
    whose anchor date is not known yet has no day (NaN) and is PENDING."""
    from ..assessments.status import displayed_status

    dates = anchor_dates(participant)
    found = {a.timepoint_id: a for a in db.session.scalars(
        select(Assessment).where(Assessment.participant_id == participant.id))}
    rows = []
    for timepoint in participant.study.timepoints:
        anchor = dates.get(anchor_of(timepoint))
        assessment = found.get(timepoint.id)
        state, day = PENDING, math.nan if anchor is None else float(timepoint.target_day)
        if assessment is not None:
            shown = displayed_status(assessment.status, assessment.window_start, assessment.window_end, today,
                                     assessment.early)
            when = assessment.completed_at or assessment.started_at
            if shown in ("completed", "partial"):
                state = DONE
                if when is not None and anchor is not None:
                    day = float((local_today(participant.site.timezone, when) - anchor).days)
            elif shown == "not_done":
                state = NOT_DONE
            elif shown == "missed":
                state = MISSED
        rows.append({"timepoint": timepoint.code, "label": timepoint.label, "position": timepoint.position,
                     "anchor": anchor_of(timepoint), "day": day, "state": state})
    return pd.DataFrame(rows, columns=["timepoint", "label", "position", "anchor", "day", "state"])


#: Under a timepoint counted from another anchor than the start of treatment: which one, in short.
ANCHOR_SHORT = {Anchor.ENROLMENT: _l("from enrolment"), Anchor.TREATMENT_END: _l("from end of treatment")}
#: The timepoints the report marks in place.
STATE_NOTES = {NOT_DONE: _l("not done"), MISSED: _l("missed")}


def axis_notes(axis_row) -> list[str]:
    """The lines under a timepoint on the report's time axis (heat map, line charts and tables alike): its day
    from its anchor, and whether it was not done or missed (kept in place, marked)."""
    notes = []
    if axis_row["day"] == axis_row["day"]:  # not NaN: the anchor's date is known
        day = int(axis_row["day"])
        notes.append(str(_l("day %(day)s", day=day)) if axis_row["anchor"] == Anchor.TREATMENT_START
                     else str(_l("day %(day)s (%(anchor)s)", day=day, anchor=ANCHOR_SHORT[axis_row["anchor"]])))
    if axis_row["state"] in STATE_NOTES:
        notes.append(str(STATE_NOTES[axis_row["state"]]))
    return notes


AXIS_COLUMNS = ["timepoint", "label", "x", "day", "anchor", "state"]


def instrument_axis(participant: Participant, instrument_id: str, frame: pd.DataFrame,
                    axis: pd.DataFrame) -> pd.DataFrame:
    """The time axis of one instrument's line charts, in the order of `x`: every timepoint of the schedule that
    asks the instrument and has a day (`timeline`: done, not done, missed, or still to come at its target day),
    and every other column the scores have (an occurrence of a repeating timepoint, an unscheduled assessment)
    on the day it was done. `timepoint` is the scores' column (frame["timepoint"]); `x` places it on one axis of
    days from the start of treatment (the study's anchor event: a timepoint counted from enrolment or the end of
    treatment is moved by that anchor's distance from it), `day` and `anchor` label it as the heat map does."""
    dates = anchor_dates(participant)
    origin = dates[Anchor.TREATMENT_START]
    by_code = axis.set_index("timepoint")
    rows = []
    for timepoint in participant.study.timepoints:
        if instrument_id not in (timepoint.instruments or []) or timepoint.repeat_every is not None:
            continue  # a repeating timepoint's occurrences are columns of their own (below)
        row = by_code.loc[timepoint.code]
        anchor = dates.get(anchor_of(timepoint))
        if row["day"] != row["day"] or anchor is None or origin is None:
            continue  # no date to place it at
        rows.append((timepoint.code, timepoint.label, float((anchor - origin).days + row["day"]), row["day"],
                     row["anchor"], row["state"]))
    placed = {r[0] for r in rows}
    own = frame[frame["instrument_id"] == instrument_id].drop_duplicates("timepoint")
    for code, label, when in own[["timepoint", "timepoint_label", "date"]].itertuples(index=False):
        if code in placed or when is None or when != when or origin is None:
            continue
        day = float((local_today(participant.site.timezone, when) - origin).days)
        rows.append((code, label, day, day, Anchor.TREATMENT_START.value, DONE))
    out = pd.DataFrame(rows, columns=AXIS_COLUMNS)
    return out.sort_values("x", kind="stable").reset_index(drop=True)
