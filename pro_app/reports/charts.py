"""A participant's charts, drawn on the server by matplotlib as standalone SVG documents."""

from __future__ import annotations

import io
import math
import re
import textwrap

import matplotlib

from ..extensions import library
from ..instruments import value_range

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from .services import GRADE_TYPE, MISSED, NOT_DONE, Chart  # noqa: E402

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


def chart_svg(chart: Chart, frame: pd.DataFrame, axis: pd.DataFrame, *, lang: str, title: str, y_label: str,
              x_label: str, notes: list[list[str]]) -> str:
    """One line per scale over time, as a standalone SVG document (text drawn as paths: no fonts, no URLs).
    `axis`: services.instrument_axis, `notes`: the lines under each of its timepoints (day, not done...)."""
    with matplotlib.rc_context(_RC):  # Text objects read text.parse_math when they are made
        fig = figure(chart, frame, axis, lang=lang, title=title, y_label=y_label, x_label=x_label, notes=notes)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    return re.sub(r"<!DOCTYPE[^>]*>\s*", "", buffer.getvalue(), count=1)


#: A not-done or missed timepoint: a hatched band at its day (the gap in the lines), its id "gap-<timepoint>".
GAP_STATES = (NOT_DONE, MISSED)


def tick_label(label: str, notes: list[str]) -> str:
    """A timepoint under the axis: its name (wrapped), then its day and state, one per line."""
    return "\n".join([textwrap.fill(label, 16), *notes])


def figure(chart: Chart, frame: pd.DataFrame, axis: pd.DataFrame, *, lang: str, title: str, y_label: str,
           x_label: str, notes: list[list[str]]) -> Figure:
    """The chart as a matplotlib Figure: x in days from the start of treatment, a tick at each timepoint of
    `axis` (named, with its day, and "not done" or "missed" under it), the lines broken where a timepoint has
    no score (a not-done or missed one is also a hatched band), so the chart reads like the heat map."""
    instrument = library.get(chart.instrument)
    df = frame[(frame["instrument_id"] == chart.instrument) & frame["scale_type"].isin(chart.types)]
    xs = axis["x"].tolist()
    fig = Figure(figsize=(7.5, 3.75), dpi=96)  # 720 x 360 px; on paper some 125 x 62 mm, text still readable
    ax = fig.add_subplot()
    span = max(max(xs, default=0) - min(xs, default=0), 1.0)
    for key, x, state in axis[["timepoint", "x", "state"]].itertuples(index=False):
        if state in GAP_STATES:
            ax.axvspan(x - span * 0.018, x + span * 0.018, facecolor="none", edgecolor="#8c8c8c", hatch="////",
                       linewidth=0, gid=f"gap-{key}")
    codes = [s.code for s in instrument.scales if s.code in set(df["scale_code"])]
    for n, code in enumerate(codes):
        values = df[df["scale_code"] == code].drop_duplicates("timepoint").set_index("timepoint")["value"]
        ys = [float(values.get(key, math.nan)) for key in axis["timepoint"]]  # NaN: a gap in the line
        name = (instrument.scale(code).name.get(lang) if is_grade_chart(chart)
                else f"{code} · {instrument.scale(code).name.get(lang)}")
        ax.plot(xs, ys, marker=_MARKERS[n % len(_MARKERS)], linestyle=_STYLES[(n // len(_MARKERS)) % len(_STYLES)],
                linewidth=1.6, markersize=6, color=plt.get_cmap("tab20")(n % 20), label=name)
    ax.set_xticks(xs, [tick_label(label, lines) for label, lines in zip(axis["label"], notes, strict=True)],
                  fontsize=8.5)
    low, high = y_range(chart)
    margin = (high - low) * 0.03 if high - low > 10 else 0.2
    ax.set_ylim(low - margin, high + margin)
    ax.set_yticks(_y_ticks(low, high))
    pad = max(span * 0.06, 3.0)
    ax.set_xlim(min(xs, default=0) - pad, max(xs, default=0) + pad)
    ax.set_xlabel(x_label, fontsize=9.5)
    ax.set_ylabel(y_label)
    ax.set_title(title, loc="left", fontsize=11)
    ax.grid(axis="y", color="#d0d0d0", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False)
    FigureCanvasAgg(fig)  # a renderer, to measure the tick labels
    fig.tight_layout()
    if _stagger(fig, ax):
        fig.tight_layout()  # room for the labels moved down
    return fig


def _stagger(fig: Figure, ax) -> bool:
    """Timepoints a few days apart (week 24 and a 30-day follow-up) would have their labels drawn over each
    other: such a label goes below its left neighbour's. Whether any moved."""
    renderer = fig.canvas.get_renderer()
    moved, previous = False, None  # (extent, pad) of the label to the left
    for tick in ax.xaxis.get_major_ticks():
        extent = tick.label1.get_window_extent(renderer)
        if previous is not None and extent.x0 < previous[0].x1 + 4:
            tick.set_pad(previous[1] + previous[0].height * 72 / fig.dpi + 3)
            moved = True
        previous = (extent, tick.get_pad())
    return moved
