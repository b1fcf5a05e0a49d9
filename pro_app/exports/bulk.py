"""The exports' bulk reads: rows reach pandas without a Python object per row.

The database folds rows into JSON text (one object per assessment, or per row), pyarrow parses a whole
chunk at once; the SQLite and PostgreSQL spellings of each step are here and nowhere else.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
from sqlalchemy import DateTime, Text, bindparam, case, cast, func, literal, select, type_coerce

from ..database import UTCDateTime
from ..extensions import db


def query_frame(stmt, columns: list[str]) -> pd.DataFrame:
    return rows_frame(db.session.execute(stmt).all(), columns)


def rows_frame(rows: list, columns: list[str]) -> pd.DataFrame:
    """Rows as a DataFrame, built column by column: pandas inspects every SQLAlchemy Row object it is
    given one by one, which costs more than the query itself on large exports."""
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.DataFrame(dict(zip(columns, (list(c) for c in zip(*rows, strict=True)), strict=True)))


def dialect() -> str:
    return db.session.get_bind().dialect.name


def json_object(key, value):
    """The rows of a group folded into one JSON object {key: value}, as text."""
    if dialect() == "postgresql":
        return cast(func.json_object_agg(key, value), Text)
    return func.json_group_object(key, value)


def exact_number(column):
    """A float for json_object that reads back as the same double. SQLite's JSON functions keep 15
    significant digits (66.6666666666667), so the value goes in as a 17-digit JSON number, which always
    reads back exactly; PostgreSQL writes the shortest exact form itself."""
    if dialect() == "postgresql":
        return column
    return case((column.is_(None), None), else_=func.json(func.printf("%!.17g", column)))


class Folded(NamedTuple):
    lines: str | None  # a JSON object per line, one line per assessment (None: no rows)
    extra: list[str]  # the names of the extra aggregates in every object


def fold(table, key, value, assessment_ids: list[int], *where, extra: tuple = ()) -> Folded:
    """The given assessments' rows folded by the database into one text of one line per assessment,
    each a JSON object: {"_id": assessment id, <extra label>: <extra aggregate>, ..., <key>: <value>, ...}.

    The database does all of it in one step, without Python: millions of item rows reach Python as one
    string per chunk, and a thread reading ahead (see participant_chunks) hardly needs the GIL.
    """
    head = literal('{"_id":', Text) + cast(table.assessment_id, Text)
    for aggregate in extra:
        head = head + f',"{aggregate.name}":' + cast(aggregate.element, Text)
    line = head + "," + func.substr(json_object(key, value), 2, type_=Text)  # the object without its {
    lines = (select(line.label("line")).where(table.assessment_id.in_(bindparam("ids", expanding=True)), *where)
             .group_by(table.assessment_id))
    return Folded(joined(lines, ids=assessment_ids), [aggregate.name for aggregate in extra])


def joined(lines, **params) -> str | None:
    """The one-column query's texts joined by newlines, by the database (None: no rows)."""
    lines = lines.subquery()
    return db.session.scalar(select(func.aggregate_strings(lines.c.line, "\n")), params)


def parse_lines(lines: str | None, schema: pa.Schema) -> pa.Table:
    """JSON objects, one per line, as a table of the schema's columns (other keys are left out), parsed
    by pyarrow all at once."""
    if not lines:
        return schema.empty_table()
    options = pa_json.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    return pa_json.read_json(io.BytesIO(lines.encode("utf-8")), parse_options=options)


def unfold(folded: Folded, columns: dict[str, pa.DataType], assessment_ids: list[int]) -> pd.DataFrame:
    """fold's objects as a frame: one row per assessment id (in the order given, blank where the
    assessment had no rows), one typed column per key of `columns`, then the extra aggregates."""
    schema = pa.schema([("_id", pa.int64()), *((name, pa.int64()) for name in folded.extra), *columns.items()])
    parsed = parse_lines(folded.lines, schema)
    ids = pa.array(assessment_ids, pa.int64())
    # in the order asked, in Arrow (a null row where an assessment has none): one pass, before pandas
    positions = pc.index_in(ids, value_set=parsed.column("_id"))
    ordered = parsed.select(list(columns) + folded.extra).take(positions)
    frame = ordered.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    frame.index = pd.Index(ids.to_numpy(), dtype="int64")
    return frame


def json_row(names_and_values: list):
    """One row as a JSON object {name: value, ...}, as text, built by the database."""
    if dialect() == "postgresql":
        return cast(func.json_build_object(*names_and_values), Text)
    return func.json_object(*names_and_values)


def table_rows(table, fields: dict[str, tuple], assessment_ids: list[int]) -> pd.DataFrame:
    """The given assessments' rows of `table` as a frame of typed columns ({name: (column, Arrow type)};
    one of them `assessment_id`), in the table's id order. The database writes each row as a JSON object
    and hands over all of them in one string, which pyarrow parses at once: no Python object per row (a
    chunk of the items data set is a quarter of a million rows). Timestamps come as their text and are
    parsed by pandas, as UTC."""
    pairs = [("_row", table.id)] + [(name, column) for name, (column, _) in fields.items()]
    row = json_row([part for name, column in pairs for part in (literal(name, Text), as_stored(column))])
    schema = pa.schema([("_row", pa.int64())] + [(name, kind) for name, (_, kind) in fields.items()])
    lines = select(row.label("line")).where(table.assessment_id.in_(bindparam("ids", expanding=True)))
    parsed = parse_lines(joined(lines, ids=assessment_ids), schema).sort_by("_row")
    frame = parsed.select(list(fields)).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    for name, (column, _) in fields.items():
        if isinstance(column.type, UTCDateTime):
            frame[name] = pd.to_datetime(frame[name], format="ISO8601", utc=True).astype("datetime64[us, UTC]")
    frame["assessment_id"] = frame["assessment_id"].astype("int64")
    return frame


def as_stored(column):
    """A column as the database keeps it: a UTC timestamp as its text (SQLite) or timestamptz (PostgreSQL),
    without UTCDateTime's per-value Python."""
    return type_coerce(column, DateTime(timezone=True)) if isinstance(getattr(column, "type", None), UTCDateTime) \
        else column
