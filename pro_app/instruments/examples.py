"""Runs the worked examples a definition carries (answers → expected scores)."""

from __future__ import annotations

import math

import pandas as pd

from .model import Example, Instrument
from .scoring import score

TOLERANCE = 0.005  # expected values are written to two decimals


def example_problems(instrument: Instrument, example: Example) -> list[str]:
    """What the engine gets wrong on one example (empty when it matches)."""
    answers = pd.DataFrame([{k: float(v) for k, v in example.answers.items()}], columns=list(example.answers))
    scores = score(instrument, answers)
    problems = []
    for code, expected in example.expected.items():
        got = float(scores.values[code].iloc[0])
        if expected is None:
            if not math.isnan(got):
                problems.append(f"{code}: expected no score, got {got:.4f}")
        elif math.isnan(got) or abs(got - expected) > TOLERANCE:
            problems.append(f"{code}: expected {expected}, got {got:.4f} ({scores.status[code].iloc[0]})")
    for code, expected_status in example.status.items():
        got_status = scores.status[code].iloc[0]
        if got_status != expected_status:
            problems.append(f"{code}: expected status {expected_status}, got {got_status}")
    return problems


def check_examples(instrument: Instrument) -> list[str]:
    """Every failing example of the instrument, each as 'example name: problem'."""
    return [
        f"{instrument.source}: examples[{n}] {example.name!r}: {problem}"
        for n, example in enumerate(instrument.examples)
        for problem in example_problems(instrument, example)
    ]
