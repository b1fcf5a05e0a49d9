"""Instrument definitions as immutable Python objects (built by the loader, read everywhere else)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType

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
METHODS = ("eortc_functional", "eortc_symptom", "mean_of_scales", "proctcae_composite")


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
    state: str = "answered"  # the item state the option records


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
class Item:
    id: str
    number: int
    text: Text
    option_set: OptionSet
    recall: str
    gate: Gate | None = None
    skip_if: tuple[Condition, ...] = ()
    term: int | None = None
    attribute: str | None = None


@dataclass(frozen=True)
class Scale:
    code: str
    name: Text
    type: str
    method: str
    items: tuple[str, ...] = ()
    reverse_items: tuple[str, ...] = ()
    min_answered: int | None = None  # None: half of the applicable items, rounded up
    scales: tuple[str, ...] = ()  # mean_of_scales: the component scales
    reverse_scales: tuple[str, ...] = ()  # mean_of_scales: components taken as 100 - x


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
    def default_term_set(self) -> TermSet | None:
        return next((t for t in self.term_sets if t.default), None)

    def term_set(self, set_id: str) -> TermSet:
        for t in self.term_sets:
            if t.id == set_id:
                return t
        raise KeyError(set_id)

    def items_for_terms(self, terms: tuple[int, ...] | list[int]) -> tuple[str, ...]:
        """Item ids of the given terms, whole terms only, in the instrument's order."""
        wanted = set(terms)
        return tuple(i.id for i in self.items if i.term in wanted)
