"""Scoring a CSV file of item answers (`pro-app score`): read, check, score, write — all or nothing.

Reading and writing go through pyarrow's CSV reader and writer (multi-threaded C++; pandas' float formatting
was most of the command's time). The values are those of the pandas reader this replaced: a blank cell or
"NA" is unanswered, numbers written as text are numbers, the id column is kept as written; scores are written
unrounded in the shortest text that reads back to the same double, blank when there is no score.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .model import Instrument
from .scoring import AnswerError, score_matrix

#: Cell texts read as "unanswered": blank, and R's NA.
BLANKS = ["", "NA"]


class ScoreFileError(ValueError):
    """The input cannot be scored; the message says where and why. Nothing has been written."""


@dataclass
class ScoredFile:
    result: pa.Table  # the id column, then one unrounded column per scale code (null = no score)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Answers:
    """The answers file as read: the id column, the item columns present (file order), and the warnings."""

    id_name: str
    ids: pa.ChunkedArray
    columns: dict[str, pa.ChunkedArray]
    warnings: list[str]

    @property
    def rows(self) -> int:
        return len(self.ids)


def _listing(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" … ({len(names)} in all)" if len(names) > limit else "")


def _header(path: str | Path) -> list[str]:
    """The column names of the file's first row (ScoreFileError: missing, not UTF-8 CSV, empty, repeated)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            names = next(csv.reader(fh), [])
    except FileNotFoundError as exc:
        raise ScoreFileError(f"{path}: no such file") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ScoreFileError(f"{path}: not a UTF-8 CSV file ({exc})") from exc
    if not names:
        raise ScoreFileError(f"{path}: the file is empty; expected a header row (an id column, then item columns)")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ScoreFileError(f"{path}: column names appear more than once: {', '.join(duplicated)}")
    return names


def _column_warnings(columns: list[str], instrument: Instrument) -> list[str]:
    warnings = []
    extra = [c for c in columns if not instrument.has_item(c)]
    if extra:
        warnings.append(f"ignored columns that are not items of {instrument.id}: {_listing(extra)}")
    missing = [i for i in instrument.item_ids if i not in columns]
    if missing:
        warnings.append(f"no column for items {_listing(missing)}: counted as unanswered")
    return warnings


def _has_quotes(path: str | Path) -> bool:
    """Whether the file holds a double quote: only a quoted cell can hold a line break, and pyarrow reads a
    file in parallel only when told that none does."""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            if b'"' in block:
                return True
    return False


def _read(path: str | Path, columns: list[str], types: dict[str, pa.DataType],
          numbers: list[str] | None = None) -> pa.Table:
    """Read `columns`; those in `numbers` are parsed straight to floats, and if one holds a cell that is not
    a plain number the file is read again with the columns' types inferred (the text path then decides)."""
    too_long = []

    def invalid_row(row) -> str:  # a row whose cell count is not the header's: its extra cells would be lost
        too_long.append(row)
        return "skip"

    def read(column_types):
        return pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(newlines_in_values=quoted, invalid_row_handler=invalid_row),
            convert_options=pacsv.ConvertOptions(
                include_columns=columns, column_types=column_types, null_values=BLANKS, strings_can_be_null=True,
                true_values=[], false_values=[],
            ),
        )

    try:
        quoted = _has_quotes(path)
        try:
            table = read({**types, **dict.fromkeys(numbers or [], pa.float64())})
        except pa.ArrowInvalid:
            if not numbers:
                raise
            too_long.clear()
            table = read(types)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ScoreFileError(f"{path}: cannot read the file as CSV: {exc}") from exc
    if too_long:
        raise ScoreFileError(_too_long(path, too_long[0]))
    return table


def _too_long(path: str | Path, row) -> str:
    """The message for the first row with more cells than the header. The threaded reader does not number its
    rows, so only on this failure is the file read again to find it."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for number, cells in enumerate(reader, start=1):
            if len(cells) > row.expected_columns:
                return (f"{path}: row {number} (id {cells[0]!r}, line {reader.line_num}) has {len(cells)} cells "
                        f"but the header has {row.expected_columns} columns; nothing was scored")
    return f"{path}: a row has {row.actual_columns} cells but the header has {row.expected_columns} columns"


def read_answers(path: str | Path, instrument: Instrument) -> Answers:
    """Read the answers file: first column the administration id, then item columns."""
    id_column, *rest = _header(path)
    items = [c for c in rest if instrument.has_item(c)]
    table = _read(path, [id_column, *items], {id_column: pa.string()}, numbers=items)
    columns = {c: table.column(c) for c in items}
    return Answers(id_column, table.column(id_column), columns, _column_warnings(rest, instrument))


def _cell_as_written(path: str | Path, column: str, row: int) -> str:
    """The text of one cell as it stands in the file (for error messages)."""
    table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        include_columns=[column], column_types={column: pa.string()}, strings_can_be_null=False))
    return table.column(0)[row - 1].as_py()


def _numbers(column: pa.ChunkedArray) -> np.ndarray | None:
    """Float values of a numeric column (null = NaN); None for a column read as text."""
    if pa.types.is_float64(column.type):
        return _float_values(column)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_null(column.type):
        return _float_values(column.cast(pa.float64()))
    return None


def _float_values(column: pa.ChunkedArray) -> np.ndarray:
    """A float64 column as NumPy, null = NaN, read from the buffers (pyarrow's own conversion of a column with
    nulls goes through pandas, which this command does not otherwise import)."""
    parts = [np.empty(0)]
    for chunk in column.chunks:
        if len(chunk) == 0:
            continue
        validity, data = chunk.buffers()
        start, stop = chunk.offset, chunk.offset + len(chunk)
        values = np.frombuffer(data, dtype=np.float64)[start:stop].copy()
        if chunk.null_count:
            valid = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")[start:stop]
            values[valid == 0] = np.nan
        parts.append(values)
    return np.concatenate(parts)


def _text_numbers(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """(values, blank) of a column read as text (some cell is not a plain number): numbers written as text
    are parsed as before (pandas.to_numeric after trimming); blank or whitespace-only cells are unanswered."""
    import pandas as pd

    from .scoring import _as_numbers

    texts = pd.Series(pc.cast(column, pa.string()).to_pylist(), dtype="object")
    blank = (texts.isna() | (texts.astype("string").str.strip() == "")).fillna(True).to_numpy(dtype=bool)
    return _as_numbers(texts), blank


def _allowed(values: np.ndarray, allowed: tuple[int, ...]) -> np.ndarray:
    """Rows whose value is one of `allowed` (a run of whole numbers is checked as a range: one pass)."""
    low, high = min(allowed), max(allowed)
    if len(allowed) == high - low + 1:
        with np.errstate(invalid="ignore"):
            return (values >= low) & (values <= high) & (np.floor(values) == values)
    return np.isin(values, allowed)


def answer_matrix(path: str | Path, instrument: Instrument, answers: Answers) -> np.ndarray:
    """The answers as a float matrix in the instrument's item order (NaN = unanswered), after checking every
    cell: AnswerError for the first one, in row then column order, that is not an allowed answer."""
    # Column-major: each item's column is contiguous, for the writes here and the engine's reads. Every column
    # is written below (an item without a column is all NaN), so the memory is not filled first.
    matrix = np.empty((answers.rows, len(instrument.item_ids)), order="F")
    position = {item_id: k for k, item_id in enumerate(instrument.item_ids)}
    for item_id in instrument.item_ids:
        if item_id not in answers.columns:
            matrix[:, position[item_id]] = np.nan
    first: tuple[int, int, str] | None = None
    for col_pos, (item_id, column) in enumerate(answers.columns.items()):
        values = _numbers(column)
        if values is None:
            values, blank = _text_numbers(column)
        else:
            blank = np.isnan(values)
        bad = ~(blank | _allowed(values, instrument.item(item_id).option_set.values))
        if bad.any():
            row = int(np.argmax(bad))
            if first is None or (row, col_pos) < first[:2]:
                first = (row, col_pos, item_id)
        target = matrix[:, position[item_id]]
        target[:] = values
        target[blank] = np.nan
    if first is not None:
        row, _, item_id = first
        raise AnswerError(row + 1, item_id, _cell_as_written(path, item_id, row + 1),
                          instrument.item(item_id).option_set.values)
    return matrix


def _float_column(values: np.ndarray) -> pa.Array:
    """A float64 array with NaN as null (a blank cell), built from the buffers (pa.array would import pandas)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    valid = ~np.isnan(values)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.float64(), len(values), [bitmap, pa.py_buffer(values)],
                                 null_count=int(len(values) - valid.sum()))


def score_file(path: str | Path, instrument: Instrument) -> ScoredFile:
    answers = read_answers(path, instrument)
    try:
        matrix = answer_matrix(path, instrument, answers)
    except AnswerError as exc:
        ident = answers.ids[exc.row - 1].as_py()
        allowed = ", ".join(map(str, exc.allowed))
        raise ScoreFileError(
            f"{path}: row {exc.row} (id {ident!r}), column {exc.column}: {exc.value!r} is not an allowed "
            f"answer (allowed: {allowed}, or blank)"
        ) from exc
    values = score_matrix(instrument, matrix).values
    columns = {answers.id_name: _as_text(answers.ids)}
    for code in instrument.scale_codes:
        columns[code] = _float_column(values[code])
    return ScoredFile(pa.table(columns), answers.warnings)


#: A text cell starting with one of these is a formula to a spreadsheet; such cells are written with a leading
#: apostrophe, here and in every export (exports/writers.py).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_FORMULA_START = "^[" + "".join(re.escape(c) for c in FORMULA_STARTS) + "]"


def _as_text(ids: pa.ChunkedArray) -> pa.ChunkedArray:
    """Ids a spreadsheet would run as a formula get a leading apostrophe, so they are read as text."""
    risky = pc.match_substring_regex(ids, _FORMULA_START)  # null for a blank id, which stays blank
    if not pc.any(risky).as_py():
        return ids
    return pc.if_else(risky, pc.binary_join_element_wise(pa.scalar("'"), ids, pa.scalar("")), ids)


def _csv_bytes_to(result: pa.Table, sink) -> None:
    """The header (quoted only where needed, as the csv module does), then the rows through pyarrow."""
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(result.column_names)
    sink.write(header.getvalue().encode("utf-8"))
    if result.num_rows == 0:
        return
    ids = result.column(0)
    needs_quotes = pc.any(pc.match_substring_regex(ids, "[,\"\r\n]")).as_py() if len(ids) else False
    # "none" writes ids and numbers bare (the ids need no quotes); "needed" would quote every text field.
    style = "needed" if needs_quotes else "none"
    pacsv.write_csv(result, sink, pacsv.WriteOptions(include_header=False, quoting_style=style))


def write_result(result: pa.Table, output: str | Path | None, stdout: IO[str] = sys.stdout) -> None:
    """Write the scores as CSV (blank = no score); to a file atomically, so a failure leaves no partial file."""
    if output is None or str(output) == "-":
        buffer = io.BytesIO()
        _csv_bytes_to(result, buffer)
        stdout.write(buffer.getvalue().decode("utf-8"))
        stdout.flush()
        return
    target = Path(output)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ScoreFileError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "wb") as fh:
            _csv_bytes_to(result, fh)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
