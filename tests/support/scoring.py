"""Scoring one administration given as a dict of answers, through the library's one scoring path."""

import math

import pandas as pd

from pro_app.instruments import get_instrument, score


def score_one(instrument_id: str, answers: dict[str, float]) -> dict[str, tuple[float | None, str, int]]:
    """Scale code → (value or None, status, items used) for one administration."""
    instrument = get_instrument(instrument_id)
    frame = pd.DataFrame([{k: float(v) for k, v in answers.items()}], columns=list(answers))
    result = score(instrument, frame)
    out = {}
    for code in instrument.scale_codes:
        value = float(result.values[code].iloc[0])
        out[code] = (
            None if math.isnan(value) else value,
            result.status[code].iloc[0],
            int(result.n_items[code].iloc[0]),
        )
    return out
