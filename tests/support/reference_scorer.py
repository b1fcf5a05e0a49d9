"""Independent, deliberately naive reference scoring for the cross-check tests.

Everything here is retyped from the project's scoring rules (SCORING.md §1, §2, §4, §5) and
from the two PRO-CTCAE tables copied into ``tests/data``. Nothing is imported from the engine
(``pro_app.instruments``) or read from the instrument YAML files: the point is to have a second,
independently written implementation to compare the vectorised engine against.

Scoring is done one administration (one dict of answers) at a time, with plain Python loops.

Answers: ``dict[item_id, int | None]``; an item that is absent, ``None`` or a float NaN is
unanswered. Every function returns ``dict[scale_code, (value, status)]`` with ``value`` a float or
``None`` and ``status`` one of ``'scored' | 'insufficient' | 'not_applicable'``.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
COMPOSITE_CSV = DATA_DIR / "proctcae_composite.csv"
TERMS_CSV = DATA_DIR / "proctcae_terms.csv"

SCORED = "scored"
INSUFFICIENT = "insufficient"
NOT_APPLICABLE = "not_applicable"

# Formula kinds. "functional": S = (1 - (RS - 1)/range) * 100.
# "symptom": S = (RS - 1)/range * 100 -- also used for the global scale QL2 and for the
# positively worded BR45 functional scales (SX, SE, BS).
FUNCTIONAL = "functional"
SYMPTOM = "symptom"


def _q(numbers):
    return [f"q{n}" for n in numbers]


# ---------------------------------------------------------------------------------------------
# QLQ-C30 (SCORING.md §1): code, formula, items, range
# ---------------------------------------------------------------------------------------------
C30_ITEMS = _q(range(1, 31))
C30_ITEM_RANGE = {**{f"q{n}": (1, 4) for n in range(1, 29)}, "q29": (1, 7), "q30": (1, 7)}

C30_SCALES = [
    ("QL2", SYMPTOM, _q([29, 30]), 6),
    ("PF2", FUNCTIONAL, _q([1, 2, 3, 4, 5]), 3),
    ("RF2", FUNCTIONAL, _q([6, 7]), 3),
    ("EF", FUNCTIONAL, _q([21, 22, 23, 24]), 3),
    ("CF", FUNCTIONAL, _q([20, 25]), 3),
    ("SF", FUNCTIONAL, _q([26, 27]), 3),
    ("FA", SYMPTOM, _q([10, 12, 18]), 3),
    ("NV", SYMPTOM, _q([14, 15]), 3),
    ("PA", SYMPTOM, _q([9, 19]), 3),
    ("DY", SYMPTOM, _q([8]), 3),
    ("SL", SYMPTOM, _q([11]), 3),
    ("AP", SYMPTOM, _q([13]), 3),
    ("CO", SYMPTOM, _q([16]), 3),
    ("DI", SYMPTOM, _q([17]), 3),
    ("FI", SYMPTOM, _q([28]), 3),
]
# Summary score: functional scales as they are, symptom scales as 100 - x. QL2 and FI excluded.
SUMSC_DIRECT = ["PF2", "RF2", "EF", "CF", "SF"]
SUMSC_REVERSED = ["FA", "NV", "PA", "DY", "SL", "AP", "CO", "DI"]
C30_CODES = [s[0] for s in C30_SCALES] + ["SUMSC"]

# Direction of each EORTC scale when one of its items goes up by one step:
# +1 = non-decreasing, -1 = non-increasing.
C30_DIRECTION = {code: (-1 if kind == FUNCTIONAL else 1) for code, kind, _, _ in C30_SCALES}
C30_DIRECTION["SUMSC"] = -1

# ---------------------------------------------------------------------------------------------
# QLQ-BR45 (SCORING.md §2): code, formula, items, range, gates
# gates: list of (gated items, gate item, gate values that make the gated items not applicable)
# ---------------------------------------------------------------------------------------------
BR45_ITEMS = _q(range(31, 76))
BR45_ITEM_RANGE = {f"q{n}": (1, 4) for n in range(31, 76)}

BR45_SCALES = [
    ("BI", FUNCTIONAL, _q([39, 40, 41, 42]), 3, []),
    ("FU", FUNCTIONAL, _q([43]), 3, []),
    ("SX", SYMPTOM, _q([44, 45]), 3, []),
    ("SE", SYMPTOM, _q([46]), 3, [(_q([46]), "q45", {1})]),
    ("BS", SYMPTOM, _q([74, 75]), 3, []),
    ("SYS", SYMPTOM, _q([31, 32, 33, 34, 36, 37, 38]), 3, []),
    ("HU", SYMPTOM, _q([35]), 3, [(_q([35]), "q34", {1})]),
    ("ARM", SYMPTOM, _q([47, 48, 49]), 3, []),
    ("BR", SYMPTOM, _q([50, 51, 52, 53]), 3, []),
    ("ET", SYMPTOM, _q([54, 55, 56, 63, 64, 65, 66, 67, 68, 69]), 3, []),
    ("SM", SYMPTOM, _q([57, 58, 59, 60, 61, 62]), 3, []),
    ("ES", SYMPTOM, _q([70, 71, 72, 73]), 3, [(_q([72, 73]), "q45", {1})]),
]
BR45_CODES = [s[0] for s in BR45_SCALES]
BR45_GATE_ITEMS = ["q34", "q45"]
# BI and FU are scored with the functional formula (higher answer -> lower score); SX, SE and BS
# are positively worded (higher answer -> higher score); all symptom scales go up with answers.
BR45_DIRECTION = {code: (-1 if kind == FUNCTIONAL else 1) for code, kind, _, _, _ in BR45_SCALES}


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _get(answers, item):
    """Answer of ``item`` as an int, or None when unanswered (absent, None or NaN)."""
    v = answers.get(item)
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    try:
        import pandas  # only to recognise pandas.NA coming from a frame; no vectorisation

        if v is pandas.NA:
            return None
    except ImportError:  # pragma: no cover
        pass
    fv = float(v)
    if fv != int(fv):
        raise ValueError(f"{item}: non-integer answer {v!r}")
    return int(fv)


def _half(n):
    """At least half of n items, rounded up."""
    return (n + 1) // 2


def _score_item_scale(answers, kind, items, rng, gates):
    """Returns (value, status, n_items_used) for one EORTC item scale."""
    # Work out which items are applicable: an item is excluded when its gate item holds one
    # of the excluding values, whatever was answered on it; a missing gate item excludes nothing.
    applicable = []
    for item in items:
        excluded = False
        for gated_items, gate_item, gate_values in gates:
            if item in gated_items:
                g = _get(answers, gate_item)
                if g is not None and g in gate_values:
                    excluded = True
        if not excluded:
            applicable.append(item)

    if len(applicable) == 0:
        return None, NOT_APPLICABLE, 0

    answered = []
    for item in applicable:
        v = _get(answers, item)
        if v is not None:
            answered.append(v)

    if len(answered) < _half(len(applicable)):
        return None, INSUFFICIENT, len(answered)

    total = 0.0
    for v in answered:
        total += v
    rs = total / len(answered)
    linear = (rs - 1.0) / rng * 100.0
    value = 100.0 - linear if kind == FUNCTIONAL else linear
    return value, SCORED, len(answered)


# ---------------------------------------------------------------------------------------------
# QLQ-C30
# ---------------------------------------------------------------------------------------------
def score_c30_detailed(answers):
    """code -> (value, status, items used). SUMSC 'items used' = number of component scales."""
    out = {}
    for code, kind, items, rng in C30_SCALES:
        out[code] = _score_item_scale(answers, kind, items, rng, [])

    parts = []
    ok = True
    for code in SUMSC_DIRECT:
        value, status, _ = out[code]
        if status != SCORED:
            ok = False
        else:
            parts.append(value)
    for code in SUMSC_REVERSED:
        value, status, _ = out[code]
        if status != SCORED:
            ok = False
        else:
            parts.append(100.0 - value)
    if ok:
        total = 0.0
        for p in parts:
            total += p
        out["SUMSC"] = (total / len(parts), SCORED, len(parts))
    else:
        out["SUMSC"] = (None, INSUFFICIENT, len(parts))
    return out


def score_c30(answers):
    return {code: (v, s) for code, (v, s, _) in score_c30_detailed(answers).items()}


# ---------------------------------------------------------------------------------------------
# QLQ-BR45
# ---------------------------------------------------------------------------------------------
def score_br45_detailed(answers):
    out = {}
    for code, kind, items, rng, gates in BR45_SCALES:
        out[code] = _score_item_scale(answers, kind, items, rng, gates)
    return out


def score_br45(answers):
    return {code: (v, s) for code, (v, s, _) in score_br45_detailed(answers).items()}


# ---------------------------------------------------------------------------------------------
# PRO-CTCAE composite grades (SCORING.md §4)
# ---------------------------------------------------------------------------------------------
# attribute -> position in the (frequency, severity, interference) key of the composite table;
# the amount-only terms use the interference column.
_ATTRIBUTE_COLUMN = {"frequency": 0, "severity": 1, "interference": 2, "amount": 2}


def _load_terms():
    terms = []
    with open(TERMS_CSV, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            attributes = row["attributes"].split(";")
            variables = row["variables"].split(";")
            if len(attributes) != len(variables):
                raise ValueError(f"term {row['term_number']}: attributes/variables mismatch")
            terms.append(
                {
                    "number": int(row["term_number"]),
                    "attributes": attributes,
                    "variables": variables,
                }
            )
    return terms


def _load_composite():
    table = {}
    with open(COMPOSITE_CSV, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            key = tuple(
                None if row[col].strip() == "" else int(row[col]) for col in ("frequency", "severity", "interference")
            )
            if key in table:
                raise ValueError(f"duplicate composite row {key}")
            table[key] = int(row["composite_grade"])
    return table


PROCTCAE_TERMS = _load_terms()
PROCTCAE_COMPOSITE = _load_composite()
PROCTCAE_ITEMS = [v for t in PROCTCAE_TERMS for v in t["variables"]]
PROCTCAE_ITEM_RANGE = {v: ((0, 1) if v.endswith("_IND") else (0, 4)) for v in PROCTCAE_ITEMS}
PROCTCAE_SCORED_TERMS = [t for t in PROCTCAE_TERMS if t["attributes"] != ["presence"]]
PROCTCAE_CODES = [f"PROCTCAE_{t['number']}_COMP" for t in PROCTCAE_SCORED_TERMS]


def proctcae_term_grade(term, answers):
    """(grade, status) of one non-presence term."""
    values = [_get(answers, v) for v in term["variables"]]
    if values[0] is None:
        return None, INSUFFICIENT
    if values[0] == 0:
        return 0.0, SCORED
    filled = []
    for i, v in enumerate(values):
        if v is None:
            # branched: some earlier item of the same term was answered 0
            branched = False
            for j in range(i):
                if values[j] is not None and values[j] == 0:
                    branched = True
            filled.append(0 if branched else None)
        else:
            filled.append(v)
    for v in filled:
        if v is None:
            return None, INSUFFICIENT
    key = [None, None, None]
    for attribute, v in zip(term["attributes"], filled, strict=True):
        key[_ATTRIBUTE_COLUMN[attribute]] = v
    key = tuple(key)
    if key not in PROCTCAE_COMPOSITE:
        raise KeyError(f"term {term['number']}: combination {key} not in the composite table")
    return float(PROCTCAE_COMPOSITE[key]), SCORED


def score_proctcae(answers):
    out = {}
    for term in PROCTCAE_SCORED_TERMS:
        out[f"PROCTCAE_{term['number']}_COMP"] = proctcae_term_grade(term, answers)
    return out


# ---------------------------------------------------------------------------------------------
# registry used by the tests
# ---------------------------------------------------------------------------------------------
INSTRUMENTS = {
    "qlq_c30": {
        "score": score_c30,
        "items": C30_ITEMS,
        "ranges": C30_ITEM_RANGE,
        "codes": C30_CODES,
    },
    "qlq_br45": {
        "score": score_br45,
        "items": BR45_ITEMS,
        "ranges": BR45_ITEM_RANGE,
        "codes": BR45_CODES,
    },
    "pro_ctcae": {
        "score": score_proctcae,
        "items": PROCTCAE_ITEMS,
        "ranges": PROCTCAE_ITEM_RANGE,
        "codes": PROCTCAE_CODES,
    },
}
