"""The analyst data sets, built as pandas DataFrames in chunks of participants so that any study size
exports within bounded memory. Column names and meanings are fixed in columns.py."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json
from sqlalchemy import DateTime, Text, bindparam, case, cast, func, literal, select, type_coerce

from ..assessments.schedule import local_today
from ..database import UTCDateTime, utcnow
from ..extensions import db
from ..instruments import Instrument, get_registry
from ..instruments.model import LANGUAGES
from ..models import Assessment, ItemResponse, Participant, Score, Site, Study, Timepoint
from . import columns as C
from .ahead import built_ahead

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
    return _frame_of(db.session.execute(stmt).all(), columns)


def _frame_of(rows: list, columns: list[str]) -> pd.DataFrame:
    """Rows as a DataFrame, built column by column: pandas inspects every SQLAlchemy Row object it is
    given one by one, which costs more than the query itself on large exports."""
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

ASSESSMENT_COLUMNS = ["assessment_id", "participant_id", "participant", "participant_status", "site", "timezone",
                      "timepoint", "visit", "target_date", "window_start", "window_end", "stored_status",
                      "started_at", "completed_at", "mode", "not_done_reason"]


def _assessment_rows(study_id: int, filters: Filters, participant_ids: list[int]) -> list:
    """The assessments of the given participants that the filters keep, in export order."""
    stmt = (
        select(Assessment.id, Participant.id, Participant.study_code, Participant.status, Site.code, Site.timezone,
               Timepoint.code, Timepoint.position, Assessment.target_date, Assessment.window_start,
               Assessment.window_end, Assessment.status, _as_stored(Assessment.started_at),
               _as_stored(Assessment.completed_at), Assessment.mode, Assessment.not_done_reason)
        .join(Participant, Assessment.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .join(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .where(Participant.study_id == study_id, Participant.id.in_(bindparam("participant_ids", expanding=True)))
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
    return db.session.execute(stmt, {"participant_ids": participant_ids}).all()


def _assessment_frame(study_code: str, rows: list) -> pd.DataFrame:
    """One row per assessment with its identifiers (language added later) and what follows from the dates."""
    frame = _frame_of(rows, ASSESSMENT_COLUMNS)
    frame.insert(0, "study", study_code)
    now = utcnow()
    today = frame["timezone"].map({zone: local_today(zone, now) for zone in frame["timezone"].unique()})
    open_or_missed = np.where(today > frame["window_end"], "missed",
                              np.where(today >= frame["window_start"], "open", "scheduled"))
    frame["assessment_status"] = np.where(frame["stored_status"] == "scheduled", open_or_missed,
                                          frame["stored_status"])
    frame["today"] = today
    for column in ("started_at", "completed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    # Windows are site-local calendar days: so is the day an assessment was completed.
    completed_date = pd.Series(None, index=frame.index, dtype=object)
    for zone, rows_of_zone in frame.groupby("timezone").groups.items():
        local = frame.loc[rows_of_zone, "completed_at"].dt.tz_convert(zone)
        completed_date[rows_of_zone] = np.where(local.notna(), local.dt.date, None)
    frame["completed_date"] = completed_date
    return frame


def _language_counts() -> tuple:
    """Per language, how many of the rows of a group were shown in it; with `state = 'answered'` in the
    WHERE clause, how many of an assessment's answers were given in it."""
    return tuple(func.sum(case((ItemResponse.language == lang, 1), else_=0)).label(f"n_{lang}")
                 for lang in LANGUAGES)


def _majority_language(counts: pd.DataFrame) -> pd.Series:
    """The language most items were answered in (a tie goes to the first in alphabetical order); blank
    when none was answered (or the assessment has no row in `counts`: NaN)."""
    languages = sorted(LANGUAGES)
    n = counts[[f"n_{lang}" for lang in languages]].fillna(0).to_numpy(dtype="int64")
    best = np.asarray(languages, dtype=object)[n.argmax(axis=1)]
    return pd.Series(np.where(n.max(axis=1) > 0, best, None), index=counts.index, dtype="string")


def _language_rows(assessment_ids: list[int]) -> list:
    return db.session.execute(
        select(ItemResponse.assessment_id, *_language_counts())
        .where(ItemResponse.assessment_id.in_(assessment_ids), ItemResponse.state == "answered")
        .group_by(ItemResponse.assessment_id)).all()


Reads = Callable[[list[int], list[int]], dict]


def _participant_chunks(study: Study, filters: Filters, read: Reads | None = None,
                        language: bool = True) -> Iterator[tuple[pd.DataFrame, dict]]:
    """The assessments of a chunk of participants at a time, with what `read(assessment_ids,
    participant_ids)` fetched for them (and, with `language`, the language each was answered in).

    Every database read of the chunks (the assessments' and `read`'s) runs one chunk ahead in a thread of
    its own (see ahead.py) while the caller shapes and writes the chunk before: the database works without
    holding the GIL, so on two cores reading overlaps the rest. While the chunks are iterated, the caller
    must not touch the database session itself.
    """
    study_id, study_code = study.id, study.code
    participant_ids = db.session.scalars(
        select(Participant.id).where(Participant.study_id == study_id).order_by(Participant.study_code)
    ).all()

    def fetch() -> Iterator[tuple[list, dict]]:
        for start in range(0, len(participant_ids), CHUNK_PARTICIPANTS):
            chunk = list(participant_ids[start:start + CHUNK_PARTICIPANTS])
            rows = _assessment_rows(study_id, filters, chunk)
            if not rows:
                continue
            assessment_ids = [row[0] for row in rows]
            reads = read(assessment_ids, chunk) if read else {}
            if language:
                reads["languages"] = _language_rows(assessment_ids)
            yield rows, reads

    for rows, reads in built_ahead(fetch()):
        frame = _assessment_frame(study_code, rows)
        if language:
            counts = _frame_of(reads.pop("languages"), ["assessment_id"] + [f"n_{lang}" for lang in LANGUAGES])
            frame["language"] = frame["assessment_id"].map(_majority_language(counts.set_index("assessment_id")))
            frame["language"] = frame["language"].astype("string")
        yield frame, reads


# --- one row per assessment, folded by the database ------------------------------------------------------

def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _json_object(key, value):
    """The rows of a group folded into one JSON object {key: value}, as text."""
    if _dialect() == "postgresql":
        return cast(func.json_object_agg(key, value), Text)
    return func.json_group_object(key, value)


def _exact_number(column):
    """A float for _json_object that reads back as the same double. SQLite's JSON functions keep 15
    significant digits (66.6666666666667), so the value goes in as a 17-digit JSON number, which always
    reads back exactly; PostgreSQL writes the shortest exact form itself."""
    if _dialect() == "postgresql":
        return column
    return case((column.is_(None), None), else_=func.json(func.printf("%!.17g", column)))


class Folded(NamedTuple):
    lines: str | None  # a JSON object per line, one line per assessment (None: no rows)
    extra: list[str]  # the names of the extra aggregates in every object


def _fold(table, key, value, assessment_ids: list[int], *where, extra: tuple = ()) -> Folded:
    """The given assessments' rows folded by the database into one text of one line per assessment,
    each a JSON object: {"_id": assessment id, <extra label>: <extra aggregate>, ..., <key>: <value>, ...}.

    The database does all of it in one step, without Python: millions of item rows reach Python as one
    string per chunk, and a thread reading ahead (see _participant_chunks) hardly needs the GIL.
    """
    head = literal('{"_id":', Text) + cast(table.assessment_id, Text)
    for aggregate in extra:
        head = head + f',"{aggregate.name}":' + cast(aggregate.element, Text)
    line = head + "," + func.substr(_json_object(key, value), 2, type_=Text)  # the object without its {
    lines = (select(line.label("line")).where(table.assessment_id.in_(bindparam("ids", expanding=True)), *where)
             .group_by(table.assessment_id))
    return Folded(_joined(lines, ids=assessment_ids), [aggregate.name for aggregate in extra])


def _joined(lines, **params) -> str | None:
    """The one-column query's texts joined by newlines, by the database (None: no rows)."""
    lines = lines.subquery()
    return db.session.scalar(select(func.aggregate_strings(lines.c.line, "\n")), params)


def _parsed(lines: str | None, schema: pa.Schema) -> pa.Table:
    """JSON objects, one per line, as a table of the schema's columns (other keys are left out), parsed
    by pyarrow all at once."""
    if not lines:
        return schema.empty_table()
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    return pa_json.read_json(io.BytesIO(lines.encode("utf-8")), parse_options=options)


def _unfold(folded: Folded, columns: dict[str, pa.DataType], assessment_ids: list[int]) -> pd.DataFrame:
    """_fold's objects as a frame: one row per assessment id (in the order given, blank where the
    assessment had no rows), one typed column per key of `columns`, then the extra aggregates."""
    schema = pa.schema([("_id", pa.int64()), *((name, pa.int64()) for name in folded.extra), *columns.items()])
    parsed = _parsed(folded.lines, schema)
    frame = parsed.select(list(columns) + folded.extra).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    frame.index = pd.Index(parsed.column("_id").to_numpy(), dtype="int64")
    return frame.reindex(assessment_ids)


def _json_row(names_and_values: list):
    """One row as a JSON object {name: value, ...}, as text, built by the database."""
    if _dialect() == "postgresql":
        return cast(func.json_build_object(*names_and_values), Text)
    return func.json_object(*names_and_values)


def _rows(table, fields: dict[str, tuple], assessment_ids: list[int]) -> pd.DataFrame:
    """The given assessments' rows of `table` as a frame of typed columns ({name: (column, Arrow type)};
    one of them `assessment_id`), in the table's id order. The database writes each row as a JSON object
    and hands over all of them in one string, which pyarrow parses at once: no Python object per row (a
    chunk of the items data set is a quarter of a million rows). Timestamps come as their text and are
    parsed by pandas, as UTC."""
    pairs = [("_row", table.id)] + [(name, column) for name, (column, _) in fields.items()]
    row = _json_row([part for name, column in pairs for part in (literal(name, Text), _as_stored(column))])
    schema = pa.schema([("_row", pa.int64())] + [(name, kind) for name, (_, kind) in fields.items()])
    lines = select(row.label("line")).where(table.assessment_id.in_(bindparam("ids", expanding=True)))
    parsed = _parsed(_joined(lines, ids=assessment_ids), schema).sort_by("_row")
    frame = parsed.select(list(fields)).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    for name, (column, _) in fields.items():
        if isinstance(column.type, UTCDateTime):
            frame[name] = pd.to_datetime(frame[name], format="ISO8601", utc=True).astype("datetime64[us, UTC]")
    frame["assessment_id"] = frame["assessment_id"].astype("int64")
    return frame


def _as_stored(column):
    """A column as the database keeps it: a UTC timestamp as its text (SQLite) or timestamptz (PostgreSQL),
    without UTCDateTime's per-value Python."""
    return type_coerce(column, DateTime(timezone=True)) if isinstance(getattr(column, "type", None), UTCDateTime) \
        else column


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
    return _rows(ItemResponse, {
        "assessment_id": (ItemResponse.assessment_id, pa.int64()),
        "instrument": (ItemResponse.instrument_id, pa.string()),
        "instrument_version": (ItemResponse.instrument_version, pa.string()),
        "item": (ItemResponse.item_id, pa.string()),
        "value": (ItemResponse.value, pa.int64()),
        "option_code": (ItemResponse.option_code, pa.string()),
        "state": (ItemResponse.state, pa.string()),
        "item_language": (ItemResponse.language, pa.string()),
        "answered_at": (ItemResponse.answered_at, pa.string()),
    }, assessment_ids)


def items(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    instruments = study_instruments(study)
    item_labels, value_labels = _labels(instruments)
    order = {item_id: n for n, item_id in enumerate(i for inst in instruments for i in inst.item_ids)}
    names = IDENTIFIER_NAMES + [c.name for c in C.ITEM_ROW]
    for base, reads in _participant_chunks(study, filters, lambda ids, _: {"responses": _responses(ids)}):
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
        yield frame[names].reset_index(drop=True)


# --- scores ----------------------------------------------------------------------------------------------

def _scores(assessment_ids: list[int]) -> pd.DataFrame:
    return _rows(Score, {
        "assessment_id": (Score.assessment_id, pa.int64()),
        "instrument": (Score.instrument_id, pa.string()),
        "instrument_version": (Score.instrument_version, pa.string()),
        "scale": (Score.scale_code, pa.string()),
        "value": (_exact_number(Score.value), pa.float64()),
        "status": (Score.status, pa.string()),
        "n_items": (Score.n_items, pa.int64()),
        "scoring_version": (Score.scoring_version, pa.string()),
    }, assessment_ids)


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
    thresholds = study.thresholds or {}

    def read(assessment_ids: list[int], participant_ids: list[int]) -> dict:
        return {"scores": _scores(assessment_ids), "baseline": _baseline_scores(participant_ids)}

    for base, reads in _participant_chunks(study, filters, read):
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
        frame["threshold_flag"] = _threshold_flags(frame, thresholds)
        completed = frame["completed_date"]
        days = [(c - t).days if pd.notna(c) else pd.NA for c, t in zip(completed, frame["target_date"], strict=True)]
        frame["days_from_target"] = pd.array(days, dtype="Int64")
        inside = [(int(s <= c <= e) if pd.notna(c) else pd.NA)
                  for c, s, e in zip(completed, frame["window_start"], frame["window_end"], strict=True)]
        frame["in_window"] = pd.array(inside, dtype="Int64")
        frame["n_items"] = frame["n_items"].astype("int64")
        yield frame[columns].reset_index(drop=True)


def _baseline_scores(participant_ids: list[int]) -> pd.DataFrame:
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

    def read(assessment_ids: list[int], _participants) -> dict:
        # Unanswered items are blank in wide whatever their state, so only answers are read; and the
        # language (the one most answers were given in) is counted in the same pass.
        return {"answers": _fold(ItemResponse, ItemResponse.item_id, ItemResponse.value, assessment_ids,
                                 ItemResponse.state == "answered", extra=_language_counts()),
                "scores": _fold(Score, Score.scale_code, _exact_number(Score.value), assessment_ids,
                                Score.value.is_not(None))}

    for base, reads in _participant_chunks(study, filters, read, language=False):
        ids = base["assessment_id"].tolist()
        values = _unfold(reads["answers"], dict.fromkeys(item_cols, pa.int64()), ids)
        base["language"] = _majority_language(values).to_numpy()
        scale_values = _unfold(reads["scores"], dict.fromkeys(scale_cols, pa.float64()), ids)
        yield pd.concat([_identifiers(base).reset_index(drop=True), values[item_cols].reset_index(drop=True),
                         scale_values.reset_index(drop=True)], axis=1)


def proae(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    """PRO-CTCAE items and composites in the shape the ProAE R package reads: `id`, `Cycle`, then
    PROCTCAE_* item columns (branched items written as 0, as ProAE expects) and PROCTCAE_<n>_COMP."""
    registry = get_registry()
    if "pro_ctcae" not in [i.id for i in study_instruments(study)]:
        return
    pro_ctcae = registry.get("pro_ctcae")
    item_cols = list(study_items(study, pro_ctcae))
    scale_cols = list(study_scales(study, pro_ctcae))
    value = case((ItemResponse.state == "branched", 0), else_=ItemResponse.value)

    def read(assessment_ids: list[int], _participants) -> dict:
        return {"answers": _fold(ItemResponse, ItemResponse.item_id, value, assessment_ids,
                                 ItemResponse.instrument_id == "pro_ctcae", extra=(func.count().label("n_rows"),)),
                "grades": _fold(Score, Score.scale_code, _exact_number(Score.value), assessment_ids,
                                Score.instrument_id == "pro_ctcae")}

    for base, reads in _participant_chunks(study, filters, read, language=False):
        values = _unfold(reads["answers"], dict.fromkeys(item_cols, pa.int64()), base["assessment_id"].tolist())
        started = values["n_rows"].notna().to_numpy()  # assessments with a PRO-CTCAE item shown or skipped
        if not started.any():
            continue
        keys = base[started]
        grades = _unfold(reads["grades"], dict.fromkeys(scale_cols, pa.float64()),
                         keys["assessment_id"].tolist()).astype("Int64")
        frame = pd.DataFrame({"id": keys["participant"].to_numpy(), "Cycle": keys["visit"].to_numpy(),
                              "timepoint": keys["timepoint"].to_numpy(), "site": keys["site"].to_numpy(),
                              "completed_at": keys["completed_at"].to_numpy()})
        yield pd.concat([frame, values[started][item_cols].reset_index(drop=True), grades.reset_index(drop=True)],
                        axis=1)


# --- compliance ------------------------------------------------------------------------------------------

def compliance(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    columns = IDENTIFIER_NAMES + [c.name for c in C.COMPLIANCE_ROW]

    def read(assessment_ids: list[int], _participants) -> dict:
        return {"states": _frame(
            select(ItemResponse.assessment_id, ItemResponse.state, func.count())
            .where(ItemResponse.assessment_id.in_(assessment_ids))
            .group_by(ItemResponse.assessment_id, ItemResponse.state), ["assessment_id", "state", "n"])}

    for base, reads in _participant_chunks(study, filters, read):
        counts = reads["states"].pivot_table(index="assessment_id", columns="state", values="n", aggfunc="sum",
                                             fill_value=0)
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

