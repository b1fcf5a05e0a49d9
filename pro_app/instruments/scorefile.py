"""Scoring a CSV file of item answers (`pro-app score`): read, check, score, write — all or nothing."""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

from .model import Instrument
from .scoring import AnswerError, score, validate_answers

#: Cell texts read as "unanswered": blank, and R's NA.
BLANKS = ["", "NA"]


class ScoreFileError(ValueError):
    """The input cannot be scored; the message says where and why. Nothing has been written."""


@dataclass
class ScoredFile:
    result: pd.DataFrame  # the id column, then one unrounded column per scale code
    warnings: list[str] = field(default_factory=list)


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


def _check_row_lengths(path: str | Path, width: int) -> None:
    """Stop on the first row with more cells than the header has columns (its cells would be lost)."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        next(reader, None)
        for row, cells in enumerate(reader, start=1):
            if len(cells) > width:
                ident = cells[0] if cells else ""
                raise ScoreFileError(
                    f"{path}: row {row} (id {ident!r}, line {reader.line_num}) has {len(cells)} cells but the "
                    f"header has {width} columns; nothing was scored")


def read_answers(path: str | Path, instrument: Instrument) -> tuple[pd.DataFrame, list[str]]:
    """Read the answers file: first column the administration id, then item columns."""
    names = _header(path)
    id_column, *rest = names
    try:
        _check_row_lengths(path, len(names))
    except csv.Error as exc:
        raise ScoreFileError(f"{path}: cannot read the file as CSV: {exc}") from exc
    try:
        frame = pd.read_csv(
            path,
            dtype={id_column: str},
            usecols=[id_column, *(c for c in rest if instrument.has_item(c))],
            keep_default_na=False,
            na_values=BLANKS,
            encoding="utf-8-sig",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise ScoreFileError(f"{path}: cannot read the file as CSV: {exc}") from exc
    return frame, _column_warnings(rest, instrument)


def _cell_as_written(path: str | Path, column: str, row: int) -> str:
    """The text of one cell as it stands in the file (for error messages)."""
    cells = pd.read_csv(path, usecols=[column], dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return cells[column].iloc[row - 1]


def score_file(path: str | Path, instrument: Instrument) -> ScoredFile:
    frame, warnings = read_answers(path, instrument)
    id_column = frame.columns[0]
    try:
        validate_answers(instrument, frame)
    except AnswerError as exc:
        ident = frame[id_column].iloc[exc.row - 1]
        allowed = ", ".join(map(str, exc.allowed))
        written = _cell_as_written(path, exc.column, exc.row)
        raise ScoreFileError(
            f"{path}: row {exc.row} (id {ident!r}), column {exc.column}: {written!r} is not an allowed "
            f"answer (allowed: {allowed}, or blank)"
        ) from exc
    scores = score(instrument, frame)
    result = scores.values
    result.insert(0, id_column, frame[id_column].to_numpy())
    return ScoredFile(result, warnings)


def write_result(result: pd.DataFrame, output: str | Path | None, stdout: IO[str] = sys.stdout) -> None:
    """Write the scores as CSV (blank = no score); to a file atomically, so a failure leaves no partial file."""
    if output is None or str(output) == "-":
        result.to_csv(stdout, index=False, na_rep="")
        return
    target = Path(output)
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ScoreFileError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as fh:
            result.to_csv(fh, index=False, na_rep="")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
