"""The analyst data sets, built as pandas DataFrames in chunks of participants so that any study size
exports within bounded memory. Column names and meanings are fixed in columns.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from ..assessments.schedule import local_today
from ..database import utcnow
from ..extensions import db
from ..instruments import Instrument, get_registry
from ..models import Assessment, ItemResponse, Participant, Score, Site, Study, Timepoint
from . import columns as C

DATASETS = ("items", "scores", "wide", "proae", "compliance", "codebook")
#: participants per chunk: about 4 x 120 item rows each, so a chunk of items is ~250,000 rows
CHUNK_PARTICIPANTS = 500


class ExportError(ValueError):
    """A request for data that cannot be served (unknown study, data set or filter)."""


@dataclass(frozen=True)
class Filters:
    sites: tuple[str, ...] = ()
    timepoints: tuple[str, ...] = ()
    date_from: date | None = None  # on the target date
    date_to: date | None = None

    def describe(self) -> dict:
        return {"sites": list(self.sites), "timepoints": list(self.timepoints),
                "date_from": self.date_from.isoformat() if self.date_from else None,
                "date_to": self.date_to.isoformat() if self.date_to else None}


def _frame(stmt, columns: list[str]) -> pd.DataFrame:
    """The query's rows as a DataFrame, built column by column: pandas inspects every SQLAlchemy Row
    object it is given one by one, which costs more than the query itself on large exports."""
    rows = db.session.execute(stmt).all()
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.DataFrame(dict(zip(columns, (list(c) for c in zip(*rows, strict=True)), strict=True)))


def study_by_code(code: str) -> Study:
    study = db.session.scalar(select(Study).where(Study.code == code))
    if study is None:
        raise ExportError(f"no study {code!r}")
    return study


def study_instruments(study: Study) -> list[Instrument]:
    """The instruments the study's timepoints ask, in first-asked order."""
    registry = get_registry()
    ids: list[str] = []
    for timepoint in study.timepoints:
        ids.extend(i for i in timepoint.instruments if i not in ids)
    return [registry.get(i) for i in ids]


def study_items(study: Study, instrument: Instrument) -> tuple[str, ...]:
    if instrument.terms:
        terms = study.proctcae_terms or list(instrument.default_term_set.terms)
        return instrument.items_for_terms(terms)
    return instrument.item_ids


def study_scales(study: Study, instrument: Instrument) -> tuple[str, ...]:
    asked = set(study_items(study, instrument))
    return tuple(s.code for s in instrument.scales if not s.items or asked.intersection(s.items))


# --- the assessments behind every data set -----------------------------------------------------------------

def _assessments(study: Study, filters: Filters, participant_ids: list[int] | None = None) -> pd.DataFrame:
    """One row per assessment with its identifiers (language added later), for the given participants."""
    stmt = (
        select(Assessment.id.label("assessment_id"), Participant.id.label("participant_id"),
               Participant.study_code.label("participant"), Participant.status.label("participant_status"),
               Site.code.label("site"), Site.timezone, Timepoint.code.label("timepoint"),
               Timepoint.position.label("visit"), Assessment.target_date, Assessment.window_start,
               Assessment.window_end, Assessment.status.label("stored_status"), Assessment.started_at,
               Assessment.completed_at, Assessment.mode, Assessment.not_done_reason)
        .join(Participant, Assessment.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .join(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .where(Participant.study_id == study.id)
        .order_by(Participant.study_code, Timepoint.position)
    )
    if filters.sites:
        stmt = stmt.where(Site.code.in_(filters.sites))
    if filters.timepoints:
        stmt = stmt.where(Timepoint.code.in_(filters.timepoints))
    if filters.date_from:
        stmt = stmt.where(Assessment.target_date >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(Assessment.target_date <= filters.date_to)
    if participant_ids is not None:
        stmt = stmt.where(Participant.id.in_(participant_ids))
    frame = _frame(stmt, [
        "assessment_id", "participant_id", "participant", "participant_status", "site", "timezone", "timepoint",
        "visit", "target_date", "window_start", "window_end", "stored_status", "started_at", "completed_at",
        "mode", "not_done_reason"])
    frame.insert(0, "study", study.code)
    now = utcnow()
    today = frame["timezone"].map(lambda zone: local_today(zone, now))
    open_or_missed = np.where(today > frame["window_end"], "missed",
                              np.where(today >= frame["window_start"], "open", "scheduled"))
    frame["assessment_status"] = np.where(frame["stored_status"] == "scheduled", open_or_missed,
                                          frame["stored_status"])
    frame["today"] = today
    for column in ("started_at", "completed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    # Windows are site-local calendar days: so is the day an assessment was completed.
    frame["completed_date"] = [ts.tz_convert(zone).date() if pd.notna(ts) else None
                               for ts, zone in zip(frame["completed_at"], frame["timezone"], strict=True)]
    return frame


def _languages(assessment_ids: list[int]) -> pd.Series:
    """The language most items of each assessment were answered in."""
    if not assessment_ids:
        return pd.Series(dtype="string")
    counts = _frame(
        select(ItemResponse.assessment_id, ItemResponse.language, func.count())
        .where(ItemResponse.assessment_id.in_(assessment_ids), ItemResponse.state == "answered")
        .group_by(ItemResponse.assessment_id, ItemResponse.language), ["assessment_id", "language", "n"])
    if counts.empty:
        return pd.Series(dtype="string")
    best = counts.sort_values(["assessment_id", "n", "language"], ascending=[True, False, True])
    return best.drop_duplicates("assessment_id").set_index("assessment_id")["language"]


def _participant_chunks(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    ids = db.session.scalars(
        select(Participant.id).where(Participant.study_id == study.id).order_by(Participant.study_code)
    ).all()
    for start in range(0, len(ids), CHUNK_PARTICIPANTS):
        frame = _assessments(study, filters, list(ids[start:start + CHUNK_PARTICIPANTS]))
        if frame.empty:
            continue
        frame["language"] = frame["assessment_id"].map(_languages(frame["assessment_id"].tolist())).astype("string")
        yield frame


IDENTIFIER_NAMES = [c.name for c in C.IDENTIFIERS]


def _identifiers(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[IDENTIFIER_NAMES]


# --- items -----------------------------------------------------------------------------------------------

def _labels(instruments: list[Instrument]) -> tuple[dict, dict]:
    item_labels, value_labels = {}, {}
    for instrument in instruments:
        for item in instrument.items:
            item_labels[item.id] = item.text.en
            for option in item.option_set.options:
                key = option.value if option.value is not None else option.code
                value_labels[(item.id, key)] = option.label.en
    return item_labels, value_labels


def _responses(assessment_ids: list[int]) -> pd.DataFrame:
    return _frame(
        select(ItemResponse.assessment_id, ItemResponse.instrument_id, ItemResponse.instrument_version,
               ItemResponse.item_id, ItemResponse.value, ItemResponse.option_code, ItemResponse.state,
               ItemResponse.language, ItemResponse.answered_at)
        .where(ItemResponse.assessment_id.in_(assessment_ids)).order_by(ItemResponse.assessment_id, ItemResponse.id),
        ["assessment_id", "instrument", "instrument_version", "item", "value", "option_code", "state",
         "item_language", "answered_at"])


def _values(assessment_ids: list[int], instrument: str | None = None) -> pd.DataFrame:
    """Just what the wide and proae data sets need: assessment, item, value, state."""
    stmt = select(ItemResponse.assessment_id, ItemResponse.item_id, ItemResponse.value, ItemResponse.state).where(
        ItemResponse.assessment_id.in_(assessment_ids))
    if instrument is not None:
        stmt = stmt.where(ItemResponse.instrument_id == instrument)
    return _frame(stmt, ["assessment_id", "item", "value", "state"])


def items(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    instruments = study_instruments(study)
    item_labels, value_labels = _labels(instruments)
    order = {item_id: n for n, item_id in enumerate(i for inst in instruments for i in inst.item_ids)}
    names = IDENTIFIER_NAMES + [c.name for c in C.ITEM_ROW]
    for base in _participant_chunks(study, filters):
        responses = _responses(base["assessment_id"].tolist())
        if responses.empty:
            continue
        frame = _identifiers(base).merge(responses, on="assessment_id", how="inner")
        frame["_order"] = frame["item"].map(order)
        frame = frame.sort_values(["participant", "visit", "_order"], kind="stable")
        frame["value"] = frame["value"].astype("Int64")
        frame["item_label"] = frame["item"].map(item_labels)
        keys = [(i, v if pd.notna(v) else c) for i, v, c in zip(frame["item"], frame["value"], frame["option_code"],
                                                                  strict=True)]
        frame["value_label"] = [value_labels.get(k) for k in keys]
        frame["branched"] = (frame["state"] == "branched").astype("int64")
        frame["answered_at"] = pd.to_datetime(frame["answered_at"], utc=True)
        yield frame[names].reset_index(drop=True)


# --- scores ----------------------------------------------------------------------------------------------

def _scores(assessment_ids: list[int], instrument: str | None = None) -> pd.DataFrame:
    stmt = (select(Score.assessment_id, Score.instrument_id, Score.instrument_version, Score.scale_code, Score.value,
                   Score.status, Score.n_items, Score.scoring_version)
            .where(Score.assessment_id.in_(assessment_ids)).order_by(Score.assessment_id, Score.id))
    if instrument is not None:
        stmt = stmt.where(Score.instrument_id == instrument)
    return _frame(stmt, ["assessment_id", "instrument", "instrument_version", "scale", "value", "status", "n_items",
                         "scoring_version"])


def _threshold_flags(frame: pd.DataFrame, thresholds: dict) -> pd.Series:
    below = frame["scale"].map(lambda c: thresholds.get(c, {}).get("below"))
    above = frame["scale"].map(lambda c: thresholds.get(c, {}).get("above"))
    has_rule = (below.notna() | above.notna()) & (frame["instrument"] == "qlq_c30") & frame["value"].notna()
    flagged = (frame["value"] < below.astype(float)) | (frame["value"] > above.astype(float))
    return pd.Series(np.where(has_rule, flagged.astype(int), pd.NA), index=frame.index, dtype="Int64")


def scores(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    instruments = study_instruments(study)
    names = {s.code: s.name.en for inst in instruments for s in inst.scales}
    order = {code: n for n, code in enumerate(c for inst in instruments for c in inst.scale_codes)}
    columns = IDENTIFIER_NAMES + [c.name for c in C.SCORE_ROW]
    for base in _participant_chunks(study, filters):
        result = _scores(base["assessment_id"].tolist())
        if result.empty:
            continue
        frame = base[IDENTIFIER_NAMES + ["completed_date"]].merge(result, on="assessment_id", how="inner")
        frame = frame.assign(_order=frame["scale"].map(order)).sort_values(["participant", "visit", "_order"],
                                                                             kind="stable")
        frame["scale_name"] = frame["scale"].map(names)
        frame["baseline_flag"] = (frame["visit"] == 1).astype("int64")
        baseline = _baseline_scores(study, base["participant_id"].unique().tolist())
        frame = frame.merge(baseline, on=["participant", "scale"], how="left")
        frame["change"] = frame["value"] - frame["baseline_value"]
        frame["threshold_flag"] = _threshold_flags(frame, study.thresholds or {})
        completed = frame["completed_date"]
        days = [(c - t).days if pd.notna(c) else pd.NA for c, t in zip(completed, frame["target_date"], strict=True)]
        frame["days_from_target"] = pd.array(days, dtype="Int64")
        inside = [(int(s <= c <= e) if pd.notna(c) else pd.NA)
                  for c, s, e in zip(completed, frame["window_start"], frame["window_end"], strict=True)]
        frame["in_window"] = pd.array(inside, dtype="Int64")
        frame["n_items"] = frame["n_items"].astype("int64")
        yield frame[columns].reset_index(drop=True)


def _baseline_scores(study: Study, participant_ids: list[int]) -> pd.DataFrame:
    return _frame(
        select(Participant.study_code, Score.scale_code, Score.value)
        .join(Assessment, Score.assessment_id == Assessment.id)
        .join(Participant, Assessment.participant_id == Participant.id)
        .join(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .where(Participant.id.in_(participant_ids), Timepoint.position == 1),
        ["participant", "scale", "baseline_value"])


# --- wide and proae --------------------------------------------------------------------------------------

def wide_columns(study: Study) -> tuple[list[str], list[str]]:
    instruments = study_instruments(study)
    item_cols = [i for inst in instruments for i in study_items(study, inst)]
    scale_cols = [s for inst in instruments for s in study_scales(study, inst)]
    return item_cols, scale_cols


def wide(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    item_cols, scale_cols = wide_columns(study)
    for base in _participant_chunks(study, filters):
        ids = base["assessment_id"].tolist()
        frame = _identifiers(base).set_index("assessment_id", drop=False)
        answered = _values(ids)
        values = (answered.pivot(index="assessment_id", columns="item", values="value")
                  if not answered.empty else pd.DataFrame(index=pd.Index([], name="assessment_id")))
        values = values.reindex(index=frame.index, columns=item_cols).astype("Int64")
        result = _scores(ids)
        scale_values = (result.pivot(index="assessment_id", columns="scale", values="value")
                        if not result.empty else pd.DataFrame(index=pd.Index([], name="assessment_id")))
        scale_values = scale_values.reindex(index=frame.index, columns=scale_cols).astype("float64")
        yield pd.concat([frame, values, scale_values], axis=1).reset_index(drop=True)


def proae(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    """PRO-CTCAE items and composites in the shape the ProAE R package reads: `id`, `Cycle`, then
    PROCTCAE_* item columns (branched items written as 0, as ProAE expects) and PROCTCAE_<n>_COMP."""
    registry = get_registry()
    if "pro_ctcae" not in [i.id for i in study_instruments(study)]:
        return
    pro_ctcae = registry.get("pro_ctcae")
    item_cols = list(study_items(study, pro_ctcae))
    scale_cols = list(study_scales(study, pro_ctcae))
    for base in _participant_chunks(study, filters):
        ids = base["assessment_id"].tolist()
        answered = _values(ids, instrument="pro_ctcae")
        if answered.empty:
            continue
        answered = answered.assign(value=answered["value"].where(answered["state"] != "branched", 0))
        values = answered.pivot(index="assessment_id", columns="item", values="value")
        values = values.reindex(columns=item_cols).astype("Int64")
        result = _scores(ids, instrument="pro_ctcae")
        grades = result.pivot(index="assessment_id", columns="scale", values="value") if not result.empty else None
        grades = (grades.reindex(index=values.index, columns=scale_cols) if grades is not None
                  else pd.DataFrame(index=values.index, columns=scale_cols)).astype("Int64")
        keys = base.set_index("assessment_id").loc[values.index]
        frame = pd.DataFrame({"id": keys["participant"].to_numpy(), "Cycle": keys["visit"].to_numpy(),
                              "timepoint": keys["timepoint"].to_numpy(), "site": keys["site"].to_numpy(),
                              "completed_at": keys["completed_at"].to_numpy()})
        yield pd.concat([frame, values.reset_index(drop=True), grades.reset_index(drop=True)], axis=1)


# --- compliance ------------------------------------------------------------------------------------------

def compliance(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    columns = IDENTIFIER_NAMES + [c.name for c in C.COMPLIANCE_ROW]
    for base in _participant_chunks(study, filters):
        ids = base["assessment_id"].tolist()
        counts = _frame(
            select(ItemResponse.assessment_id, ItemResponse.state, func.count())
            .where(ItemResponse.assessment_id.in_(ids)).group_by(ItemResponse.assessment_id, ItemResponse.state),
            ["assessment_id", "state", "n"]).pivot_table(
            index="assessment_id", columns="state", values="n", aggfunc="sum", fill_value=0)
        answered = counts.get("answered", pd.Series(dtype="int64"))
        asked = counts.drop(columns=[c for c in ("branched",) if c in counts.columns]).sum(axis=1)
        frame = base.copy()
        frame["items_answered"] = frame["assessment_id"].map(answered).fillna(0).astype("int64")
        frame["items_asked"] = frame["assessment_id"].map(asked).fillna(0).astype("int64")
        not_open = frame["today"] < frame["window_start"]
        withdrawn = (frame["participant_status"] == "withdrawn") & (frame["stored_status"] == "scheduled")
        frame["not_expected_reason"] = np.where(withdrawn, "withdrawn", np.where(not_open, "window_not_open", None))
        frame["expected"] = frame["not_expected_reason"].isna().astype("int64")
        frame["received"] = (frame["assessment_status"] == "completed").astype("int64")
        yield frame[columns].reset_index(drop=True)


# --- codebook --------------------------------------------------------------------------------------------

def dataset_columns(study: Study) -> dict[str, list[C.Column]]:
    """The columns of every data set of this study, in order (the codebook lists exactly these)."""
    instruments = {i.id: i for i in study_instruments(study)}
    item_cols, scale_cols = wide_columns(study)
    owner = {c: inst for inst in instruments.values() for c in (*inst.item_ids, *inst.scale_codes)}
    per_dataset = {
        "items": C.IDENTIFIERS + C.ITEM_ROW,
        "scores": C.IDENTIFIERS + C.SCORE_ROW,
        "compliance": C.IDENTIFIERS + C.COMPLIANCE_ROW,
        "wide": C.IDENTIFIERS + [C.item_column(owner[i], i) for i in item_cols]
        + [C.scale_column(owner[s], s) for s in scale_cols],
    }
    if "pro_ctcae" in instruments:
        pc = instruments["pro_ctcae"]
        per_dataset["proae"] = [
            C.Column("id", "Participant (pseudonymous study code)", "string"),
            C.Column("Cycle", "Visit number (order of the timepoint in the schedule)", "integer"),
            C.Column("timepoint", "Timepoint code", "string"),
            C.Column("site", "Site code", "string"),
            C.Column("completed_at", "When the assessment was completed (UTC, ISO 8601)", "datetime"),
        ] + [C.item_column(pc, i, proae=True) for i in study_items(study, pc)] + [
            C.scale_column(pc, s) for s in study_scales(study, pc)]
    return per_dataset


def codebook_frame(study: Study) -> pd.DataFrame:
    per_dataset = dataset_columns(study)
    rows = [
        {"dataset": name, "column": c.name, "label": c.label, "type": c.type, "values": c.values,
         "instrument": c.instrument, "scales": c.scales, "missing": c.missing}
        for name, cols in per_dataset.items() for c in cols
    ]
    return pd.DataFrame(rows, columns=["dataset", "column", "label", "type", "values", "instrument", "scales",
                                       "missing"])


def codebook(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    yield codebook_frame(study)


BUILDERS = {"items": items, "scores": scores, "wide": wide, "proae": proae, "compliance": compliance,
            "codebook": codebook}


def build(study: Study, dataset: str, filters: Filters | None = None) -> Iterator[pd.DataFrame]:
    """The data set's chunks; a data set with no rows still yields one empty frame with its columns, so
    every file written has a header."""
    if dataset not in BUILDERS:
        raise ExportError(f"unknown data set {dataset!r} (one of: {', '.join(DATASETS)})")
    empty = True
    for chunk in BUILDERS[dataset](study, filters or Filters()):
        empty = False
        yield chunk
    if empty:
        yield pd.DataFrame({c.name: pd.Series(dtype=_EMPTY_DTYPES[c.type]) for c in dataset_columns(study)[dataset]})


_EMPTY_DTYPES = {"string": "string", "integer": "Int64", "number": "float64", "date": "object",
                 "datetime": "datetime64[us, UTC]", "boolean": "boolean"}

