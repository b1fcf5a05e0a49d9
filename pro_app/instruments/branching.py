"""What the patient sees next: branching (PRO-CTCAE) and gates (QLQ-BR45), from the answers so far.

`responses` maps an item id to what the patient did with it: the answer value (int), the code of an
extra option such as "not_applicable" (str), or None when the patient skipped it (declined). Items not
in it are still open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .model import Instrument, Item

Responses = Mapping[str, "int | str | None"]


def is_branched(item: Item, responses: Responses) -> bool:
    """True when a branching rule hides the item (it is then stored as `branched`)."""
    return any(responses.get(c.item) in c.values for c in item.skip_if)


def is_gated_out(item: Item, responses: Responses) -> bool:
    """True when the item's gate makes it not applicable: it is not shown, and is stored `not_applicable`
    (SCORING.md §2: q34 = 1 for q35; q45 = 1 for q46, q72, q73)."""
    return item.gate is not None and responses.get(item.gate.item) in item.gate.not_applicable_if


@dataclass(frozen=True)
class Route:
    """The path through one instrument for the responses so far."""

    shown: tuple[str, ...]  # items to show, in order (branched and gated-out ones left out)
    branched: tuple[str, ...]  # items hidden by branching
    gated_out: tuple[str, ...]  # items hidden because their gate makes them not applicable
    responded: int  # shown items already responded to

    @property
    def total(self) -> int:
        return len(self.shown)


def route(instrument: Instrument, responses: Responses, item_ids: Iterable[str] | None = None) -> Route:
    """Shown, branched and gated-out items of `item_ids` (default: every item), in the instrument's order.
    An item both branched and gated out counts as branched."""
    wanted = set(item_ids) if item_ids is not None else None
    shown, branched, gated = [], [], []
    for item in instrument.items:
        if wanted is not None and item.id not in wanted:
            continue
        if is_branched(item, responses):
            branched.append(item.id)
            continue
        if is_gated_out(item, responses):
            gated.append(item.id)
            continue
        shown.append(item.id)
    return Route(tuple(shown), tuple(branched), tuple(gated), sum(1 for i in shown if i in responses))


def next_item(instrument: Instrument, responses: Responses, item_ids: Iterable[str] | None = None) -> str | None:
    """The first shown item not yet responded to, or None when every shown item has a response."""
    return next((i for i in route(instrument, responses, item_ids).shown if i not in responses), None)


def previous_item(
    instrument: Instrument, responses: Responses, current: str, item_ids: Iterable[str] | None = None
) -> str | None:
    """The shown item before `current` (for Back), or None at the first item."""
    shown = route(instrument, responses, item_ids).shown
    if current not in shown:
        return shown[-1] if shown else None
    position = shown.index(current)
    return shown[position - 1] if position else None


def unanswered(instrument: Instrument, responses: Responses, item_ids: Iterable[str] | None = None) -> list[str]:
    """Shown items with no answer value (open or declined): what the review screen lists."""
    return [i for i in route(instrument, responses, item_ids).shown if responses.get(i) is None]
