"""Item types: how an item's answers are defined in YAML, offered to the patient, read back and described.

One class per type, registered by name in `ITEM_TYPES` (an item without `type:` is `single_choice`).
Every type turns its definition into an `OptionSet`, so scoring, branching, validation and exports work
on values alone and never ask which type an item is. Adding a type is one class with `@register_item_type`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from .model import Item, ItemState, Option, OptionSet, Text

Problems = list[tuple[str, str]]

#: Layouts a renderer must know: one option per line, or a horizontal row of numbers with end anchors.
LAYOUTS = ("list", "scale")
#: Largest numeric rating scale, in points (0-10 has 11); wider scales do not fit one row on a tablet.
MAX_RATING_POINTS = 21


class InvalidChoice(ValueError):
    """A posted choice key that is not one of the item's choices."""

    def __init__(self, item_id: str, key: object, allowed: tuple[str, ...]):
        self.item_id, self.key, self.allowed = item_id, key, allowed
        super().__init__(f"{key!r} is not a choice of item {item_id} (allowed: {', '.join(allowed)})")


@dataclass(frozen=True)
class Choice:
    """One thing the patient may pick. `key` is what a form posts: str(value), or the extra option's code."""

    key: str
    label: str
    value: int | None
    code: str | None
    state: ItemState


def _text(raw: Mapping[str, str]) -> Text:
    return Text(en=raw["en"], es=raw["es"])


def build_option_set(set_id: str, raw_options: list[dict[str, Any]]) -> OptionSet:
    """An option set as written under `option_sets:`."""
    return OptionSet(
        id=set_id,
        options=tuple(
            Option(label=_text(o["label"]), value=o.get("value"), code=o.get("code"),
                   state=ItemState(o.get("state", ItemState.ANSWERED)))
            for o in raw_options
        ),
    )


class ItemType(ABC):
    """Base of every item type. Subclasses say how the options come from the YAML (`check`, `values`,
    `options`); offering, parsing and describing the options is shared."""

    name: ClassVar[str]
    layout: ClassVar[str] = "list"

    def __repr__(self) -> str:
        return f"<item type {self.name}>"

    # --- loading (called by the loader with the item as written in YAML) ---------------------------
    @abstractmethod
    def check(self, raw: dict[str, Any], doc: dict[str, Any], where: str) -> Problems:
        """Meaning checks the schema cannot express, as (path, message) pairs."""

    @abstractmethod
    def values(self, raw: dict[str, Any], doc: dict[str, Any]) -> set[int]:
        """The answer values of a checked item (for checking branching, gates and examples)."""

    @abstractmethod
    def options(self, raw: dict[str, Any], option_sets: Mapping[str, OptionSet]) -> OptionSet:
        """The item's options, once `check` found no problem."""

    def anchors(self, raw: dict[str, Any]) -> tuple[tuple[int, Text], ...]:
        return ()

    # --- use ----------------------------------------------------------------------------------------
    def choices(self, item: Item, lang: str) -> tuple[Choice, ...]:
        return tuple(
            Choice(key=str(o.value) if o.value is not None else o.code, label=o.label.get(lang), value=o.value,
                   code=o.code, state=o.state)
            for o in item.option_set.options
        )

    def parse(self, item: Item, key: str) -> tuple[int | None, str | None, ItemState]:
        for option in item.option_set.options:
            if option.value is not None and key == str(option.value):
                return option.value, None, ItemState.ANSWERED
            if option.code is not None and key == option.code:
                return None, option.code, option.state
        raise InvalidChoice(item.id, key, tuple(c.key for c in self.choices(item, "en")))

    def codebook(self, item: Item) -> str:
        """The values and extra options in English words, as the export codebook shows them."""
        option_set = item.option_set
        parts = [f"{o.value} = {o.label.en}" for o in option_set.options if o.value is not None]
        extras = [f"{o.code} = {o.label.en} (stored as state {o.state}, no value)" for o in option_set.extras]
        return "; ".join(parts + extras)


#: Item types by name. Register a new one with `@register_item_type`.
ITEM_TYPES: dict[str, ItemType] = {}
DEFAULT_ITEM_TYPE = "single_choice"


def register_item_type(cls: type[ItemType]) -> type[ItemType]:
    """Class decorator: make `cls` available to definitions as `type: <cls.name>`."""
    if cls.layout not in LAYOUTS:
        raise ValueError(f"item type {cls.name}: layout must be one of {LAYOUTS}, got {cls.layout!r}")
    ITEM_TYPES[cls.name] = cls()
    return cls


def item_type_of(raw: dict[str, Any]) -> ItemType | None:
    """The registered type an item names (default single_choice), or None when it names no known type."""
    return ITEM_TYPES.get(raw.get("type", DEFAULT_ITEM_TYPE))


@register_item_type
class SingleChoice(ItemType):
    """Pick one option of a named option set (`option_set: four_point`)."""

    name = "single_choice"
    layout = "list"

    def check(self, raw, doc, where):
        if raw["option_set"] not in doc.get("option_sets", {}):
            return [(f"{where}.option_set", f"unknown option set {raw['option_set']!r}")]
        return []

    def values(self, raw, doc):
        return {o["value"] for o in doc["option_sets"][raw["option_set"]] if "value" in o}

    def options(self, raw, option_sets):
        return option_sets[raw["option_set"]]


@register_item_type
class NumericRating(ItemType):
    """A whole number from `min` to `max` (e.g. pain 0-10) with text at some points (`anchors`), at least
    both ends. Stored as an option set of those numbers so nothing downstream needs to know."""

    name = "numeric_rating"
    layout = "scale"

    def check(self, raw, doc, where):
        low, high = raw["min"], raw["max"]
        if high <= low:
            return [(f"{where}.max", f"must be greater than min ({low}), got {high}")]
        problems: Problems = []
        if high - low + 1 > MAX_RATING_POINTS:
            problems.append((f"{where}.max", f"a rating has at most {MAX_RATING_POINTS} points, "
                                             f"got {high - low + 1} ({low} to {high})"))
        points = []
        for key in raw["anchors"]:
            point = _as_int(key)
            if point is None:
                problems.append((f"{where}.anchors.{key}", "an anchor is keyed by a whole number of the scale"))
            elif not low <= point <= high:
                problems.append((f"{where}.anchors.{key}", f"{point} is outside the scale ({low} to {high})"))
            else:
                points.append(point)
        if len(set(points)) != len(points):
            problems.append((f"{where}.anchors", f"an anchor is given twice, got {sorted(points)}"))
        missing = [end for end in (low, high) if end not in points]
        if missing:
            problems.append((f"{where}.anchors", f"both ends of the scale need an anchor; missing {missing}"))
        return problems

    def values(self, raw, doc):
        return set(range(raw["min"], raw["max"] + 1))

    def anchors(self, raw):
        return tuple(sorted((_as_int(k), _text(v)) for k, v in raw["anchors"].items()))

    def options(self, raw, option_sets):
        anchors = dict(self.anchors(raw))
        return OptionSet(
            id=f"{raw['id']}:{self.name}",
            options=tuple(
                Option(label=_number_label(value, anchors.get(value)), value=value)
                for value in range(raw["min"], raw["max"] + 1)
            ),
        )

    def codebook(self, item):
        """Every whole number of the scale as `code = label`, the anchors' words where they are given."""
        anchors = dict(item.anchors)
        low, high = item.option_set.minimum, item.option_set.maximum
        return "; ".join(f"{v} = {anchors[v].en if v in anchors else v}" for v in range(low, high + 1))


def _number_label(value: int, anchor: Text | None) -> Text:
    if anchor is None:
        return Text(en=str(value), es=str(value))
    return Text(en=f"{value} ({anchor.en})", es=f"{value} ({anchor.es})")


def _as_int(key: object) -> int | None:
    """An anchor key as written: YAML reads `0:` as 0 and `"0":` as "0"; both mean the point 0."""
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    if isinstance(key, str) and key.strip().lstrip("-").isdigit():
        return int(key)
    return None


__all__ = ["DEFAULT_ITEM_TYPE", "ITEM_TYPES", "LAYOUTS", "Choice", "InvalidChoice", "ItemType", "NumericRating",
           "SingleChoice", "build_option_set", "item_type_of", "register_item_type"]
