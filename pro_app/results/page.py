"""The study results page: its filters (GET parameters, checked against the study and the user's sites) and
what it shows, built from one `services.compute` of the selection: per scale the means over time with their
CI, change from baseline and the improved/stable/deteriorated shares; per PRO-CTCAE term the grade shares
over time and the maximum-grade tables; per scale the Kaplan-Meier curve of time to deterioration with the
number at risk. Every chart comes with a table of the same figures and their n."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from ..extensions import library
from ..i18n import current_language
from ..instruments import value_range
from ..models import Site, Study
from . import services, svg
from .services import ALL, BASELINE_ADJUSTED, BY_VISIT, MAX_POST_BASELINE, NO_ARM, Selection

#: At most this many values of one filter (a crafted URL with thousands is refused, not computed).
MAX_VALUES = 50


class BadFilter(ValueError):
    """A filter value the study does not have; the message says which (shown with a 400)."""


@dataclass(frozen=True)
class Family:
    """A group of scales or terms as an instrument defines it (its `charts:`), named "<instrument>-<group>"."""

    id: str
    title: str
    instrument: str
    codes: tuple[str, ...]
    graded: bool  # PRO-CTCAE composite grades (terms), not scores


@dataclass(frozen=True)
class Filters:
    arms: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    timepoints: tuple[str, ...] = ()
    family: str = ""

    def query(self) -> list[tuple[str, str]]:
        return ([("arm", a) for a in self.arms] + [("site", s) for s in self.sites]
                + [("timepoint", t) for t in self.timepoints] + ([("family", self.family)] if self.family else []))


def families(study: Study) -> list[Family]:
    lang = current_language()
    found = []
    for instrument in services.study_instruments(study):
        for group in instrument.charts:
            scales = instrument.chart_scales(group)
            found.append(Family(f"{instrument.id}-{group.id}", group.title.get(lang), instrument.id,
                                tuple(s.code for s in scales), all(s.type == services.GRADE_TYPE for s in scales)))
    return found


def arm_choices(study: Study) -> list[tuple[str, str]]:
    return [(arm, arm) for arm in study.arms or ()] + [(NO_ARM, _("No arm assigned"))]


def parse(args: MultiDict, study: Study, sites: list[Site]) -> Filters:
    """The filters asked for in the query string, each value one the study has (else BadFilter). `sites`:
    those the user may see; a user limited to some sites sees only theirs whatever is asked."""

    def values(name: str, allowed: set[str], message: str) -> tuple[str, ...]:
        given = [v.strip() for v in args.getlist(name) if v.strip()]
        if len(given) > MAX_VALUES:
            raise BadFilter(_("Too many values for %(name)s.", name=name))
        for value in given:
            if value not in allowed:
                raise BadFilter(message % {"value": value[:64]})
        return tuple(dict.fromkeys(given))

    arms = values("arm", {a for a, _label in arm_choices(study)}, _("This study has no arm “%(value)s”."))
    chosen_sites = values("site", {s.code for s in sites}, _("There is no site “%(value)s” you can see in this study."))
    timepoints = values("timepoint", {t.code for t in study.timepoints},
                        _("This study has no timepoint “%(value)s”."))
    family = values("family", {f.id for f in families(study)}, _("There is no group of scales “%(value)s”."))
    if len(family) > 1:
        raise BadFilter(_("Choose one group of scales or symptoms at a time."))
    return Filters(arms, chosen_sites, timepoints, family[0] if family else "")


def selection(filters: Filters, study: Study, sites: list[Site]) -> Selection:
    limited = len(sites) < len(study.sites)
    chosen = filters.sites or (tuple(sorted(s.code for s in sites)) if limited else ())
    family = next((f for f in families(study) if f.id == filters.family), None)
    scales = family.codes if family and not family.graded else ()
    terms = family.codes if family and family.graded else ()
    return Selection(arms=filters.arms, sites=chosen, scales=scales, terms=terms)


# --- what the page shows -----------------------------------------------------------------------------------

@dataclass
class Figure:
    """A scale or term: its charts and the rows of the table under them."""

    code: str
    name: str
    charts: list[Markup] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    km_rows: list[dict] = field(default_factory=list)


@dataclass
class Section:
    family: Family
    figures: list[Figure]


@dataclass
class Page:
    timepoints: list  # (position, code, label, target day) shown
    baseline: int | None
    arms: list[str]  # the groups shown side by side: each arm, or everyone
    table_arms: list[str]  # the groups in the tables (each arm and everyone)
    scale_sections: list[Section]
    term_sections: list[Section]
    km_sections: list[Section]
    km_timepoints: list  # post-baseline (code, label, day)
    maxima: list[dict]  # per term: per group, the maximum post-baseline and baseline-adjusted shares
    participants: int


def arm_label(arm: str) -> str:
    if arm == ALL:
        return _("All")
    if arm == NO_ARM:
        return _("No arm")
    return arm


def _f(value) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return float(value)


def build(study: Study, filters: Filters, chosen: Selection) -> Page:
    results = services.compute(study, chosen)
    lang = current_language()
    shown = [t for t in results.timepoints if not filters.timepoints or t[1] in filters.timepoints]
    baseline = study.baseline_position
    present = set(results.scales["arm"]) | set(results.terms["arm"])
    ordered = [a for a in [*(study.arms or ()), NO_ARM] if a in present]
    arms = ordered if len(ordered) > 1 else [ALL]
    table_arms = [*ordered, ALL] if len(ordered) > 1 else [ALL]
    chosen_families = [f for f in families(study) if not filters.family or f.id == filters.family]
    scale_families = [f for f in chosen_families if not f.graded]
    term_families = [f for f in chosen_families if f.graded]
    later = [(c, label, d) for p, c, label, d in shown if p != baseline]
    page = Page(shown, baseline, arms, table_arms, [], [], [], later, [],
                participants=int(results.ttd["participant"].nunique()) if not results.ttd.empty else 0)

    by_scale = _index(results.scales[results.scales["site"] == ALL], "scale")
    km = results.km[results.km["site"] == ALL] if not results.km.empty else results.km
    by_km = {code: part for code, part in km.groupby("scale", sort=False)} if not km.empty else {}
    for family in scale_families:
        instrument = library.get(family.instrument)
        figures, km_figures = [], []
        for code in family.codes:
            part = by_scale.get(code)
            if part is None:
                continue
            scale = instrument.scale(code)
            name = scale.name.get(lang)
            figure = Figure(code, name)
            _scale_figure(figure, part, shown, baseline, arms, table_arms,
                          value_range(instrument, scale))
            figures.append(figure)
            km_part = by_km.get(code)
            if km_part is not None:
                km_figures.append(_km_figure(Figure(code, name), km_part, results.curves, arms, table_arms, later))
        if figures:
            page.scale_sections.append(Section(family, figures))
        if km_figures:
            page.km_sections.append(Section(family, km_figures))

    by_term = _index(results.terms[results.terms["site"] == ALL], "variable")
    info = services.term_info(study)
    for family in term_families:
        instrument = library.get(family.instrument)
        figures = []
        for variable, meta in info[info["instrument"] == family.instrument].iterrows():
            part = by_term.get(variable)
            if not part:
                continue
            name = _term_name(instrument, variable, lang)
            figure = Figure(variable, name)
            _term_figure(figure, part, shown, arms, table_arms, meta["kind"])
            figures.append(figure)
            page.maxima.append(_maxima(variable, name, meta["kind"], part, table_arms))
        if figures:
            page.term_sections.append(Section(family, figures))
    return page


def _term_name(instrument, variable: str, lang: str) -> str:
    if variable in instrument.scale_codes:
        return instrument.scale(variable).name.get(lang)
    item = instrument.item(variable)
    term = next((t for t in instrument.terms if t.number == item.term), None)
    return term.name.get(lang) if term else variable


def _index(frame: pd.DataFrame, key: str) -> dict:
    """{key value: {(visit, arm): row as a dict}}: one pass over the results, not a filter per cell."""
    indexed: dict = {}
    for row in frame.to_dict("records"):
        visit = row.get("visit")
        visit = None if visit is None or visit is pd.NA or (isinstance(visit, float) and math.isnan(visit)) \
            else int(visit)
        indexed.setdefault(row[key], {})[(row.get("summary", BY_VISIT), visit, row["arm"])] = row
    return indexed


def _row(part: dict, visit: int | None, arm: str, summary: str = BY_VISIT) -> dict | None:
    return part.get((summary, visit, arm))


def _scale_figure(figure: Figure, part: dict, shown, baseline, arms, table_arms, y_range) -> None:
    labels = [label for _p, _c, label, _d in shown]
    series = []
    for arm in arms:
        rows = [_row(part, position, arm) for position, *_ in shown]
        series.append(svg.Series(arm_label(arm), [_f(r["mean"]) if r else None for r in rows],
                                 [_f(r["ci_low"]) if r else None for r in rows],
                                 [_f(r["ci_high"]) if r else None for r in rows],
                                 [int(r["n"]) if r else 0 for r in rows]))
    description = _("Mean score with its %(level)s confidence interval at each timepoint; n under each timepoint. "
                    "The table below gives the same figures.", level="95%")
    figure.charts.append(svg.means_chart(f"mean-{figure.code}", _("%(scale)s: mean and 95%% CI", scale=figure.name),
                                         description, labels, series, y_range, "n"))
    bars = []
    for position, _code, label, _day in shown:
        if position == baseline:
            continue
        for arm in arms:
            r = _row(part, position, arm)
            if r and r["n_change"]:
                bars.append(svg.Bar(label, [_f(r["improved"]) or 0, _f(r["stable"]) or 0,
                                            _f(r["deteriorated"]) or 0], int(r["n_change"]),
                                    arm_label(arm) if len(arms) > 1 else ""))
    if bars:
        figure.charts.append(svg.stacked_bars(
            f"change-{figure.code}", _("%(scale)s: change from baseline", scale=figure.name),
            _("Share of participants improved, stable and deteriorated by %(points)s points or more from baseline, "
              "at each timepoint; n above each bar.", points=f"{services.MEANINGFUL_CHANGE:g}"),
            bars, svg.CHANGE_COLOURS, svg.CHANGE_TEXT, [_("Improved"), _("Stable"), _("Deteriorated")], "n"))
    for position, _code, label, _day in shown:
        for arm in table_arms:
            r = _row(part, position, arm)
            if r:
                figure.rows.append({**{k: _f(v) for k, v in r.items()
                                       if k not in ("scale", "arm", "site", "instrument", "timepoint")},
                                    "timepoint": label, "arm": arm_label(arm), "baseline": position == baseline})


GRADE_SHARES = ("grade_0", "grade_1", "grade_2", "grade_3")


def _term_figure(figure: Figure, part: dict, shown, arms, table_arms, kind: str) -> None:
    composite = kind == "composite"
    grades = GRADE_SHARES if composite else GRADE_SHARES[:2]
    bars = []
    for position, _code, label, _day in shown:
        for arm in arms:
            r = _row(part, position, arm)
            if r and r["n"]:
                bars.append(svg.Bar(label, [(_f(r[g]) or 0) / int(r["n"]) for g in grades], int(r["n"]),
                                    arm_label(arm) if len(arms) > 1 else ""))
    legend = [_("Grade %(grade)s", grade=g) for g in range(4)] if composite else [_("No"), _("Yes")]
    colours = svg.GRADE_COLOURS if composite else (svg.GRADE_COLOURS[0], svg.GRADE_COLOURS[2])
    text = svg.GRADE_TEXT if composite else (svg.GRADE_TEXT[0], svg.GRADE_TEXT[2])
    if bars:
        figure.charts.append(svg.stacked_bars(
            f"grades-{figure.code}", _("%(term)s: grades over time", term=figure.name),
            _("Share of participants at each grade, per timepoint; n above each bar. The table below gives the "
              "counts."), bars, colours, text, legend, "n"))
    for position, _code, label, _day in shown:
        for arm in table_arms:
            r = _row(part, position, arm)
            if r:
                n = int(r["n"])
                figure.rows.append({"timepoint": label, "arm": arm_label(arm), "n": n, "composite": composite,
                                    "grades": [(None if _f(r[g]) is None else int(r[g]),
                                                None if _f(r[g]) is None or not n else float(r[g]) / n)
                                               for g in grades]})


def _maxima(variable: str, name: str, kind: str, part: dict, table_arms) -> dict:
    groups = []
    for arm in table_arms:
        entry = {"arm": arm_label(arm)}
        for summary in (MAX_POST_BASELINE, BASELINE_ADJUSTED):
            r = _row(part, None, arm, summary)
            entry[summary] = None if r is None else {
                "n": int(r["n"]), "ge1": _f(r["share_ge1"]), "ge2": _f(r["share_ge2"]), "g3": _f(r["share_3"])}
        groups.append(entry)
    return {"variable": variable, "name": name, "composite": kind == "composite", "groups": groups}


def _km_figure(figure: Figure, part: pd.DataFrame, curves: dict, arms, table_arms, later) -> Figure:
    drawn = []
    for arm in arms:
        curve = curves.get((figure.code, arm, ALL))
        if curve is not None:
            drawn.append(svg.Curve(arm_label(arm), curve["time"].tolist(), curve["survival"].tolist()))
    ticks = [0.0, *[float(d) for _c, _l, d in later]]
    figure.charts.append(svg.survival_chart(
        f"km-{figure.code}", _("%(scale)s: time to deterioration", scale=figure.name),
        _("Kaplan-Meier estimate of the share of participants free of a deterioration of %(points)s points or more "
          "from baseline, against days from the anchor date. The table below gives n, events, the median and the "
          "number at risk.", points=f"{services.MEANINGFUL_CHANGE:g}"), drawn, ticks, _("Days from the anchor date")))
    for arm in table_arms:
        found = part[part["arm"] == arm]
        if found.empty:
            continue
        r = found.iloc[0]
        figure.km_rows.append({"arm": arm_label(arm), "n": int(r["n"]), "events": int(r["events"]),
                               "median": _f(r["median"]), "low": _f(r["median_ci_low"]),
                               "high": _f(r["median_ci_high"]),
                               "at_risk": [int(r[f"at_risk_{c}"]) if f"at_risk_{c}" in r else None
                                           for c, _l, _d in later],
                               "survival": [_f(r.get(f"survival_{c}")) for c, _l, _d in later]})
    return figure
