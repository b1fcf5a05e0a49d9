"""A participant's scores over time, as pandas DataFrames (charts.py draws them).

Values stay unrounded here (the page rounds for display). Change is from the study's first timepoint
(baseline). Flags: a QLQ-C30 scale past the study's threshold for clinical importance (SCORING.md §3) and
a change of 10 points or more from baseline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select

from ..extensions import db
from ..instruments import get_registry
from ..models import Assessment, Participant, Score, Timepoint

#: Change from baseline that counts as clinically meaningful (Osoba 1998; SCORING.md §3).
MEANINGFUL_CHANGE = 10.0
QOL_INSTRUMENTS = ("qlq_c30", "qlq_br45")
HIGHER_IS_BETTER = ("functional", "global", "summary")


@dataclass(frozen=True)
class Chart:
    name: str
    instrument: str
    types: tuple[str, ...]


CHARTS = (
    Chart("qlq_c30-functioning", "qlq_c30", ("global", "functional", "summary")),
    Chart("qlq_c30-symptoms", "qlq_c30", ("symptom",)),
    Chart("qlq_br45-functioning", "qlq_br45", ("functional",)),
    Chart("qlq_br45-symptoms", "qlq_br45", ("symptom",)),
    Chart("pro_ctcae", "pro_ctcae", ("composite",)),
)
CHARTS_BY_NAME = {c.name: c for c in CHARTS}

COLUMNS = ["assessment_id", "timepoint", "timepoint_label", "position", "date", "instrument_id", "scale_code",
           "scale_type", "value", "status", "n_items"]


def scores_frame(participant: Participant) -> pd.DataFrame:
    """One row per stored score of the participant's completed assessments, in timepoint order."""
    rows = db.session.execute(
        select(Assessment.id, Timepoint.code, Timepoint.label, Timepoint.position, Assessment.completed_at,
               Score.instrument_id, Score.scale_code, Score.value, Score.status, Score.n_items)
        .join(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .join(Score, Score.assessment_id == Assessment.id)
        .where(Assessment.participant_id == participant.id, Assessment.status == "completed")
        .order_by(Timepoint.position, Score.id)
    ).all()
    registry = get_registry()
    records = []
    for (aid, code, label, position, completed_at, instrument_id, scale_code, value, status, n_items) in rows:
        instrument = registry.get(instrument_id)
        scale_type = instrument.scale(scale_code).type if scale_code in instrument.scale_codes else ""
        records.append((aid, code, label, position, completed_at, instrument_id, scale_code, scale_type,
                        math.nan if value is None else float(value), status, n_items))
    return pd.DataFrame.from_records(records, columns=COLUMNS)


def baseline_position(participant: Participant) -> int | None:
    positions = [t.position for t in participant.study.timepoints]
    return min(positions) if positions else None


def scale_table(participant: Participant, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """QLQ-C30 / BR45 scales: value, change from baseline and flags per timepoint."""
    frame = scores_frame(participant) if frame is None else frame
    df = frame[frame["instrument_id"].isin(QOL_INSTRUMENTS)].copy()
    if df.empty:
        return df.assign(baseline=[], change=[], below_threshold=[], above_threshold=[], threshold=[],
                         meaningful_change=[], direction=[])
    first = baseline_position(participant)
    base = (df[df["position"] == first].set_index("scale_code")["value"]
            if first is not None else pd.Series(dtype=float))
    df["baseline"] = df["scale_code"].map(base).astype(float)
    df["change"] = df["value"] - df["baseline"]
    thresholds = participant.study.thresholds or {}

    def rule(row, side):
        if row["instrument_id"] != "qlq_c30":
            return math.nan
        return float(thresholds.get(row["scale_code"], {}).get(side, math.nan))

    df["threshold_below"] = df.apply(rule, axis=1, side="below")
    df["threshold_above"] = df.apply(rule, axis=1, side="above")
    df["below_threshold"] = df["value"] < df["threshold_below"]  # NaN compares False
    df["above_threshold"] = df["value"] > df["threshold_above"]
    df["threshold"] = df["threshold_below"].fillna(df["threshold_above"])
    df["meaningful_change"] = (df["change"].abs() >= MEANINGFUL_CHANGE) & (df["position"] != first)
    better = df["scale_type"].isin(HIGHER_IS_BETTER)
    improved = (df["change"] > 0) == better
    df["direction"] = ""
    df.loc[df["meaningful_change"] & improved, "direction"] = "better"
    df.loc[df["meaningful_change"] & ~improved, "direction"] = "worse"
    return df


def composite_table(participant: Participant, frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """PRO-CTCAE composite grades: one row per term, one column per timepoint (NaN = no composite)."""
    frame = scores_frame(participant) if frame is None else frame
    df = frame[frame["instrument_id"] == "pro_ctcae"]
    if df.empty:
        return pd.DataFrame()
    order = df.drop_duplicates("timepoint")[["timepoint", "timepoint_label"]]
    wide = df.pivot_table(index="scale_code", columns="timepoint", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(columns=list(order["timepoint"]))
    terms = [s.code for s in get_registry().get("pro_ctcae").scales if s.code in wide.index]
    return wide.reindex(terms)


def timepoint_labels(frame: pd.DataFrame) -> dict[str, str]:
    return dict(frame.drop_duplicates("timepoint")[["timepoint", "timepoint_label"]].itertuples(index=False))


def available_charts(frame: pd.DataFrame) -> list[Chart]:
    return [c for c in CHARTS if not frame[(frame["instrument_id"] == c.instrument)
                                           & frame["scale_type"].isin(c.types)].empty]


@dataclass(frozen=True)
class Report:
    groups: list  # (instrument, [(scale, rows)]) per quality-of-life instrument
    composite_rows: list  # (scale, [grade per timepoint]) per PRO-CTCAE term
    composite_columns: list[str]  # the timepoint labels of those rows
    charts: list[Chart]


def report(participant: Participant) -> Report:
    """Everything the participant's report page shows, from one read of their scores."""
    frame = scores_frame(participant)
    table = scale_table(participant, frame)
    composites = composite_table(participant, frame)
    registry = get_registry()
    groups = []
    for instrument_id in QOL_INSTRUMENTS:
        part = table[table["instrument_id"] == instrument_id]
        if part.empty:
            continue
        instrument = registry.get(instrument_id)
        scales = []
        for scale in instrument.scales:
            rows = part[part["scale_code"] == scale.code]
            if not rows.empty:
                scales.append((scale, rows.to_dict("records")))
        groups.append((instrument, scales))
    composite_rows, composite_columns = [], []
    if not composites.empty:
        ctcae = registry.get("pro_ctcae")
        labels = timepoint_labels(frame[frame["instrument_id"] == "pro_ctcae"])
        for code, values in composites.iterrows():
            composite_rows.append((ctcae.scale(code), [values[t] for t in labels]))
        composite_columns = list(labels.values())
    return Report(groups, composite_rows, composite_columns, available_charts(frame))
