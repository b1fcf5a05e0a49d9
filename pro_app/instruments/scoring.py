"""Vectorised scoring: one code path for one administration or millions (SCORING.md §1-§5).

Input is a DataFrame with one row per administration and one float column per item id (NaN =
no value: declined, not applicable, branched or not reached). Output is three aligned frames: the
unrounded scores, their statuses, and the number of items each score used.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from .methods import ScoringContext, method_of
from .model import SCORE_STATUSES, Instrument

if TYPE_CHECKING:
    import pandas as pd

#: Version of this scoring code; stored with every score beside the instrument version.
ENGINE_VERSION = "1.0"



# pandas is imported where a frame is built, not with the library: `pro-app score` works on NumPy arrays and
# pyarrow tables and does not pay for importing pandas.
@cache
def _status_dtype() -> pd.CategoricalDtype:
    """Categories in ScoreStatus order, so the methods' integer codes index them; plain strings for writers."""
    import pandas as pd

    return pd.CategoricalDtype(list(SCORE_STATUSES))


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
        import pandas as pd

        codes = list(self.values.columns)
        n = len(self.values)
        return pd.DataFrame(
            {
                "row": np.tile(self.values.index.to_numpy(), len(codes)),
                "scale": pd.Categorical(np.repeat(codes, n), categories=codes),
                "value": self.values.to_numpy().T.ravel(),
                "status": pd.Categorical.from_codes(
                    np.concatenate([self.status[c].cat.codes.to_numpy() for c in codes]) if codes else [],
                    dtype=_status_dtype(),
                ),
                "n_items": self.n_items.to_numpy().T.ravel(),
            }
        ).sort_values(["row", "scale"], kind="stable", ignore_index=True)


def item_matrix(instrument: Instrument, answers: pd.DataFrame) -> np.ndarray:
    """The answers as a float matrix in the instrument's item order; absent item columns are NaN.
    Columns that are not items of the instrument are ignored."""
    ids = list(instrument.item_ids)
    if list(answers.columns[: len(ids)]) == ids and all(answers.dtypes.iloc[: len(ids)] == np.float64):
        # The usual frame (float item columns in item order): pandas' column-major block, without a copy.
        # Read-only, since it is the caller's data; the methods never write to the matrix.
        matrix = answers.iloc[:, : len(ids)].to_numpy(dtype=np.float64, copy=False)
        if matrix.flags.f_contiguous:
            view = matrix.view()
            view.flags.writeable = False
            return view
    # Column-major: every item's column is contiguous for the copy here and for the scoring methods' reads.
    matrix = np.full((len(answers), len(instrument.item_ids)), np.nan, order="F")
    for position, item_id in enumerate(instrument.item_ids):
        if item_id in answers.columns:
            matrix[:, position] = _as_numbers(answers[item_id])
    return matrix


def _as_numbers(column: pd.Series) -> np.ndarray:
    """Float values of a column; numbers written as text are parsed, blank text is NaN."""
    import pandas as pd

    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        column = pd.to_numeric(column.astype("string").str.strip().replace("", pd.NA), errors="coerce")
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def validate_answers(instrument: Instrument, answers: pd.DataFrame) -> None:
    """Raise AnswerError for the first cell (in row, then column order) that is not an allowed answer.

    Values may be numbers or numeric text; blanks (NaN / None / "") are unanswered. Row numbers
    in the error are positions counted from 1.
    """
    import pandas as pd

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


def score_matrix(instrument: Instrument, x: np.ndarray) -> ScoringContext:
    """Score the rows of `x` (administrations × the instrument's items, NaN = no value) on every scale, in
    definition order so a summary sees its parts; the context holds values, status codes and items used."""
    ctx = ScoringContext(instrument, x)
    for scale in instrument.scales:
        ctx.values[scale.code], ctx.status[scale.code], ctx.used[scale.code] = method_of(scale).score(scale, ctx)
    return ctx


def score(instrument: Instrument, answers: pd.DataFrame) -> Scores:
    """Score every administration (row) of `answers` on every scale of `instrument`.

    The answers must already be valid (see `validate_answers`); this function does not re-check them.
    Each scale is scored by its method (methods.py), in definition order, so a summary sees its parts.
    """
    import pandas as pd

    ctx = score_matrix(instrument, item_matrix(instrument, answers))
    index = answers.index
    codes = list(instrument.scale_codes)
    return Scores(
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        values=pd.DataFrame(ctx.values, index=index, columns=codes),
        status=pd.DataFrame(
            {c: pd.Categorical.from_codes(s, dtype=_status_dtype()) for c, s in ctx.status.items()},
            index=index,
            columns=codes,
        ),
        n_items=pd.DataFrame(ctx.used, index=index, columns=codes),
    )
