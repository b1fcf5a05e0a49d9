"""The results as export data sets (`results_scales`, `results_terms`, `ttd`): the same frames the results
service computes, with their codebook columns. Of the export filters the sites apply to every figure and the
timepoints select rows; the date range does not apply (a result is over the whole schedule)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pandas as pd

from ..exports.chunks import Filters
from ..exports.columns import FLAG, Column
from ..models import Study
from . import services
from .services import ALL, NO_ARM, Selection

RESULT_DATASETS = ("results_scales", "results_terms", "ttd")

_GROUP = f"{ALL} = every arm; {NO_ARM} = no arm assigned"  # and the study's arms (result_columns)
_SITE = f"{ALL} = every site"  # and the study's sites (result_columns)
_VISIT = Column("visit", "Visit number (order of the timepoint in the schedule)", "integer")
_TP = Column("timepoint", "Timepoint code", "string")

SCALES = [
    Column("instrument", "Instrument id", "string"),
    Column("scale", "Scale code", "string"),
    _TP, _VISIT,
    Column("arm", "Arm", "string", _GROUP),
    Column("site", "Site", "string", _SITE),
    Column("n", "Participants with a scored value (completed or partial assessments)", "integer"),
    Column("mean", "Mean score", "number"),
    Column("sd", "Standard deviation", "number", missing="blank when n < 2"),
    Column("ci_low", "Lower bound of the 95% CI of the mean (t distribution)", "number", missing="blank when n < 2"),
    Column("ci_high", "Upper bound of the 95% CI of the mean (t distribution)", "number", missing="blank when n < 2"),
    Column("median", "Median", "number"),
    Column("p25", "First quartile (linear interpolation, R type 7)", "number"),
    Column("p75", "Third quartile (linear interpolation, R type 7)", "number"),
    Column("n_change", "Participants with both a baseline and this score", "integer"),
    Column("change_mean", "Mean change from baseline", "number", missing="blank at baseline or when n_change = 0"),
    Column("change_sd", "Standard deviation of the change", "number", missing="blank when n_change < 2"),
    Column("change_ci_low", "Lower bound of the 95% CI of the mean change", "number",
           missing="blank when n_change < 2"),
    Column("change_ci_high", "Upper bound of the 95% CI of the mean change", "number",
           missing="blank when n_change < 2"),
    Column("improved", f"Share of n_change improved by {services.MEANINGFUL_CHANGE:g} points or more", "number",
           missing="blank when n_change = 0"),
    Column("stable", f"Share of n_change changed by less than {services.MEANINGFUL_CHANGE:g} points", "number",
           missing="blank when n_change = 0"),
    Column("deteriorated", f"Share of n_change worse by {services.MEANINGFUL_CHANGE:g} points or more", "number",
           missing="blank when n_change = 0"),
    Column("threshold", "The study's threshold for clinical importance", "number", missing="blank: none"),
    Column("past_threshold", "Share of n past the threshold for clinical importance", "number",
           missing="blank: no threshold"),
]

TERMS = [
    Column("instrument", "Instrument id", "string"),
    Column("term", "Term number", "integer"),
    Column("variable", "Composite grade (…_COMP) or, for a term without one, its yes/no item", "string"),
    Column("kind", "What the variable is", "string", "composite = composite grade 0-3; item = yes/no item 0-1"),
    Column("summary", "What is counted", "string",
           f"{services.BY_VISIT} = answers at the timepoint; {services.MAX_POST_BASELINE} = each participant's "
           f"highest post-baseline grade; {services.BASELINE_ADJUSTED} = that grade when worse than baseline, "
           "else 0, as ProAE toxTables (participants with no baseline grade not counted)"),
    Column("timepoint", "Timepoint code", "string", missing="blank unless summary = visit"),
    Column("visit", "Visit number", "integer", missing="blank unless summary = visit"),
    Column("arm", "Arm", "string", _GROUP),
    Column("site", "Site", "string", _SITE),
    Column("n", "Participants counted", "integer"),
    *[Column(f"grade_{g}", f"Participants with grade {g}", "integer",
             missing="blank for a yes/no item" if g >= 2 else "") for g in range(4)],
    Column("share_ge1", "Share with grade 1 or more (item: yes)", "number"),
    Column("share_ge2", "Share with grade 2 or more", "number", missing="blank for a yes/no item"),
    Column("share_3", "Share with grade 3", "number", missing="blank for a yes/no item"),
]

TTD = [
    Column("instrument", "Instrument id", "string"),
    Column("scale", "Scale code", "string"),
    Column("participant", "Participant (pseudonymous study code)", "string"),
    Column("site", "Site code", "string"),
    Column("arm", "Arm", "string", f"{NO_ARM} = no arm assigned"),
    Column("baseline_value", "Baseline score", "number", missing="blank: no baseline score"),
    Column("time", "Days from the anchor date to the event or censoring", "integer",
           missing="blank: no baseline score (not at risk)"),
    Column("event", f"1 when worse than baseline by {services.MEANINGFUL_CHANGE:g} points or more", "integer",
           FLAG, missing="blank: no baseline score"),
    Column("event_value", "The score at the event", "number", missing="blank: no event"),
    Column("censoring_reason", "Why the time is censored", "string",
           "last_assessment = no deterioration by the last assessment; withdrawn = withdrawn, censored at the last "
           "assessment; died = died, censored at the last assessment (death is not an event); no_follow_up = no "
           "score after baseline, censored at day 0; no_baseline = no baseline score, not at risk",
           missing="blank when event = 1"),
]


def result_columns(study: Study) -> dict[str, list[Column]]:
    """The columns of the three data sets, with the study's own arms and sites among the allowed values."""
    arms = "".join(f"; {arm} = {arm}" for arm in study.arms or ())
    sites = "".join(f"; {site.code} = {site.name}" for site in study.sites)

    def own(columns: list[Column]) -> list[Column]:
        return [replace(c, values=c.values + (arms if c.name == "arm" else sites)) if c.name in ("arm", "site")
                and c.values else c for c in columns]

    return {"results_scales": own(SCALES), "results_terms": own(TERMS), "ttd": own(TTD)}


def _typed(frame: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for c in columns:
        series = frame[c.name]
        if c.type == "integer":
            out[c.name] = pd.array([None if pd.isna(v) else int(v) for v in series], dtype="Int64")
        elif c.type == "number":
            out[c.name] = pd.to_numeric(series, errors="coerce").astype("float64")
        else:
            out[c.name] = series.astype("string")
    return out.reset_index(drop=True)


def _results(study: Study, filters: Filters) -> services.Results:
    return services.compute(study, Selection(sites=tuple(filters.sites)))


def results_scales(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    frame = _results(study, filters).scales
    if filters.timepoints:
        frame = frame[frame["timepoint"].isin(filters.timepoints)]
    if not frame.empty:
        yield _typed(frame, SCALES)


def results_terms(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    frame = _results(study, filters).terms
    if filters.timepoints:
        frame = frame[frame["timepoint"].isin(filters.timepoints) | frame["timepoint"].isna()]
    if not frame.empty:
        yield _typed(frame, TERMS)


def ttd(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    frame = _results(study, filters).ttd
    if not frame.empty:
        yield _typed(frame, TTD)


BUILDERS = {"results_scales": results_scales, "results_terms": results_terms, "ttd": ttd}
