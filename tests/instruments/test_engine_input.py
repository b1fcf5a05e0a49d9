"""The engine scores the caller's frame without changing it (it reads the frame's own memory when it can)."""

from __future__ import annotations

import numpy as np

from pro_app.instruments import get_instrument, score
from tests.instruments.test_crosscheck import random_eortc


def test_scoring_leaves_the_answers_frame_untouched():
    for instrument_id in ("qlq_c30", "qlq_br45"):
        answers = random_eortc(instrument_id, 500, seed=11)
        before = answers.copy()
        first = score(get_instrument(instrument_id), answers).values
        again = score(get_instrument(instrument_id), answers).values
        assert answers.equals(before)
        assert np.array_equal(first.to_numpy(), again.to_numpy(), equal_nan=True)
