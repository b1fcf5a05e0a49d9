"""How staff pages show an answer or an item state."""

from __future__ import annotations

from ..instruments import Instrument
from ..models import ItemResponse
from ..vocabulary import ITEM_STATE_LABELS, ItemState


def answer_label(instrument: Instrument, row: ItemResponse, lang: str) -> str:
    """The answer as staff read it: "2 · A little", or the extra option's label."""
    for o in instrument.item(row.item_id).option_set.options:
        if row.state == ItemState.ANSWERED and o.value is not None and o.value == row.value:
            return f"{o.value} · {o.label.get(lang)}"
        if row.option_code and o.code == row.option_code:
            return o.label.get(lang)
    return ""


def response_label(instrument: Instrument, item_id: str, value, option_code, state: str, lang: str) -> str:
    """An answer, or the item's state when it has none ("Declined", "Skipped by branching")."""
    if state == ItemState.ANSWERED or option_code:
        row = ItemResponse(item_id=item_id, value=value, option_code=option_code, state=state)
        return answer_label(instrument, row, lang) or str(value)
    return str(ITEM_STATE_LABELS.get(state, state))
