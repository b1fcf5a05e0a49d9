"""The status of an assessment as every page and export shows it: one rule, for one assessment or a frame.

Stored statuses are scheduled, in_progress, completed, partial, missed and not_done (vocabulary.py). A
scheduled one is shown by its window on the site-local `today`: `scheduled` before the window opens (`open`
if staff confirmed an early assessment), `open` while it is open, `missed` once it has closed. Every other
stored status is shown as stored.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from ..vocabulary import AssessmentStatus


def displayed_status(stored: str, window_start: date, window_end: date, today: date, early: bool = False) -> str:
    """The status a coordinator sees on `today` (the site's local date)."""
    if stored != AssessmentStatus.SCHEDULED:
        return str(stored)
    if today < window_start:
        return (AssessmentStatus.OPEN if early else AssessmentStatus.SCHEDULED).value
    return (AssessmentStatus.OPEN if today <= window_end else AssessmentStatus.MISSED).value


def displayed_statuses(stored: pd.Series, window_start: pd.Series, window_end: pd.Series, today: pd.Series,
                       early: pd.Series) -> np.ndarray:
    """displayed_status for every row of a frame (the same rule, vectorised)."""
    opened = (today >= window_start) | early.fillna(False).astype(bool)
    by_window = np.where(today > window_end, AssessmentStatus.MISSED.value,
                         np.where(opened, AssessmentStatus.OPEN.value, AssessmentStatus.SCHEDULED.value))
    return np.where(stored == AssessmentStatus.SCHEDULED.value, by_window, stored)


def before_window(stored: str, window_start: date, today: date, early: bool) -> bool:
    """Not started, its window not open yet, and no early assessment confirmed: staff must confirm one before
    a code, the tablet, a paper form or "not done"."""
    return stored == AssessmentStatus.SCHEDULED and today < window_start and not early
