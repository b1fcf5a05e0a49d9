"""Instrument definitions as immutable Python objects (built by the loader, read everywhere else)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # the item type module builds on this one; only the annotation is needed here
    from .item_types import Choice, ItemType

LANGUAGES = ("en", "es")


class ItemState(StrEnum):
    """What happened to one item of one administration (SCORING.md §5)."""

    ANSWERED = "answered"
    DECLINED = "declined"
    BRANCHED = "branched"
    NOT_APPLICABLE = "not_applicable"
    NOT_REACHED = "not_reached"


class ScoreStatus(StrEnum):
    """Why a scale has a score or not (SCORING.md §5)."""

    SCORED = "scored"
    INSUFFICIENT = "insufficient"
    NOT_APPLICABLE = "not_applicable"


ITEM_STATES = tuple(s.value for s in ItemState)
SCORE_STATUSES = tuple(s.value for s in ScoreStatus)

ATTRIBUTES = ("frequency", "severity", "interference", "amount", "presence")
SCALE_TYPES = ("functional", "symptom", "global", "summary", "composite")
#: Scale types on which a higher score is a better state; on the others (symptoms, grades) it is worse.
HIGHER_IS_BETTER_TYPES = ("functional", "global", "summary")
THRESHOLD_DIRECTIONS = ("below", "above")
#: Default alert rules an instrument may carry (evaluated by the app, validated by the loader):
#: grade_at_least: a composite scale's value >= value; item_value: an item answered exactly value;
#: threshold: a scale past its own clinical-importance threshold.
ALERT_RULE_KINDS = ("grade_at_least", "item_value", "threshold")

__all__ = [
    "ALERT_RULE_KINDS", "ATTRIBUTES", "HIGHER_IS_BETTER_TYPES", "ITEM_STATES", "LANGUAGES", "SCALE_TYPES",
    "SCORE_STATUSES", "THRESHOLD_DIRECTIONS", "AlertRule", "CdiscInfo", "CdiscTest", "ChartGroup", "Condition",
    "Example", "Gate",
    "Instrument", "Item", "ItemState", "Option", "OptionSet", "Scale", "ScoreStatus", "Term", "TermSet", "Text",
    "Threshold",
]


@dataclass(frozen=True)
class Text:
    """One piece of text in every supported language."""

    en: str
    es: str

    def get(self, lang: str) -> str:
        return self.es if lang == "es" else self.en


@dataclass(frozen=True)
class Option:
    label: Text
    value: int | None = None  # a scored answer; None for an extra option such as "not applicable"
    code: str | None = None  # the extra option's code, stored instead of a value
    state: ItemState = ItemState.ANSWERED  # the item state the option records


@dataclass(frozen=True)
class OptionSet:
    id: str
    options: tuple[Option, ...]

    @cached_property
    def values(self) -> tuple[int, ...]:
        return tuple(o.value for o in self.options if o.value is not None)

    @property
    def minimum(self) -> int:
        return min(self.values)

    @property
    def maximum(self) -> int:
        return max(self.values)

    @property
    def range(self) -> int:
        return self.maximum - self.minimum

    @cached_property
    def extras(self) -> tuple[Option, ...]:
        return tuple(o for o in self.options if o.value is None)

    def option_for(self, value: int) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


@dataclass(frozen=True)
class Condition:
    """Holds when `item` was answered with one of `values`."""

    item: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class Gate:
    """The item is shown with `instruction`; for scoring it is excluded when the gate item's
    answer is one of `not_applicable_if`."""

    item: str
    not_applicable_if: tuple[int, ...]
    instruction: Text


@dataclass(frozen=True)
class CdiscTest:
    """An item's SDTM QS test code (QSTESTCD, at most 8 characters) and short name (QSTEST, at most 40:
    pro-app's own short name, never the licensed question text)."""

    testcd: str
    test: str


@dataclass(frozen=True)
class CdiscInfo:
    """An instrument's SDTM QS metadata: its category (QSCAT), whether the items' test codes are CDISC's
    own (`cdisc`) or the sponsor's (`sponsor`, where CDISC publishes none), where they come from, and the
    ISO 8601 evaluation interval (QSEVLINT) of each recall period ("" for none)."""

    category: str
    codes: str
    source: str
    evaluation_intervals: Mapping[str, str]


@dataclass(frozen=True)
class Item:
    """One question. Its `type` (see item_types.py) decides how it is shown and how a posted choice is
    read; every type answers through `option_set`, so scoring, branching and exports need not know it."""

    id: str
    number: int
    text: Text
    option_set: OptionSet
    recall: str
    type: ItemType
    gate: Gate | None = None
    skip_if: tuple[Condition, ...] = ()
    term: int | None = None
    attribute: str | None = None
    anchors: tuple[tuple[int, Text], ...] = ()  # numeric_rating: (value, end text) for the labelled points
    cdisc: CdiscTest | None = None

    @property
    def layout(self) -> str:
        """How a renderer lays the choices out: "list" (one option per line) or "scale" (a row of numbers)."""
        return self.type.layout

    def choices(self, lang: str) -> tuple[Choice, ...]:
        """What the patient may pick, in order, labelled in `lang`."""
        return self.type.choices(self, lang)

    def parse(self, key: str) -> tuple[int | None, str | None, ItemState]:
        """(value, option code, state) for a posted choice key; raises InvalidChoice for any other key."""
        return self.type.parse(self, key)

    def codebook(self) -> str:
        """The allowed values in words, for the export codebook ("1 = Not at all; 2 = A little; …")."""
        return self.type.codebook(self)


@dataclass(frozen=True)
class Threshold:
    """A clinical-importance threshold (SCORING.md §3): a score strictly below (functioning) or above
    (symptoms) `value` is flagged."""

    direction: str  # "below" | "above"
    value: float

    def __post_init__(self) -> None:
        if self.direction not in THRESHOLD_DIRECTIONS:
            raise ValueError(f"a threshold is {' or '.join(THRESHOLD_DIRECTIONS)} a value, got {self.direction!r}")

    @classmethod
    def from_dict(cls, raw: Mapping[str, float]) -> Threshold:
        """From the shape a study stores ({"below": 83}), e.g. to apply a study's edited thresholds."""
        if len(raw) != 1:
            raise ValueError(f"a threshold has exactly one direction, got {dict(raw)}")
        ((direction, value),) = raw.items()
        return cls(direction, value)

    def crossed(self, values: np.ndarray) -> np.ndarray:
        """True where a score is past the threshold; NaN (no score) is never past it."""
        values = np.asarray(values, dtype=np.float64)
        return values < self.value if self.direction == "below" else values > self.value

    def as_dict(self) -> dict[str, float]:
        """The shape a study stores and edits: {"below": 83}."""
        return {self.direction: self.value}


@dataclass(frozen=True)
class Scale:
    code: str
    name: Text
    type: str
    method: str  # a name in methods.SCORING_METHODS
    items: tuple[str, ...] = ()
    reverse_items: tuple[str, ...] = ()
    min_answered: int | None = None  # None: half of the applicable items, rounded up
    scales: tuple[str, ...] = ()  # mean_of_scales: the component scales
    reverse_scales: tuple[str, ...] = ()  # mean_of_scales: components taken as 100 - x
    threshold: Threshold | None = None
    paramcd: str | None = None  # the ADaM parameter code (PARAMCD, at most 8 characters) of the cdisc block

    @property
    def higher_is_better(self) -> bool:
        return self.type in HIGHER_IS_BETTER_TYPES


@dataclass(frozen=True)
class AlertRule:
    """A default alert rule of an instrument; `value` is the grade or answer it looks for (None for
    `threshold`, which uses each scale's own threshold). Urgency 1 is the most urgent."""

    kind: str
    urgency: int
    value: float | None = None


@dataclass(frozen=True)
class ChartGroup:
    """One report chart: the instrument's scales of the given types, over time."""

    id: str
    title: Text
    types: tuple[str, ...]


@dataclass(frozen=True)
class Term:
    number: int
    name: Text
    body_system: str


@dataclass(frozen=True)
class TermSet:
    id: str
    name: Text
    terms: tuple[int, ...]
    default: bool = False


@dataclass(frozen=True)
class Example:
    name: str
    answers: Mapping[str, int]
    expected: Mapping[str, float | None]
    status: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Instrument:
    id: str
    version: str
    title: Text
    wording: str
    licence: str
    instructions: Text
    recall_periods: Mapping[str, Text]
    recall: str  # the default recall period id of the items
    option_sets: Mapping[str, OptionSet]
    items: tuple[Item, ...]
    scales: tuple[Scale, ...]
    terms: tuple[Term, ...] = ()
    term_sets: tuple[TermSet, ...] = ()
    examples: tuple[Example, ...] = ()
    source: str = ""  # the file it was loaded from
    alert_rules: tuple[AlertRule, ...] = ()
    charts: tuple[ChartGroup, ...] = ()
    cdisc: CdiscInfo | None = None

    @cached_property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.items)

    @cached_property
    def scale_codes(self) -> tuple[str, ...]:
        return tuple(s.code for s in self.scales)

    @cached_property
    def _items_by_id(self) -> Mapping[str, Item]:
        return MappingProxyType({i.id: i for i in self.items})

    @cached_property
    def _scales_by_code(self) -> Mapping[str, Scale]:
        return MappingProxyType({s.code: s for s in self.scales})

    def item(self, item_id: str) -> Item:
        return self._items_by_id[item_id]

    def scale(self, code: str) -> Scale:
        return self._scales_by_code[code]

    def has_item(self, item_id: str) -> bool:
        return item_id in self._items_by_id

    @property
    def takes_thresholds(self) -> bool:
        """True when the definition gives thresholds for clinical importance: a study's own thresholds then
        apply to any of its scales, and to no scale of an instrument without them."""
        return any(s.threshold is not None for s in self.scales)

    def default_thresholds(self) -> dict[str, dict[str, float]]:
        """Each scale's clinical-importance threshold, {code: {"below": 83}, …}: a study's starting copy."""
        return {s.code: s.threshold.as_dict() for s in self.scales if s.threshold is not None}

    def chart(self, chart_id: str) -> ChartGroup:
        for chart in self.charts:
            if chart.id == chart_id:
                return chart
        raise KeyError(chart_id)

    def chart_scales(self, chart: ChartGroup) -> tuple[Scale, ...]:
        """The scales a chart shows, in the instrument's order."""
        return tuple(s for s in self.scales if s.type in chart.types)

    # --- selectable items: an instrument whose items are asked by term (PRO-CTCAE) ---------------------
    @property
    def selectable(self) -> bool:
        """True when a study picks which terms of this instrument are asked."""
        return bool(self.terms)

    def selection_choices(self) -> tuple[Term, ...]:
        """The terms a study may pick from, in the instrument's order, with their names."""
        return self.terms

    def default_selection(self) -> tuple[int, ...]:
        """Term numbers of the default term set; () when there is none or nothing to select."""
        default = self.default_term_set
        return default.terms if default is not None else ()

    def items_for_selection(self, selection: Iterable[int] | None = None) -> tuple[str, ...]:
        """Item ids to ask for a selection of terms: whole terms only, in the instrument's order.

        An instrument that is not selectable is always asked whole (`selection` must then be empty).
        An unknown term number is an error rather than silently asking less.
        """
        wanted = set(selection or ())
        if not self.selectable:
            if wanted:
                raise ValueError(f"{self.id} has no selectable terms, got {sorted(wanted)}")
            return self.item_ids
        unknown = wanted - {t.number for t in self.terms}
        if unknown:
            raise ValueError(f"unknown terms of {self.id}: {sorted(unknown)}")
        return tuple(i.id for i in self.items if i.term in wanted)

    @property
    def default_term_set(self) -> TermSet | None:
        return next((t for t in self.term_sets if t.default), None)

    def term_set(self, set_id: str) -> TermSet:
        for t in self.term_sets:
            if t.id == set_id:
                return t
        raise KeyError(set_id)
