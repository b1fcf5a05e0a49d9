"""Scoring methods: one class per `method:` of a scale, registered by name in `SCORING_METHODS`.

Each method checks a scale's definition for the loader (`check`), scores every administration at once
for the engine (`score`, vectorised over the rows) and says what its values can be (`value_range`, for
charts and threshold checks). Adding a method is one class with `@register_method`; nothing else names
methods. The formulas are SCORING.md §1-§4; the floating-point operations are kept exactly as they were
so stored scores do not move by a bit.
"""

from __future__ import annotations

import csv
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .model import Instrument, Item, Scale, ScoreStatus

Problems = list[tuple[str, str]]
#: Per scale: values (float, NaN unless scored), status codes (int8, positions in ScoreStatus), items used.
Result = tuple[np.ndarray, np.ndarray, np.ndarray]

_CODE = {status: code for code, status in enumerate(ScoreStatus)}
SCORED, INSUFFICIENT, NOT_APPLICABLE = (_CODE[ScoreStatus.SCORED], _CODE[ScoreStatus.INSUFFICIENT],
                                        _CODE[ScoreStatus.NOT_APPLICABLE])
PERCENT = (0.0, 100.0)


@dataclass(frozen=True)
class Definitions:
    """What a method's `check` may look at, as written in the YAML file."""

    doc: dict[str, Any]
    items: Mapping[str, dict[str, Any]]  # item id → item
    values: Mapping[str, set[int]]  # item id → its answer values (known item types only)
    earlier: Mapping[str, dict[str, Any]]  # scale code → scale, for the scales defined before this one


class ScoringContext:
    """One scoring run: the answers as a float matrix (rows × the instrument's items) and the results of
    the scales scored so far, which a summary scale reads."""

    def __init__(self, instrument: Instrument, x: np.ndarray):
        self.instrument = instrument
        self.x = x
        self.n = x.shape[0]
        self.column = {item_id: j for j, item_id in enumerate(instrument.item_ids)}
        self.values: dict[str, np.ndarray] = {}
        self.status: dict[str, np.ndarray] = {}
        self.used: dict[str, np.ndarray] = {}

    def answers(self, item_id: str) -> np.ndarray:
        return self.x[:, self.column[item_id]]

    def holds(self, item_id: str, values: tuple[int, ...]) -> np.ndarray:
        """Rows where `item_id` was answered with one of `values`."""
        return np.isin(self.answers(item_id), values)


class ScoringMethod(ABC):
    """Base of every scoring method."""

    name: ClassVar[str]
    #: Scale types this method may score (checked by the loader for every scale).
    scale_types: ClassVar[tuple[str, ...]]

    def __repr__(self) -> str:
        return f"<scoring method {self.name}>"

    def check(self, scale: dict[str, Any], where: str, defs: Definitions) -> Problems:
        """Meaning checks of one scale the schema cannot express, as (path, message) pairs."""
        return []

    @abstractmethod
    def score(self, scale: Scale, ctx: ScoringContext) -> Result:
        """The scale's (values, status codes, items used) for every row of `ctx`, vectorised."""

    @abstractmethod
    def value_range(self, instrument: Instrument, scale: Scale) -> tuple[float, float]:
        """Lowest and highest score the scale can take."""


#: Scoring methods by name. Register a new one with `@register_method`.
SCORING_METHODS: dict[str, ScoringMethod] = {}


def register_method(cls: type[ScoringMethod]) -> type[ScoringMethod]:
    """Class decorator: make `cls` available to definitions as `method: <cls.name>`."""
    SCORING_METHODS[cls.name] = cls()
    return cls


def method_of(scale: Scale) -> ScoringMethod:
    return SCORING_METHODS[scale.method]


def value_range(instrument: Instrument, scale: Scale) -> tuple[float, float]:
    """Lowest and highest score of `scale` (0-100 for EORTC scales, 0-3 for composite grades, …)."""
    return method_of(scale).value_range(instrument, scale)


def _item_scale_problems(scale: dict[str, Any], where: str, what: str) -> Problems:
    if not scale.get("items"):
        return [(f"{where}.items", f"{what} needs at least one item")]
    problems = []
    if scale.get("min_answered", 0) > len(scale["items"]):
        problems.append((f"{where}.min_answered", "is more than the number of items"))
    return problems


# --- means of items: EORTC linear scores and the plain mean -----------------------------------------
class _ItemMean(ScoringMethod):
    """The raw score of SCORING.md §1: the mean of the answered applicable items (reverse items taken as
    min + max − value), scored when at least `min_answered` are answered (default: half of the applicable
    items, rounded up). A scale whose items are all gated out is not applicable."""

    scale_types = ("functional", "symptom", "global")

    def mean(self, scale: Scale, ctx: ScoringContext) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Item]]:
        """(raw score, status code, items answered, the items) per row; the raw score is only meaningful
        where the code is SCORED."""
        items = [ctx.instrument.item(i) for i in scale.items]
        if len(items) < 8 and all(item.gate is None for item in items):
            return (*self._ungated_mean(scale, items, ctx), items)
        block = ctx.x[:, [ctx.column[i.id] for i in items]]
        for k, item in enumerate(items):
            if item.id in scale.reverse_items:
                block[:, k] = item.option_set.minimum + item.option_set.maximum - block[:, k]
        applicable = np.ones(block.shape, dtype=bool)
        for k, item in enumerate(items):
            if item.gate is not None:  # the gate decides, whatever was answered on the gated item
                applicable[:, k] = ~ctx.holds(item.gate.item, item.gate.not_applicable_if)
        answered = applicable & ~np.isnan(block)
        n_answered = answered.sum(axis=1)
        n_applicable = applicable.sum(axis=1)
        needed = scale.min_answered if scale.min_answered is not None else (n_applicable + 1) // 2
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = np.where(answered, block, 0.0).sum(axis=1) / n_answered
        code = np.where(
            n_applicable == 0, NOT_APPLICABLE,
            np.where((n_answered >= needed) & (n_answered > 0), SCORED, INSUFFICIENT),
        ).astype(np.int8)
        return raw, code, n_answered, items

    @staticmethod
    def _ungated_mean(scale: Scale, items: list[Item], ctx: ScoringContext) -> tuple[np.ndarray, ...]:
        """`mean` for a scale whose items are all applicable, one item column at a time (no row × item
        temporaries). The answers are whole numbers, so the sum is exact in any order and the raw score is
        the same double as the general path's."""
        needed = scale.min_answered if scale.min_answered is not None else (len(items) + 1) // 2
        if len(items) == 1:  # the raw score is the answer itself (x / 1 is x)
            (item,) = items
            raw = ctx.answers(item.id)
            raw = item.option_set.minimum + item.option_set.maximum - raw if item.id in scale.reverse_items \
                else raw.copy()
            answered = ~np.isnan(raw)
            code = np.where(answered if max(needed, 1) == 1 else False, np.int8(SCORED), np.int8(INSUFFICIENT))
            return raw, code, answered.astype(np.int64)
        total = np.zeros(ctx.n)
        n_answered = np.zeros(ctx.n, dtype=np.int64)
        for item in items:
            values = ctx.answers(item.id)
            if item.id in scale.reverse_items:
                values = item.option_set.minimum + item.option_set.maximum - values
            answered = ~np.isnan(values)
            np.add(total, values, out=total, where=answered)
            n_answered += answered
        with np.errstate(invalid="ignore", divide="ignore"):
            raw = total / n_answered
        code = np.where(n_answered >= max(needed, 1), np.int8(SCORED), np.int8(INSUFFICIENT))
        return raw, code, n_answered

    @staticmethod
    def result(values: np.ndarray, code: np.ndarray, n_answered: np.ndarray) -> Result:
        """Values and items used kept where scored (NaN and 0 elsewhere), in place: both arrays are the
        method's own temporaries."""
        unscored = code != SCORED
        np.putmask(values, unscored, np.nan)
        np.putmask(n_answered, unscored, 0)
        return values, code, n_answered


class _Eortc(_ItemMean):
    """EORTC linear transformation of the raw score to 0-100 over the items' shared response range."""

    def check(self, scale, where, defs):
        problems = _item_scale_problems(scale, where, "an EORTC scale")
        members = [i for i in scale.get("items", []) if i in defs.values]
        ranges = {i: max(defs.values[i]) - min(defs.values[i]) for i in members if defs.values[i]}
        if len(set(ranges.values())) > 1:
            problems.append((f"{where}.items", f"items of one scale must share a response range, got {ranges}"))
        return problems

    @abstractmethod
    def transform(self, linear: np.ndarray) -> np.ndarray:
        """The score from the linear transformation of the raw score (SCORING.md §1)."""

    def score(self, scale, ctx):
        raw, code, n_answered, items = self.mean(scale, ctx)
        low, span = items[0].option_set.minimum, items[0].option_set.range
        linear = raw - low  # (raw − low) / span × 100, operation by operation, in one temporary
        linear /= span
        linear *= 100.0
        return self.result(self.transform(linear), code, n_answered)

    def value_range(self, instrument, scale):
        return PERCENT


@register_method
class EortcFunctional(_Eortc):
    """S = (1 − (RS − min)/range) × 100: answering "not at all" everywhere gives 100."""

    name = "eortc_functional"

    def transform(self, linear):
        return np.subtract(100.0, linear, out=linear)


@register_method
class EortcSymptom(_Eortc):
    """S = (RS − min)/range × 100 (symptoms, global health status, positively worded functional scales)."""

    name = "eortc_symptom"

    def transform(self, linear):
        return linear


@register_method
class MeanOfItems(_ItemMean):
    """The plain raw score, on the items' own scale (e.g. a 0-4 diary or a 0-10 rating), untransformed."""

    name = "mean_of_items"

    def check(self, scale, where, defs):
        problems = _item_scale_problems(scale, where, "mean_of_items")
        members = [i for i in scale.get("items", []) if i in defs.values and defs.values[i]]
        ends = {i: (min(defs.values[i]), max(defs.values[i])) for i in members}
        if len(set(ends.values())) > 1:
            problems.append((f"{where}.items", f"items of a mean must share their lowest and highest values, "
                                               f"got {ends}"))
        return problems

    def score(self, scale, ctx):
        raw, code, n_answered, _ = self.mean(scale, ctx)
        return self.result(raw, code, n_answered)

    def value_range(self, instrument, scale):
        items = [instrument.item(i) for i in scale.items]
        return (float(min(i.option_set.minimum for i in items)), float(max(i.option_set.maximum for i in items)))


# --- summary score -------------------------------------------------------------------------------------
@register_method
class MeanOfScales(ScoringMethod):
    """Mean of earlier 0-100 scales, `reverse_scales` taken as 100 − x; scored only when every one is
    (the QLQ-C30 summary score, SCORING.md §1)."""

    name = "mean_of_scales"
    scale_types = ("summary",)

    def check(self, scale, where, defs):
        problems = []
        parts = scale.get("scales", [])
        if not parts:
            problems.append((f"{where}.scales", "mean_of_scales needs the scales to average"))
        for k, code in enumerate(parts):
            if code not in defs.earlier:
                problems.append((f"{where}.scales[{k}]", f"{code!r} is not a scale defined before this one"))
                continue
            method = SCORING_METHODS.get(defs.earlier[code]["method"])
            if method is not None and not isinstance(method, _Eortc | MeanOfScales):
                problems.append((f"{where}.scales[{k}]", f"{code!r} is not scored 0 to 100 "
                                                          f"(method {method.name}); only 0-100 scales are averaged"))
        for k, code in enumerate(scale.get("reverse_scales", [])):
            if code not in parts:
                problems.append((f"{where}.reverse_scales[{k}]", f"{code!r} is not one of this scale's scales"))
        if scale.get("items"):
            problems.append((f"{where}.items", "mean_of_scales takes scales, not items"))
        return problems

    def score(self, scale, ctx):
        total = np.zeros(ctx.n)
        complete = np.ones(ctx.n, dtype=bool)
        n_items = np.zeros(ctx.n, dtype=np.int64)
        for code in scale.scales:
            part = ctx.values[code]
            total += 100.0 - part if code in scale.reverse_scales else part
            complete &= ctx.status[code] == SCORED
            n_items += ctx.used[code]
        code = np.where(complete, SCORED, INSUFFICIENT).astype(np.int8)
        return np.where(complete, total / len(scale.scales), np.nan), code, np.where(complete, n_items, 0)

    def value_range(self, instrument, scale):
        return PERCENT


# --- PRO-CTCAE composite grade ---------------------------------------------------------------------------
#: Composite-table slots of each PRO-CTCAE attribute; amount-only terms use the interference column.
_SLOT = {"frequency": 0, "severity": 1, "interference": 2, "amount": 2}
_ABSENT = 5  # code of an attribute a term does not have
_ORDER = ["frequency", "severity", "interference"]


@lru_cache(maxsize=1)
def composite_table() -> np.ndarray:
    """The PRO-CTCAE composite grading table [BASCH / ProAE], indexed by f*36 + s*6 + i (5 = absent)."""
    table = np.full(6 * 6 * 6, np.nan)
    with (Path(__file__).parent / "data" / "proctcae_composite.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            f, s, i = (int(row[k]) if row[k] != "" else _ABSENT for k in ("frequency", "severity", "interference"))
            table[f * 36 + s * 6 + i] = int(row["composite_grade"])
    return table


@register_method
class ProctcaeComposite(ScoringMethod):
    """Composite grade 0-3 of one PRO-CTCAE term (SCORING.md §4): 0 when the first attribute is 0, else
    the table entry with branched follow-ups taken as 0; missing when any other item is missing."""

    name = "proctcae_composite"
    scale_types = ("composite",)

    def check(self, scale, where, defs):
        members = [defs.items[i] for i in scale.get("items", []) if i in defs.items]
        terms = {m.get("term") for m in members}
        if not members or None in terms or len(terms) != 1:
            return [(f"{where}.items", "a composite takes the items of exactly one term")]
        (term,) = terms
        whole = [i["id"] for i in defs.doc["items"] if i.get("term") == term]
        problems = []
        if [m["id"] for m in members] != whole:
            problems.append((f"{where}.items", f"a composite takes all items of term {term} in order: {whole}"))
        return problems + self._attribute_problems([m["attribute"] for m in members], where)

    @staticmethod
    def _attribute_problems(attributes: list[str], where: str) -> Problems:
        """A graded term has frequency, severity and interference in that order, or an amount alone."""
        if "presence" in attributes:
            return [(f"{where}.items", "presence (yes/no) terms have no composite grade")]
        if attributes == ["amount"]:
            return []
        if "amount" in attributes or attributes != sorted(attributes, key=_ORDER.index):
            return [(f"{where}.items", f"attributes must come frequency, severity, interference; got {attributes}")]
        return []

    @staticmethod
    def branch_filled(item: Item, ctx: ScoringContext) -> np.ndarray:
        """The item's values with a blank that branching skipped taken as 0 (SCORING.md §4)."""
        values = ctx.answers(item.id)
        branched = np.zeros(len(values), dtype=bool)
        for condition in item.skip_if:
            branched |= ctx.holds(condition.item, condition.values)
        return np.where(np.isnan(values) & branched, 0.0, values)

    def score(self, scale, ctx):
        items = [ctx.instrument.item(i) for i in scale.items]
        first = ctx.answers(items[0].id)
        filled = [first] + [self.branch_filled(item, ctx) for item in items[1:]]
        complete = ~np.any(np.isnan(np.column_stack(filled)), axis=1)
        slots = [np.full(len(first), _ABSENT, dtype=np.int64) for _ in range(3)]
        for item, vals in zip(items, filled, strict=True):
            slots[_SLOT[item.attribute]] = np.where(np.isnan(vals), 0, vals).astype(np.int64)
        grade = composite_table()[slots[0] * 36 + slots[1] * 6 + slots[2]]
        grade = np.where(first == 0, 0.0, np.where(complete, grade, np.nan))
        code = np.where(np.isnan(grade), INSUFFICIENT, SCORED).astype(np.int8)
        n_used = np.sum([~np.isnan(v) for v in filled], axis=0)
        return grade, code, np.where(code == SCORED, n_used, 0)

    def value_range(self, instrument, scale):
        return (0.0, 3.0)


__all__ = ["INSUFFICIENT", "NOT_APPLICABLE", "PERCENT", "SCORED", "SCORING_METHODS", "Definitions", "ScoringContext",
           "ScoringMethod", "composite_table", "method_of", "register_method", "value_range"]
