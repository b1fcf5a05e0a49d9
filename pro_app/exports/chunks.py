"""The assessments behind every data set, a chunk of participants at a time (bounded memory for any study
size), with the filters an export takes; each chunk's reads run one chunk ahead (ahead.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, case, func, or_, select
from sqlalchemy.orm import aliased

from ..assessments.schedule import UNSCHEDULED, VISIT, local_today
from ..assessments.status import displayed_statuses
from ..clock import utcnow
from ..extensions import db
from ..instruments.model import LANGUAGES
from ..models import Assessment, ItemResponse, Participant, Site, Study, Timepoint, User
from ..visits import visit_name
from . import bulk
from .ahead import built_ahead

#: participants per chunk of assessments (a few thousand assessment rows)
CHUNK_PARTICIPANTS = 500

#: a data set of one row per item response (items) is read and written at most about this many item rows at
#: a time: a chunk of 500 participants can hold a quarter of a million of them, which took the export process
#: some 800 MB (the rows' JSON text, its parse, the frame, its sort and its CSV text, with the next chunk read
#: ahead); a chunk stops before the participant that would take it beyond this (one participant always goes
#: whole, so a chunk is never larger than the budget or one participant's rows)
CHUNK_ROWS = 50_000


class ExportError(ValueError):
    """A request for data that cannot be served (unknown study, data set or filter)."""


class FilterError(ExportError):
    """A filter that can keep nothing: an unknown site or timepoint, or a date range empty by construction.
    The message lists the valid values (the CLI exits 2 with it, the API answers 400)."""


def check_filters(study: Study, filters: Filters) -> None:
    """Refuse filters naming what the study does not have (FilterError, valid values listed)."""
    problems = []
    for label, option, model, wanted in (("site", "site", Site, filters.sites),
                                         ("timepoint", "timepoint", Timepoint, filters.timepoints)):
        if not wanted:
            continue
        known = list(db.session.scalars(select(model.code).where(model.study_id == study.id).order_by(model.code)))
        if model is Timepoint:
            known.append(UNSCHEDULED)
        unknown = [w for w in wanted if w not in known]
        if unknown:
            problems.append(f"unknown {label} {', '.join(map(repr, unknown))} in study {study.code} "
                            f"(valid {option} values: {', '.join(known) or 'none'})")
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        problems.append(f"the date range is empty: from {filters.date_from.isoformat()} is later than "
                        f"to {filters.date_to.isoformat()} (give from on or before to)")
    if problems:
        raise FilterError("; ".join(problems))


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


ASSESSMENT_COLUMNS = ["assessment_id", "participant_id", "participant", "participant_status", "site", "timezone",
                      "timepoint", "position", "timepoint_label", "repeats", "occurrence", "unscheduled_reason",
                      "asked", "visit", "target_date", "window_start", "window_end", "stored_status",
                      "started_at", "completed_at", "mode", "not_done_reason", "withdrawn_on", "follow_up_continues",
                      "death_date", "early", "administered_by", "keyed_at", "entered_by", "verified_by"]


#: The staff who keyed a paper form, and who keyed it a second time.
ENTERED_BY, VERIFIED_BY = aliased(User), aliased(User)


def _assessment_rows(study_id: int, filters: Filters, participant_ids: list[int]) -> list:
    """The assessments of the given participants that the filters keep, in export order."""
    stmt = (
        select(Assessment.id, Participant.id, Participant.study_code, Participant.status, Site.code, Site.timezone,
               Timepoint.code, Timepoint.position, Timepoint.label, Timepoint.repeat_every.is_not(None),
               Assessment.occurrence, Assessment.unscheduled_reason, Assessment.asked, VISIT, Assessment.target_date,
               Assessment.window_start,
               Assessment.window_end, Assessment.status, bulk.as_stored(Assessment.started_at),
               bulk.as_stored(Assessment.completed_at), Assessment.mode, Assessment.not_done_reason,
               Participant.withdrawn_on, Participant.follow_up_continues, Participant.death_date,
               Assessment.early, Assessment.administered_by, bulk.as_stored(Assessment.keyed_at),
               ENTERED_BY.email, VERIFIED_BY.email)
        .join(Participant, Assessment.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .outerjoin(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .outerjoin(ENTERED_BY, Assessment.entered_by_id == ENTERED_BY.id)
        .outerjoin(VERIFIED_BY, Assessment.verified_by_id == VERIFIED_BY.id)
        .where(Participant.study_id == study_id, Participant.id.in_(bindparam("participant_ids", expanding=True)))
        .order_by(Participant.study_code, VISIT, Assessment.id)
    )
    return db.session.execute(filtered(stmt, filters), {"participant_ids": participant_ids}).all()


def filtered(stmt, filters: Filters):
    """A query of assessments (joined to their site and timepoint) narrowed to the export's filters (a timepoint
    filter keeps scheduled assessments of those timepoints only; `unscheduled` keeps the unscheduled ones)."""
    if filters.sites:
        stmt = stmt.where(Site.code.in_(filters.sites))
    if filters.timepoints:
        named = Timepoint.code.in_([t for t in filters.timepoints if t != UNSCHEDULED])
        stmt = stmt.where(or_(named, Assessment.timepoint_id.is_(None)) if UNSCHEDULED in filters.timepoints
                          else named)
    if filters.date_from:
        stmt = stmt.where(Assessment.target_date >= filters.date_from)
    if filters.date_to:
        stmt = stmt.where(Assessment.target_date <= filters.date_to)
    return stmt


def _assessment_frame(study_code: str, rows: list) -> pd.DataFrame:
    """One row per assessment with its identifiers (language added later) and what follows from the dates."""
    frame = bulk.rows_frame(rows, ASSESSMENT_COLUMNS)
    frame.insert(0, "study", study_code)
    with_visit_names(frame)
    now = utcnow()
    today = frame["timezone"].map({zone: local_today(zone, now) for zone in frame["timezone"].unique()})
    frame["early"] = frame["early"].fillna(False).astype(bool).astype("int64")
    frame["assessment_status"] = displayed_statuses(frame["stored_status"], frame["window_start"],
                                                    frame["window_end"], today, frame["early"].astype(bool))
    frame["today"] = today
    for column in ("started_at", "completed_at", "keyed_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    # Windows are site-local calendar days: so is the day an assessment was completed.
    completed_date = pd.Series(None, index=frame.index, dtype=object)
    for zone, rows_of_zone in frame.groupby("timezone").groups.items():
        local = frame.loc[rows_of_zone, "completed_at"].dt.tz_convert(zone)
        completed_date[rows_of_zone] = np.where(local.notna(), local.dt.date, None)
    frame["completed_date"] = completed_date
    return frame


def with_visit_names(frame: pd.DataFrame) -> None:
    """Give a frame of assessments (visit, timepoint, timepoint_label, repeats, occurrence) its visit numbers
    rounded as written, the `unscheduled` flag and each visit's name (visits.py)."""
    frame["visit"] = frame["visit"].astype("float64").round(2)
    frame["unscheduled"] = frame["timepoint"].isna()
    frame["repeats"] = frame["repeats"].fillna(False).astype(bool)
    frame["visit_name"] = pd.Series(
        [visit_name(v, label or "", int(k), bool(r), bool(u)) for v, label, k, r, u in
         zip(frame["visit"], frame["timepoint_label"], frame["occurrence"], frame["repeats"], frame["unscheduled"],
             strict=True)], index=frame.index, dtype="string")


def language_counts() -> tuple:
    """Per language, how many of the rows of a group were shown in it; with `state = 'answered'` in the
    WHERE clause, how many of an assessment's answers were given in it."""
    return tuple(func.sum(case((ItemResponse.language == lang, 1), else_=0)).label(f"n_{lang}")
                 for lang in LANGUAGES)


def majority_language(counts: pd.DataFrame) -> pd.Series:
    """The language most items were answered in (a tie goes to the first in alphabetical order); blank
    when none was answered (or the assessment has no row in `counts`: NaN)."""
    languages = sorted(LANGUAGES)
    n = counts[[f"n_{lang}" for lang in languages]].fillna(0).to_numpy(dtype="int64")
    best = np.asarray(languages, dtype=object)[n.argmax(axis=1)]
    return pd.Series(np.where(n.max(axis=1) > 0, best, None), index=counts.index, dtype="string")


def _language_rows(assessment_ids: list[int]) -> list:
    return db.session.execute(
        select(ItemResponse.assessment_id, *language_counts())
        .where(ItemResponse.assessment_id.in_(assessment_ids), ItemResponse.state == "answered")
        .group_by(ItemResponse.assessment_id)).all()


def item_row_counts(assessment_ids: list[int]) -> dict[int, int]:
    """Assessment id -> its number of item_response rows (answered, declined, branched, ...)."""
    return dict(db.session.execute(
        select(ItemResponse.assessment_id, func.count())
        .where(ItemResponse.assessment_id.in_(assessment_ids))
        .group_by(ItemResponse.assessment_id)).all())


def by_row_budget(rows: list, counts: dict[int, int], budget: int) -> Iterator[list]:
    """The assessment rows (in export order, a participant's together) cut into runs of whole participants of
    at most `budget` counted rows (a participant with more goes alone)."""
    run: list = []
    held = 0
    start = 0
    while start < len(rows):
        end = start
        participant = rows[start][1]
        while end < len(rows) and rows[end][1] == participant:
            end += 1
        weight = sum(counts.get(row[0], 0) for row in rows[start:end])
        if run and held + weight > budget:
            yield run
            run, held = [], 0
        run.extend(rows[start:end])
        held += weight
        start = end
    if run:
        yield run


Reads = Callable[[list[int], list[int]], dict]


def participant_chunks(study: Study, filters: Filters, read: Reads | None = None,
                        language: bool = True, rows_per_chunk: int | None = None
                        ) -> Iterator[tuple[pd.DataFrame, dict]]:
    """The assessments of a chunk of participants at a time, with what `read(assessment_ids,
    participant_ids)` fetched for them (and, with `language`, the language each was answered in).
    With `rows_per_chunk` (a data set of one row per item response), a chunk holds at most that many item
    rows, or one participant's (see CHUNK_ROWS).

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
            runs = (by_row_budget(rows, item_row_counts([row[0] for row in rows]), rows_per_chunk)
                    if rows_per_chunk else (rows,))
            for run in runs:
                assessment_ids = [row[0] for row in run]
                participants = list(dict.fromkeys(row[1] for row in run)) if rows_per_chunk else chunk
                reads = read(assessment_ids, participants) if read else {}
                if language:
                    reads["languages"] = _language_rows(assessment_ids)
                yield run, reads

    for rows, reads in built_ahead(fetch()):
        frame = _assessment_frame(study_code, rows)
        if language:
            counts = bulk.rows_frame(reads.pop("languages"), ["assessment_id"] + [f"n_{lang}" for lang in LANGUAGES])
            frame["language"] = frame["assessment_id"].map(majority_language(counts.set_index("assessment_id")))
            frame["language"] = frame["language"].astype("string")
        yield frame, reads
