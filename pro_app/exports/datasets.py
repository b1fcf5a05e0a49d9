"""The analyst data sets' shapes: items, scores, wide, proae and compliance, each built as pandas DataFrames
a chunk of participants at a time (chunks.py) from bulk reads (bulk.py). Column names and meanings are
fixed in columns.py; the codebook (codebook.py) lists them."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import case, func, select

from ..extensions import db
from ..instruments import Instrument
from ..models import Assessment, ItemResponse, Participant, Score, Site, Study, Timepoint
from ..results import datasets as results
from ..vocabulary import NotExpectedReason
from . import adqs, bulk, cdisc, chunks, fhir
from . import columns as C
from .alerts import alerts
from .chunks import ExportError, Filters
from .codebook import codebook, dataset_columns
from .layout import proae_instruments, study_by_code, study_instruments, study_items, study_scales, wide_columns

DATASETS = ("items", "scores", "wide", "proae", "compliance", "subjects", "alerts", "sdtm_qs", "suppqs", "adsl",
            "adqs", "fhir", *results.RESULT_DATASETS, "codebook")

__all__ = ["DATASETS", "ExportError", "Filters", "IDENTIFIER_NAMES", "build", "codebook", "dataset_columns",
           "study_by_code", "study_instruments", "study_items", "study_scales", "wide_columns"]


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
    return bulk.table_rows(ItemResponse, {
        "assessment_id": (ItemResponse.assessment_id, pa.int64()),
        "instrument": (ItemResponse.instrument_id, pa.string()),
        "instrument_version": (ItemResponse.instrument_version, pa.string()),
        "item": (ItemResponse.item_id, pa.string()),
        "value": (ItemResponse.value, pa.int64()),
        "option_code": (ItemResponse.option_code, pa.string()),
        "state": (ItemResponse.state, pa.string()),
        "item_language": (ItemResponse.language, pa.string()),
        "answered_at": (ItemResponse.answered_at, pa.string()),
        "shown_at": (ItemResponse.shown_at, pa.string()),
        "corrected_at": (ItemResponse.corrected_at, pa.string()),
        "correction_reason": (ItemResponse.correction_reason, pa.string()),
    }, assessment_ids)


def items(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    instruments = study_instruments(study)
    item_labels, value_labels = _labels(instruments)
    order = {item_id: n for n, item_id in enumerate(i for inst in instruments for i in inst.item_ids)}
    names = IDENTIFIER_NAMES + [c.name for c in C.ITEM_ROW]
    for base, reads in chunks.participant_chunks(study, filters, lambda ids, _: {"responses": _responses(ids)},
                                                 rows_per_chunk=chunks.CHUNK_ROWS):
        responses = reads["responses"]
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
        frame["corrected"] = frame["corrected_at"].notna().astype("int64")
        frame["corrected_at"] = pd.to_datetime(frame["corrected_at"], utc=True)
        yield frame[names].reset_index(drop=True)


# --- scores ----------------------------------------------------------------------------------------------

def _scores(assessment_ids: list[int]) -> pd.DataFrame:
    return bulk.table_rows(Score, {
        "assessment_id": (Score.assessment_id, pa.int64()),
        "instrument": (Score.instrument_id, pa.string()),
        "instrument_version": (Score.instrument_version, pa.string()),
        "scale": (Score.scale_code, pa.string()),
        "value": (bulk.exact_number(Score.value), pa.float64()),
        "status": (Score.status, pa.string()),
        "n_items": (Score.n_items, pa.int64()),
        "scoring_version": (Score.scoring_version, pa.string()),
    }, assessment_ids)


def _threshold_flags(frame: pd.DataFrame, thresholds: dict, thresholded: set[str]) -> pd.Series:
    """1 / 0 where the study has a threshold for the scale and the scale's instrument takes thresholds
    (`thresholded`: its scales); blank otherwise."""
    below = frame["scale"].map(lambda c: thresholds.get(c, {}).get("below"))
    above = frame["scale"].map(lambda c: thresholds.get(c, {}).get("above"))
    has_rule = (below.notna() | above.notna()) & frame["scale"].isin(thresholded) & frame["value"].notna()
    flagged = (frame["value"] < below.astype(float)) | (frame["value"] > above.astype(float))
    return pd.Series(np.where(has_rule, flagged.astype(int), pd.NA), index=frame.index, dtype="Int64")


def scores(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    instruments = study_instruments(study)
    names = {s.code: s.name.en for inst in instruments for s in inst.scales}
    order = {code: n for n, code in enumerate(c for inst in instruments for c in inst.scale_codes)}
    columns = IDENTIFIER_NAMES + [c.name for c in C.SCORE_ROW]
    thresholds = study.thresholds or {}
    thresholded = {s.code for inst in instruments if inst.takes_thresholds for s in inst.scales}

    def read(assessment_ids: list[int], participant_ids: list[int]) -> dict:
        return {"scores": _scores(assessment_ids), "baseline": _baseline_scores(participant_ids)}

    for base, reads in chunks.participant_chunks(study, filters, read):
        result = reads["scores"]
        if result.empty:
            continue
        frame = base[IDENTIFIER_NAMES + ["completed_date"]].merge(result, on="assessment_id", how="inner")
        frame = frame.assign(_order=frame["scale"].map(order)).sort_values(["participant", "visit", "_order"],
                                                                             kind="stable")
        frame["scale_name"] = frame["scale"].map(names)
        frame["baseline_flag"] = (frame["visit"] == 1).astype("int64")
        frame = frame.merge(reads["baseline"], on=["participant", "scale"], how="left")
        frame["change"] = frame["value"] - frame["baseline_value"]
        frame["threshold_flag"] = _threshold_flags(frame, thresholds, thresholded)
        frame["days_from_target"], frame["in_window"] = _timing(frame)
        frame["n_items"] = frame["n_items"].astype("int64")
        yield frame[columns].reset_index(drop=True)


def _timing(frame: pd.DataFrame) -> tuple[pd.api.extensions.ExtensionArray, pd.api.extensions.ExtensionArray]:
    """Days from the target date to the (site-local) completion day, and whether that day is in the window;
    blank when not completed."""
    completed = frame["completed_date"]
    days = [(c - t).days if pd.notna(c) else pd.NA for c, t in zip(completed, frame["target_date"], strict=True)]
    inside = [(int(s <= c <= e) if pd.notna(c) else pd.NA)
              for c, s, e in zip(completed, frame["window_start"], frame["window_end"], strict=True)]
    return pd.array(days, dtype="Int64"), pd.array(inside, dtype="Int64")


def _baseline_scores(participant_ids: list[int]) -> pd.DataFrame:
    return bulk.query_frame(
        select(Participant.study_code, Score.scale_code, Score.value)
        .join(Assessment, Score.assessment_id == Assessment.id)
        .join(Participant, Assessment.participant_id == Participant.id)
        .join(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .where(Participant.id.in_(participant_ids), Timepoint.position == 1, Assessment.occurrence == 1),
        ["participant", "scale", "baseline_value"])


# --- wide and proae --------------------------------------------------------------------------------------

def wide(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    item_cols, scale_cols = wide_columns(study)

    def read(assessment_ids: list[int], _participants) -> dict:
        # Unanswered items are blank in wide whatever their state, so only answers are read; and the
        # language (the one most answers were given in) is counted in the same pass.
        return {"answers": bulk.fold(ItemResponse, ItemResponse.item_id, ItemResponse.value, assessment_ids,
                                 ItemResponse.state == "answered", extra=chunks.language_counts()),
                "scores": bulk.fold(Score, Score.scale_code, bulk.exact_number(Score.value), assessment_ids,
                                Score.value.is_not(None)),
                "corrected": _corrected_items(assessment_ids)}

    for base, reads in chunks.participant_chunks(study, filters, read, language=False):
        ids = base["assessment_id"].tolist()
        base["corrected_items"] = base["assessment_id"].map(reads["corrected"]).astype("string")
        values = bulk.unfold(reads["answers"], dict.fromkeys(item_cols, pa.int64()), ids)
        base["language"] = chunks.majority_language(values).to_numpy()
        scale_values = bulk.unfold(reads["scores"], dict.fromkeys(scale_cols, pa.float64()), ids)
        yield pd.concat([_identifiers(base).reset_index(drop=True),
                         base[[c.name for c in C.WIDE_ROW]].reset_index(drop=True),
                         values[item_cols].reset_index(drop=True),
                         scale_values.reset_index(drop=True)], axis=1)


def _corrected_items(assessment_ids: list[int]) -> dict[int, str]:
    """Assessment id → the ids of its corrected items, space-separated in item order of storage."""
    rows = db.session.execute(
        select(ItemResponse.assessment_id, ItemResponse.item_id)
        .where(ItemResponse.assessment_id.in_(assessment_ids), ItemResponse.corrected_at.is_not(None))
        .order_by(ItemResponse.assessment_id, ItemResponse.id)).all()
    out: dict[int, list[str]] = {}
    for assessment_id, item_id in rows:
        out.setdefault(assessment_id, []).append(item_id)
    return {k: " ".join(v) for k, v in out.items()}


def proae(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    """The graded symptom items (an instrument asked by term, such as PRO-CTCAE) and their composites in the
    shape the ProAE R package reads: `id`, `Cycle`, then the item columns (branched items written as 0, as
    ProAE expects) and the composite grades."""
    instruments = proae_instruments(study)
    if not instruments:
        return
    ids = [i.id for i in instruments]
    item_cols = [c for i in instruments for c in study_items(study, i)]
    scale_cols = [c for i in instruments for c in study_scales(study, i)]
    value = case((ItemResponse.state == "branched", 0), else_=ItemResponse.value)

    def read(assessment_ids: list[int], _participants) -> dict:
        return {"answers": bulk.fold(ItemResponse, ItemResponse.item_id, value, assessment_ids,
                                     ItemResponse.instrument_id.in_(ids), extra=(func.count().label("n_rows"),)),
                "grades": bulk.fold(Score, Score.scale_code, bulk.exact_number(Score.value), assessment_ids,
                                    Score.instrument_id.in_(ids))}

    for base, reads in chunks.participant_chunks(study, filters, read, language=False):
        values = bulk.unfold(reads["answers"], dict.fromkeys(item_cols, pa.int64()), base["assessment_id"].tolist())
        started = values["n_rows"].notna().to_numpy()  # assessments with one of these items shown or skipped
        if not started.any():
            continue
        keys = base[started]
        grades = bulk.unfold(reads["grades"], dict.fromkeys(scale_cols, pa.float64()),
                             keys["assessment_id"].tolist()).astype("Int64")
        frame = pd.DataFrame({"id": keys["participant"].to_numpy(), "Cycle": keys["visit"].to_numpy(),
                              "timepoint": keys["timepoint"].to_numpy(), "site": keys["site"].to_numpy(),
                              "completed_at": keys["completed_at"].to_numpy()})
        yield pd.concat([frame, values[started][item_cols].reset_index(drop=True), grades.reset_index(drop=True)],
                        axis=1)


# --- subjects --------------------------------------------------------------------------------------------

def subjects(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    """One row per participant: the subject-level facts (arm, consent, anchor, withdrawal, death). Of the
    filters only the sites apply (the others select assessments)."""
    stmt = (select(Site.code, Participant.study_code, Participant.arm, Participant.language,
                   Participant.consent_date, Participant.anchor_date, bulk.as_stored(Participant.created_at),
                   Participant.status, Participant.withdrawn_on, Participant.withdrawn_reason,
                   Participant.follow_up_continues, Participant.death_date, Participant.treatment_end)
            .join(Site, Participant.site_id == Site.id)
            .where(Participant.study_id == study.id).order_by(Participant.study_code))
    if filters.sites:
        stmt = stmt.where(Site.code.in_(filters.sites))
    names = ["site", "participant", "arm", "language", "consent_date", "anchor_date", "enrolled_at", "status",
             "withdrawn_on", "withdrawn_reason", "follow_up_continues", "death_date", "treatment_end"]
    rows = db.session.execute(stmt).all()
    for start in range(0, len(rows), chunks.CHUNK_PARTICIPANTS * 10):
        frame = bulk.rows_frame(rows[start:start + chunks.CHUNK_PARTICIPANTS * 10], names)
        frame.insert(0, "study", study.code)
        for column in ("site", "participant", "arm", "language", "status", "withdrawn_reason"):
            frame[column] = frame[column].astype("string")
        frame["enrolled_at"] = pd.to_datetime(frame["enrolled_at"], utc=True).astype("datetime64[us, UTC]")
        for column in ("consent_date", "anchor_date", "withdrawn_on", "death_date", "treatment_end"):  # dates
            frame[column] = pd.array(frame[column].tolist(), dtype=pd.ArrowDtype(pa.date32()))
        frame["follow_up_continues"] = frame["follow_up_continues"].fillna(False).astype(bool).astype("int64")
        yield frame[[c.name for c in C.SUBJECTS]].reset_index(drop=True)


# --- compliance ------------------------------------------------------------------------------------------

def compliance(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    columns = IDENTIFIER_NAMES + [c.name for c in C.COMPLIANCE_ROW]

    def read(assessment_ids: list[int], _participants) -> dict:
        return {"states": bulk.query_frame(
            select(ItemResponse.assessment_id, ItemResponse.state, func.count())
            .where(ItemResponse.assessment_id.in_(assessment_ids))
            .group_by(ItemResponse.assessment_id, ItemResponse.state), ["assessment_id", "state", "n"])}

    for base, reads in chunks.participant_chunks(study, filters, read):
        counts = reads["states"].pivot_table(index="assessment_id", columns="state", values="n", aggfunc="sum",
                                             fill_value=0)
        answered = counts.get("answered", pd.Series(dtype="int64"))
        asked = counts.drop(columns=[c for c in ("branched",) if c in counts.columns]).sum(axis=1)
        frame = base.copy()
        frame["items_answered"] = frame["assessment_id"].map(answered).fillna(0).astype("int64")
        frame["items_asked"] = frame["assessment_id"].map(asked).fillna(0).astype("int64")
        frame["not_expected_reason"] = not_expected_reasons(frame)
        frame["expected"] = frame["not_expected_reason"].isna().astype("int64")
        frame["received"] = frame["assessment_status"].isin(("completed", "partial")).astype("int64")
        yield frame[columns].reset_index(drop=True)


def not_expected_reasons(frame: pd.DataFrame) -> np.ndarray:
    """CONSORT-PRO: an assessment is expected only while the participant is alive and on study, once its
    window has opened. One with nothing given (still `scheduled`) whose window ended on or after the death
    date is `died`; on or after the withdrawal date, without follow-up continuing, `withdrawn` (a withdrawal
    with no date recorded counts for every assessment with nothing given); a window not yet open is
    `window_not_open`. Anything given (answers, not done with a reason) stays expected. An unscheduled
    assessment is never expected (so never missed): `unscheduled`."""
    nothing_given = frame["stored_status"].isin(("scheduled", "missed")).to_numpy()
    window_end = frame["window_end"]
    died = nothing_given & _on_or_before(frame["death_date"], window_end)
    followed = frame["follow_up_continues"].fillna(False).astype(bool).to_numpy()
    undated = frame["withdrawn_on"].isna().to_numpy()
    withdrawn_undated = (frame["participant_status"] == "withdrawn").to_numpy() & undated
    withdrawn = nothing_given & ~followed & (_on_or_before(frame["withdrawn_on"], window_end) | withdrawn_undated)
    not_open = (frame["today"] < frame["window_start"]).to_numpy()
    unscheduled = frame["unscheduled"].to_numpy(dtype=bool)
    return np.select([unscheduled, died, withdrawn, not_open],
                     [NotExpectedReason.UNSCHEDULED.value, NotExpectedReason.DIED.value,
                      NotExpectedReason.WITHDRAWN.value, NotExpectedReason.WINDOW_NOT_OPEN.value], default=None)


def _on_or_before(day: pd.Series, limit: pd.Series) -> np.ndarray:
    """Where `day` (a date, or blank) is on or before `limit`."""
    return np.array([d is not None and d == d and d <= end for d, end in zip(day, limit, strict=True)], dtype=bool)


BUILDERS = {"items": items, "scores": scores, "wide": wide, "proae": proae, "compliance": compliance,
            "subjects": subjects, "alerts": alerts, "sdtm_qs": cdisc.sdtm_qs, "suppqs": cdisc.suppqs,
            "adsl": cdisc.adsl, "adqs": adqs.adqs, "fhir": fhir.fhir, "codebook": codebook, **results.BUILDERS}


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

