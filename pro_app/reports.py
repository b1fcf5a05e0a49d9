"""A participant's scores over time: data as pandas DataFrames, charts drawn on the server as SVG.

Values stay unrounded here (the page rounds for display). Change is from the study's first timepoint
(baseline). Flags: a QLQ-C30 scale past the study's threshold for clinical importance (SCORING.md §3) and
a change of 10 points or more from baseline.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from sqlalchemy import select  # noqa: E402

from .extensions import db  # noqa: E402
from .instruments import get_registry  # noqa: E402
from .models import Assessment, Participant, Score, Timepoint  # noqa: E402

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


# --- charts -----------------------------------------------------------------------------------------------

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p", "d", "8", "H")
_STYLES = ("-", "--", "-.", ":")


def chart_svg(chart: Chart, frame: pd.DataFrame, *, lang: str, title: str, y_label: str) -> str:
    """One line per scale over the timepoints, as a standalone SVG document (text drawn as paths: no fonts,
    no URLs)."""
    instrument = get_registry().get(chart.instrument)
    df = frame[(frame["instrument_id"] == chart.instrument) & frame["scale_type"].isin(chart.types)]
    labels = timepoint_labels(frame[frame["instrument_id"] == chart.instrument])
    x_of = {code: i for i, code in enumerate(labels)}
    fig = Figure(figsize=(9, 4.2), dpi=96)
    ax = fig.add_subplot()
    codes = [s.code for s in instrument.scales if s.code in set(df["scale_code"])]
    for n, code in enumerate(codes):
        rows = df[df["scale_code"] == code]
        xs = [x_of[t] for t in rows["timepoint"]]
        name = (instrument.scale(code).name.get(lang) if chart.instrument == "pro_ctcae"
                else f"{code} · {instrument.scale(code).name.get(lang)}")
        ax.plot(xs, rows["value"].tolist(), marker=_MARKERS[n % len(_MARKERS)],
                linestyle=_STYLES[(n // len(_MARKERS)) % len(_STYLES)], linewidth=1.6, markersize=6,
                color=plt.get_cmap("tab20")(n % 20), label=name)
    ax.set_xticks(range(len(labels)), list(labels.values()))
    if chart.instrument == "pro_ctcae":
        ax.set_ylim(-0.2, 3.2)
        ax.set_yticks([0, 1, 2, 3])
    else:
        ax.set_ylim(-3, 103)
        ax.set_yticks([0, 20, 40, 60, 80, 100])
    ax.set_xlim(-0.3, max(len(labels) - 1, 1) + 0.3)
    ax.set_ylabel(y_label)
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(axis="y", color="#d0d0d0", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5, frameon=False)
    fig.tight_layout()
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "pro-app"}):
        fig.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg, count=1)
