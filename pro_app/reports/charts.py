"""A participant's charts, drawn on the server by matplotlib as standalone SVG documents."""

from __future__ import annotations

import io
import re

import matplotlib

from ..extensions import library
from ..instruments import value_range

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .services import GRADE_TYPE, Chart, timepoint_labels  # noqa: E402

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "h", "<", ">", "p", "d", "8", "H")
_STYLES = ("-", "--", "-.", ":")


def y_range(chart: Chart) -> tuple[float, float]:
    """The values the chart's scales can take (EORTC 0-100, a composite grade 0-3, a rating 0-10...)."""
    instrument = library.get(chart.instrument)
    ranges = [value_range(instrument, s) for s in instrument.chart_scales(chart.group)]
    return min(low for low, _ in ranges), max(high for _, high in ranges)


def is_grade_chart(chart: Chart) -> bool:
    return set(chart.types) == {GRADE_TYPE}


def _y_ticks(low: float, high: float) -> list[float]:
    span = high - low
    if span <= 10:
        return list(range(int(low), int(high) + 1))
    return [low + span * k / 5 for k in range(6)]


#: Labels are the study's and the instrument's text, never markup: "$\frac{a}{$" in a timepoint label is
#: drawn as typed, not parsed as math (which broke every chart of the study).
_RC = {"svg.fonttype": "path", "svg.hashsalt": "pro-app", "text.parse_math": False, "text.usetex": False}


def chart_svg(chart: Chart, frame: pd.DataFrame, *, lang: str, title: str, y_label: str) -> str:
    """One line per scale over the timepoints, as a standalone SVG document (text drawn as paths: no fonts,
    no URLs)."""
    with matplotlib.rc_context(_RC):  # Text objects read text.parse_math when they are made
        return _draw(chart, frame, lang=lang, title=title, y_label=y_label)


def _draw(chart: Chart, frame: pd.DataFrame, *, lang: str, title: str, y_label: str) -> str:
    instrument = library.get(chart.instrument)
    df = frame[(frame["instrument_id"] == chart.instrument) & frame["scale_type"].isin(chart.types)]
    labels = timepoint_labels(frame[frame["instrument_id"] == chart.instrument])
    x_of = {code: i for i, code in enumerate(labels)}
    fig = Figure(figsize=(9, 4.2), dpi=96)
    ax = fig.add_subplot()
    codes = [s.code for s in instrument.scales if s.code in set(df["scale_code"])]
    for n, code in enumerate(codes):
        rows = df[df["scale_code"] == code]
        xs = [x_of[t] for t in rows["timepoint"]]
        name = (instrument.scale(code).name.get(lang) if is_grade_chart(chart)
                else f"{code} · {instrument.scale(code).name.get(lang)}")
        ax.plot(xs, rows["value"].tolist(), marker=_MARKERS[n % len(_MARKERS)],
                linestyle=_STYLES[(n // len(_MARKERS)) % len(_STYLES)], linewidth=1.6, markersize=6,
                color=plt.get_cmap("tab20")(n % 20), label=name)
    ax.set_xticks(range(len(labels)), list(labels.values()))
    low, high = y_range(chart)
    margin = (high - low) * 0.03 if high - low > 10 else 0.2
    ax.set_ylim(low - margin, high + margin)
    ax.set_yticks(_y_ticks(low, high))
    ax.set_xlim(-0.3, max(len(labels) - 1, 1) + 0.3)
    ax.set_ylabel(y_label)
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(axis="y", color="#d0d0d0", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5, frameon=False)
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg, count=1)
