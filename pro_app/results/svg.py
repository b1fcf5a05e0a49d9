"""Small charts drawn on the server as inline SVG markup: means with their confidence intervals over time, stacked
shares, Kaplan-Meier steps and a grade heat map.

Only presentation attributes (fill, stroke…), never `style`: the pages' Content-Security-Policy allows no inline
styles, and the charts take their fonts from the page. Every chart is an image with a title and a description
(role="img"); the page puts the same figures in a table beside it. Colours are the Okabe-Ito palette (told apart
with every common colour-vision deficiency) and each series also has its own marker shape, so nothing rests on
colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

#: Okabe-Ito: blue, vermillion, bluish green, reddish purple, orange, sky blue, black.
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
MARKERS = ("circle", "square", "triangle", "diamond")
#: Composite grades 0-3, light to dark (one hue ramp: readable in grey and with colour-vision deficiencies).
GRADE_COLOURS = ("#F2F2F2", "#FDD49E", "#F08C3A", "#9E2A05")
GRADE_TEXT = ("#222222", "#222222", "#000000", "#FFFFFF")
#: Improved, stable, deteriorated.
CHANGE_COLOURS = ("#0072B2", "#C8C8C8", "#D55E00")
CHANGE_TEXT = ("#FFFFFF", "#222222", "#000000")
INK, MUTED, GRID = "#1F1F1F", "#4A4A4A", "#D9D9D9"
FONT = 11


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, content, *, anchor: str = "middle", size: float = FONT, fill: str = INK,
          weight: str | None = None) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{_num(size)}" fill="{fill}"'
            f'{bold}>{escape(content)}</text>')


def _marker(shape: str, x: float, y: float, colour: str, size: float = 4.0) -> str:
    if shape == "square":
        return (f'<rect x="{_num(x - size)}" y="{_num(y - size)}" width="{_num(2 * size)}" height="{_num(2 * size)}" '
                f'fill="{colour}"/>')
    if shape == "triangle":
        points = f"{_num(x)},{_num(y - size * 1.2)} {_num(x - size * 1.1)},{_num(y + size * 0.9)} " \
                 f"{_num(x + size * 1.1)},{_num(y + size * 0.9)}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    if shape == "diamond":
        s = size * 1.25
        points = f"{_num(x)},{_num(y - s)} {_num(x + s)},{_num(y)} {_num(x)},{_num(y + s)} {_num(x - s)},{_num(y)}"
        return f'<polygon points="{points}" fill="{colour}"/>'
    return f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(size)}" fill="{colour}"/>'


def _document(width: int, height: int, title: str, description: str, body: list[str], label_id: str) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-labelledby="{label_id}-t {label_id}-d" '
            f'font-family="inherit">'
            f'<title id="{label_id}-t">{escape(title)}</title><desc id="{label_id}-d">{escape(description)}</desc>')
    return Markup(head + "".join(body) + "</svg>")


@dataclass(frozen=True)
class Series:
    """One line of a chart: a label and a value per x position (None: no value there)."""

    label: str
    values: Sequence[float | None]
    low: Sequence[float | None] = ()
    high: Sequence[float | None] = ()
    counts: Sequence[int] = ()


def _legend(series: Sequence[Series], x: float, y: float) -> list[str]:
    parts, offset = [], x
    for n, s in enumerate(series):
        colour, shape = SERIES_COLOURS[n % len(SERIES_COLOURS)], MARKERS[n % len(MARKERS)]
        parts.append(_marker(shape, offset + 5, y - 4, colour))
        parts.append(_text(offset + 13, y, s.label, anchor="start", size=10))
        offset += 22 + 6.2 * len(s.label)
    return parts


@dataclass
class _Frame:
    """The plotting area of a chart and its scales."""

    width: int
    height: int
    left: float = 40
    right: float = 10
    top: float = 24
    bottom: float = 40
    y_low: float = 0
    y_high: float = 100
    parts: list[str] = field(default_factory=list)

    def y(self, value: float) -> float:
        span = (self.y_high - self.y_low) or 1
        return self.top + (self.height - self.top - self.bottom) * (1 - (value - self.y_low) / span)

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    def axes(self, ticks: Sequence[float], tick_label=_num) -> None:
        for tick in ticks:
            y = self.y(tick)
            self.parts.append(f'<line x1="{_num(self.left)}" x2="{_num(self.width - self.right)}" y1="{_num(y)}" '
                              f'y2="{_num(y)}" stroke="{GRID}" stroke-width="1"/>')
            self.parts.append(_text(self.left - 5, y + 3.5, tick_label(tick), anchor="end", size=10, fill=MUTED))
        base = self.y(self.y_low)
        self.parts.append(f'<line x1="{_num(self.left)}" x2="{_num(self.width - self.right)}" y1="{_num(base)}" '
                          f'y2="{_num(base)}" stroke="{MUTED}" stroke-width="1"/>')


def _ticks(low: float, high: float) -> list[float]:
    span = high - low
    if span <= 10:
        return [float(v) for v in range(int(low), int(high) + 1)]
    return [low + span * k / 4 for k in range(5)]


def means_chart(label_id: str, title: str, description: str, x_labels: Sequence[str], series: Sequence[Series],
                y_range: tuple[float, float], n_label: str) -> Markup:
    """Means with their 95% CI (whiskers) per x position, one line and marker shape per series, and each point's
    n in rows under the axis (`n_label` heads them)."""
    rows = len(series)
    frame = _Frame(width=360, height=178 + 13 * rows, bottom=40 + 13 * rows, y_low=y_range[0], y_high=y_range[1])
    frame.axes(_ticks(*y_range))
    step = frame.plot_width / max(len(x_labels), 1)
    dodge = min(8.0, step / (rows + 2))

    def x_at(i: int, n: int) -> float:
        return frame.left + step * (i + 0.5) + (n - (rows - 1) / 2) * dodge

    parts = frame.parts
    base = frame.y(frame.y_low)
    for i, label in enumerate(x_labels):
        parts.append(_text(frame.left + step * (i + 0.5), base + 14, label, size=10))
    parts.append(_text(frame.left - 5, base + 28, n_label, anchor="end", size=9, fill=MUTED))
    for n, s in enumerate(series):
        colour, shape = SERIES_COLOURS[n % len(SERIES_COLOURS)], MARKERS[n % len(MARKERS)]
        points = [(x_at(i, n), frame.y(v)) for i, v in enumerate(s.values) if v is not None and not math.isnan(v)]
        if len(points) > 1:
            path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
            dash = ' stroke-dasharray="5 3"' if n % 2 else ""
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.6"{dash}/>')
        for i, v in enumerate(s.values):
            if v is None or math.isnan(v):
                continue
            x = x_at(i, n)
            low = s.low[i] if i < len(s.low) else None
            high = s.high[i] if i < len(s.high) else None
            if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)):
                y1, y2 = frame.y(max(low, frame.y_low)), frame.y(min(high, frame.y_high))
                parts.append(f'<line x1="{_num(x)}" x2="{_num(x)}" y1="{_num(y1)}" y2="{_num(y2)}" stroke="{colour}" '
                             f'stroke-width="1.3"/>')
                for y in (y1, y2):
                    parts.append(f'<line x1="{_num(x - 3)}" x2="{_num(x + 3)}" y1="{_num(y)}" y2="{_num(y)}" '
                                 f'stroke="{colour}" stroke-width="1.3"/>')
            parts.append(_marker(shape, x, frame.y(v), colour))
        for i, count in enumerate(s.counts):
            parts.append(_text(frame.left + step * (i + 0.5), base + 28 + 13 * n, str(count), size=9, fill=colour
                               if n < len(SERIES_COLOURS) and SERIES_COLOURS[n] != "#E69F00" else INK))
    parts += _legend(series, frame.left, 14) if len(series) > 1 else []
    return _document(frame.width, frame.height, title, description, parts, label_id)


@dataclass(frozen=True)
class Bar:
    """One stacked bar: its label (under it), the shares of each segment (0-1) and its n (above it)."""

    label: str
    shares: Sequence[float]
    n: int
    group: str = ""  # an arm: bars of the same x position are drawn side by side


def stacked_bars(label_id: str, title: str, description: str, bars: Sequence[Bar], colours: Sequence[str],
                 text_colours: Sequence[str], legend: Sequence[str], n_label: str) -> Markup:
    """Stacked bars of shares (0-100 %), each with its n above it and the share in each wide enough segment."""
    width = max(360, 34 * len(bars) + 60)
    frame = _Frame(width=width, height=230, top=40, bottom=52, y_low=0, y_high=1)
    frame.axes([0, 0.25, 0.5, 0.75, 1.0], tick_label=lambda v: f"{v * 100:.0f}%")
    parts = frame.parts
    slot = frame.plot_width / max(len(bars), 1)
    bar_width = min(28.0, slot * 0.8)
    base = frame.y(0)
    previous_label = None
    parts.append(_text(frame.left - 5, frame.top - 6, n_label, anchor="end", size=9, fill=MUTED))
    for i, bar in enumerate(bars):
        x = frame.left + slot * (i + 0.5)
        bottom = 0.0
        for k, share in enumerate(bar.shares):
            if share is None or math.isnan(share) or share <= 0:
                continue
            y_top, y_bottom = frame.y(bottom + share), frame.y(bottom)
            parts.append(f'<rect x="{_num(x - bar_width / 2)}" y="{_num(y_top)}" width="{_num(bar_width)}" '
                         f'height="{_num(y_bottom - y_top)}" fill="{colours[k]}" stroke="#FFFFFF" stroke-width="0.6"/>')
            if y_bottom - y_top >= 12:
                parts.append(_text(x, (y_top + y_bottom) / 2 + 3.5, f"{share * 100:.0f}", size=9,
                                   fill=text_colours[k]))
            bottom += share
        parts.append(_text(x, frame.top - 6, str(bar.n), size=9))
        if bar.group:
            parts.append(_text(x, base + 12, bar.group, size=8.5, fill=MUTED))
        if bar.label != previous_label:
            span = sum(1 for b in bars[i:] if b.label == bar.label)
            parts.append(_text(frame.left + slot * (i + span / 2), base + (26 if bar.group else 14), bar.label,
                               size=10))
            previous_label = bar.label
    x = frame.left
    for k, name in enumerate(legend):
        parts.append(f'<rect x="{_num(x)}" y="{_num(frame.height - 14)}" width="10" height="10" fill="{colours[k]}" '
                     f'stroke="{MUTED}" stroke-width="0.5"/>')
        parts.append(_text(x + 14, frame.height - 5, name, anchor="start", size=10))
        x += 24 + 6.0 * len(name)
    return _document(frame.width, frame.height, title, description, parts, label_id)


@dataclass(frozen=True)
class Curve:
    label: str
    times: Sequence[float]
    survival: Sequence[float]


def survival_chart(label_id: str, title: str, description: str, curves: Sequence[Curve], x_ticks: Sequence[float],
                   x_label: str) -> Markup:
    """Kaplan-Meier step curves (survival free of deterioration, 0-100 %) against days."""
    frame = _Frame(width=360, height=210, bottom=44, y_low=0, y_high=1)
    frame.axes([0, 0.25, 0.5, 0.75, 1.0], tick_label=lambda v: f"{v * 100:.0f}%")
    parts = frame.parts
    end = max([*x_ticks, *[t for c in curves for t in c.times], 1.0])

    def x_of(day: float) -> float:
        return frame.left + frame.plot_width * day / end

    base = frame.y(0)
    for tick in x_ticks:
        parts.append(f'<line x1="{_num(x_of(tick))}" x2="{_num(x_of(tick))}" y1="{_num(base)}" y2="{_num(base + 4)}" '
                     f'stroke="{MUTED}"/>')
        parts.append(_text(x_of(tick), base + 15, _num(tick), size=10))
    parts.append(_text(frame.left + frame.plot_width / 2, base + 31, x_label, size=10, fill=MUTED))
    for n, curve in enumerate(curves):
        colour = SERIES_COLOURS[n % len(SERIES_COLOURS)]
        points, level = [], 1.0
        for t, s in zip(curve.times, curve.survival, strict=True):
            points.append((x_of(t), frame.y(level)))
            points.append((x_of(t), frame.y(s)))
            level = s
        points.append((x_of(end), frame.y(level)))
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
        dash = ' stroke-dasharray="5 3"' if n % 2 else ""
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.8"{dash}/>')
        parts.append(_marker(MARKERS[n % len(MARKERS)], x_of(end) - 4, frame.y(level), colour, 3.5))
    parts += _legend([Series(c.label, ()) for c in curves], frame.left, 14) if len(curves) > 1 else []
    return _document(frame.width, frame.height, title, description, parts, label_id)


def _hatched(x: float, y: float, width: float, height: float, step: float = 6) -> str:
    """A blank cell: its outline and diagonal lines across it, drawn as lines (a fill pattern would be printed as a
    picture per cell, some megabytes in a PDF)."""
    segments = []
    offset = step - height
    while offset < width:
        x1, y1, x2, y2 = x + offset, y + height, x + offset + height, y  # up to the right, then clipped to the cell
        if x1 < x:
            y1 -= x - x1
            x1 = x
        if x2 > x + width:
            y2 += x2 - (x + width)
            x2 = x + width
        segments.append(f"M{_num(x1)},{_num(y1)} L{_num(x2)},{_num(y2)}")
        offset += step
    return (f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(width)}" height="{_num(height)}" fill="#FFFFFF" '
            f'stroke="{GRID}"/><path d="{" ".join(segments)}" stroke="{GRID}" stroke-width="1" fill="none"/>')


def heat_map(label_id: str, title: str, description: str, rows: Sequence[str], columns: Sequence[str],
             grades: Sequence[Sequence[float | None]], legend: Sequence[str], missing_label: str,
             notes: Sequence[Sequence[str]] = ()) -> Markup:
    """A grid of grades (rows: terms; columns: timepoints), the grade as colour and as its number; a blank cell
    (hatched, with a dash) where there is no grade. `legend`: the names of grades 0 to 3. `notes`: per column,
    lines under its label (the participant report: the day from the anchor, and "not done" or "missed")."""
    label_width = min(320, max(120, 6.3 * max((len(r) for r in rows), default=10)))
    lines = max((len(n) for n in notes), default=0)
    # a column as wide as its label needs ("30-day follow-up"), within reason
    widest = max([6.2 * len(c) + 10 for c in columns] + [5.4 * len(n) + 8 for ns in notes for n in ns], default=0)
    cell_w = int(min(120, max(62, widest)))
    cell_h, top = 22, 34 + 12 * lines
    width = int(label_width + cell_w * max(len(columns), 1) + 12)
    height = int(top + cell_h * len(rows) + 44)
    parts = []
    for j, column in enumerate(columns):
        parts.append(_text(label_width + cell_w * (j + 0.5), top - 10 - 12 * lines, column, size=10, weight="600"))
        for k, note in enumerate(notes[j] if j < len(notes) else ()):
            parts.append(_text(label_width + cell_w * (j + 0.5), top - 10 - 12 * (lines - 1 - k), note, size=9,
                               fill=MUTED))
    for i, row in enumerate(rows):
        y = top + cell_h * i
        parts.append(_text(label_width - 8, y + cell_h / 2 + 4, row, anchor="end", size=10.5))
        for j in range(len(columns)):
            grade = grades[i][j] if j < len(grades[i]) else None
            x = label_width + cell_w * j
            if grade is None or (isinstance(grade, float) and math.isnan(grade)):
                parts.append(_hatched(x + 1, y + 1, cell_w - 2, cell_h - 2))
                parts.append(_text(x + cell_w / 2, y + cell_h / 2 + 4, "–", size=11, fill=MUTED))
                continue
            g = max(0, min(3, int(round(grade))))
            parts.append(f'<rect x="{_num(x + 1)}" y="{_num(y + 1)}" width="{cell_w - 2}" height="{cell_h - 2}" '
                         f'fill="{GRADE_COLOURS[g]}" stroke="#FFFFFF"/>')
            parts.append(_text(x + cell_w / 2, y + cell_h / 2 + 4, str(g), size=11, fill=GRADE_TEXT[g], weight="700"))
    y = height - 16
    x = 8.0
    for g, name in enumerate(legend):
        parts.append(f'<rect x="{_num(x)}" y="{_num(y - 10)}" width="14" height="14" fill="{GRADE_COLOURS[g]}" '
                     f'stroke="{MUTED}" stroke-width="0.5"/>')
        parts.append(_text(x + 7, y + 1, str(g), size=9, fill=GRADE_TEXT[g], weight="700"))
        parts.append(_text(x + 18, y + 1, name, anchor="start", size=10))
        x += 30 + 6.0 * len(name)
    parts.append(_hatched(x, y - 10, 14, 14))
    parts.append(_text(x + 18, y + 1, missing_label, anchor="start", size=10))
    width = max(width, int(x + 30 + 6.0 * len(missing_label)))
    return _document(width, height, title, description, parts, label_id)
