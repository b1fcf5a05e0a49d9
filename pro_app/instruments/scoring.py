"""Vectorised scoring: one code path for one administration or millions (SCORING.md §1-§5).

Input is a DataFrame with one row per administration and one float column per item id (NaN =
no value: declined, not applicable, branched or not reached). Output is three aligned frames: the
unrounded scores, their statuses, and the number of items each score used.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from .model import SCORE_STATUSES, Instrument, Item, Scale

#: Version of this scoring code; stored with every score beside the instrument version.
ENGINE_VERSION = "1.0"

SCORED, INSUFFICIENT, NOT_APPLICABLE = range(3)
_STATUS_DTYPE = pd.CategoricalDtype(list(SCORE_STATUSES))

#: Composite-table slots of each PRO-CTCAE attribute; amount-only terms use the interference column.
_SLOT = {"frequency": 0, "severity": 1, "interference": 2, "amount": 2}
_ABSENT = 5  # code of an attribute a term does not have


class AnswerError(ValueError):
    """An answer that is not one of its item's allowed values."""

    def __init__(self, row: int, column: str, value: object, allowed: tuple[int, ...]):
        self.row, self.column, self.value, self.allowed = row, column, value, allowed
        allowed_text = ", ".join(map(str, allowed))
        super().__init__(f"row {row}, column {column}: {value!r} is not an allowed answer ({allowed_text}, or blank)")


@dataclass(frozen=True)
class Scores:
    instrument_id: str
    instrument_version: str
    values: pd.DataFrame  # float64, NaN unless scored, unrounded
    status: pd.DataFrame  # categorical: scored | insufficient | not_applicable
    n_items: pd.DataFrame  # items used (for a summary score: the items of its component scales)

    @property
    def scoring_version(self) -> str:
        return ENGINE_VERSION

    def long(self) -> pd.DataFrame:
        """One row per administration and scale: index label, scale, value, status, n_items."""
        codes = list(self.values.columns)
        n = len(self.values)
        return pd.DataFrame(
            {
                "row": np.tile(self.values.index.to_numpy(), len(codes)),
                "scale": pd.Categorical(np.repeat(codes, n), categories=codes),
                "value": self.values.to_numpy().T.ravel(),
                "status": pd.Categorical.from_codes(
                    np.concatenate([self.status[c].cat.codes.to_numpy() for c in codes]) if codes else [],
                    dtype=_STATUS_DTYPE,
                ),
                "n_items": self.n_items.to_numpy().T.ravel(),
            }
        ).sort_values(["row", "scale"], kind="stable", ignore_index=True)


def item_matrix(instrument: Instrument, answers: pd.DataFrame) -> np.ndarray:
    """The answers as a float matrix in the instrument's item order; absent item columns are NaN.
    Columns that are not items of the instrument are ignored."""
    matrix = np.full((len(answers), len(instrument.item_ids)), np.nan)
    for position, item_id in enumerate(instrument.item_ids):
        if item_id in answers.columns:
            matrix[:, position] = _as_numbers(answers[item_id])
    return matrix


def _as_numbers(column: pd.Series) -> np.ndarray:
    """Float values of a column; numbers written as text are parsed, blank text is NaN."""
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        column = pd.to_numeric(column.astype("string").str.strip().replace("", pd.NA), errors="coerce")
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def validate_answers(instrument: Instrument, answers: pd.DataFrame) -> None:
    """Raise AnswerError for the first cell (in row, then column order) that is not an allowed answer.

    Values may be numbers or numeric text; blanks (NaN / None / "") are unanswered. Row numbers
    in the error are positions counted from 1.
    """
    first: tuple[int, int, str, object, tuple[int, ...]] | None = None
    for col_pos, item_id in enumerate(c for c in answers.columns if instrument.has_item(c)):
        allowed = instrument.item(item_id).option_set.values
        raw = answers[item_id]
        numeric = pd.Series(_as_numbers(raw), index=raw.index)
        blank = raw.isna()
        if not pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_bool_dtype(raw):
            blank = blank | (raw.astype("string").str.strip() == "").fillna(True)
        bad = ~(blank | numeric.isin(allowed))
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            if first is None or (row, col_pos) < first[:2]:
                first = (row, col_pos, item_id, raw.iloc[row], allowed)
    if first is not None:
        row, _, item_id, value, allowed = first
        if isinstance(value, np.generic):  # show 5 or 2.5, not np.float64(5.0)
            value = value.item()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        raise AnswerError(row + 1, item_id, value, allowed)


def score(instrument: Instrument, answers: pd.DataFrame) -> Scores:
    """Score every administration (row) of `answers` on every scale of `instrument`.

    The answers must already be valid (see `validate_answers`); this function does not re-check them.
    """
    x = item_matrix(instrument, answers)
    column = {item_id: j for j, item_id in enumerate(instrument.item_ids)}
    n = len(answers)
    values: dict[str, np.ndarray] = {}
    status: dict[str, np.ndarray] = {}
    used: dict[str, np.ndarray] = {}
    for scale in instrument.scales:
        if scale.method in ("eortc_functional", "eortc_symptom"):
            result = _eortc(instrument, scale, x, column)
        elif scale.method == "mean_of_scales":
            result = _mean_of_scales(scale, values, status, used, n)
        else:
            result = _composite(instrument, scale, x, column)
        values[scale.code], status[scale.code], used[scale.code] = result
    index = answers.index
    return Scores(
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        values=pd.DataFrame(values, index=index, columns=list(instrument.scale_codes)),
        status=pd.DataFrame(
            {c: pd.Categorical.from_codes(s, dtype=_STATUS_DTYPE) for c, s in status.items()},
            index=index,
            columns=list(instrument.scale_codes),
        ),
        n_items=pd.DataFrame(used, index=index, columns=list(instrument.scale_codes)),
    )


def _holds(x: np.ndarray, column: dict[str, int], item: str, values: tuple[int, ...]) -> np.ndarray:
    return np.isin(x[:, column[item]], values)


def _eortc(instrument: Instrument, scale: Scale, x: np.ndarray, column: dict[str, int]):
    items = [instrument.item(i) for i in scale.items]
    block = x[:, [column[i.id] for i in items]]
    low, span = items[0].option_set.minimum, items[0].option_set.range
    for k, item in enumerate(items):
        if item.id in scale.reverse_items:
            block[:, k] = item.option_set.minimum + item.option_set.maximum - block[:, k]
    applicable = np.ones(block.shape, dtype=bool)
    for k, item in enumerate(items):
        if item.gate is not None:  # the gate decides, whatever was answered on the gated item
            applicable[:, k] = ~_holds(x, column, item.gate.item, item.gate.not_applicable_if)
    answered = applicable & ~np.isnan(block)
    n_answered = answered.sum(axis=1)
    n_applicable = applicable.sum(axis=1)
    needed = scale.min_answered if scale.min_answered is not None else (n_applicable + 1) // 2
    with np.errstate(invalid="ignore", divide="ignore"):
        raw = np.where(answered, block, 0.0).sum(axis=1) / n_answered
    linear = (raw - low) / span * 100.0
    result = 100.0 - linear if scale.method == "eortc_functional" else linear
    code = np.where(
        n_applicable == 0, NOT_APPLICABLE, np.where((n_answered >= needed) & (n_answered > 0), SCORED, INSUFFICIENT)
    ).astype(np.int8)
    return np.where(code == SCORED, result, np.nan), code, np.where(code == SCORED, n_answered, 0)


def _mean_of_scales(scale: Scale, values, status, used, n: int):
    total = np.zeros(n)
    complete = np.ones(n, dtype=bool)
    n_items = np.zeros(n, dtype=np.int64)
    for code in scale.scales:
        part = values[code]
        total += 100.0 - part if code in scale.reverse_scales else part
        complete &= status[code] == SCORED
        n_items += used[code]
    code = np.where(complete, SCORED, INSUFFICIENT).astype(np.int8)
    return np.where(complete, total / len(scale.scales), np.nan), code, np.where(complete, n_items, 0)


@lru_cache(maxsize=1)
def composite_table() -> np.ndarray:
    """The PRO-CTCAE composite grading table [BASCH / ProAE], indexed by f*36 + s*6 + i (5 = absent)."""
    table = np.full(6 * 6 * 6, np.nan)
    with (Path(__file__).parent / "data" / "proctcae_composite.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            f, s, i = (int(row[k]) if row[k] != "" else _ABSENT for k in ("frequency", "severity", "interference"))
            table[f * 36 + s * 6 + i] = int(row["composite_grade"])
    return table


def _branch_filled(item: Item, x: np.ndarray, column: dict[str, int]) -> np.ndarray:
    """The item's values with a blank that branching skipped taken as 0 (SCORING.md §4)."""
    values = x[:, column[item.id]]
    branched = np.zeros(len(values), dtype=bool)
    for condition in item.skip_if:
        branched |= _holds(x, column, condition.item, condition.values)
    return np.where(np.isnan(values) & branched, 0.0, values)


def _composite(instrument: Instrument, scale: Scale, x: np.ndarray, column: dict[str, int]):
    items = [instrument.item(i) for i in scale.items]
    first = x[:, column[items[0].id]]
    filled = [first] + [_branch_filled(item, x, column) for item in items[1:]]
    complete = ~np.any(np.isnan(np.column_stack(filled)), axis=1)
    slots = [np.full(len(first), _ABSENT, dtype=np.int64) for _ in range(3)]
    for item, vals in zip(items, filled, strict=True):
        slots[_SLOT[item.attribute]] = np.where(np.isnan(vals), 0, vals).astype(np.int64)
    grade = composite_table()[slots[0] * 36 + slots[1] * 6 + slots[2]]
    grade = np.where(first == 0, 0.0, np.where(complete, grade, np.nan))
    code = np.where(np.isnan(grade), INSUFFICIENT, SCORED).astype(np.int8)
    n_used = np.sum([~np.isnan(v) for v in filled], axis=0)
    return grade, code, np.where(code == SCORED, n_used, 0)
