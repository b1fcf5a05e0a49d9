"""The missing-data vocabulary of SCORING.md §5, as enums so a typo is an error rather than a silent new state.

Both are `StrEnum`s: a member equals its text ("answered" == ItemState.ANSWERED), so stored rows, JSON and
exports keep plain strings.
"""

from __future__ import annotations

from enum import StrEnum


class ItemState(StrEnum):
    """What became of one item of an administered assessment."""

    ANSWERED = "answered"
    DECLINED = "declined"  # the patient chose to skip it and confirmed
    BRANCHED = "branched"  # not shown because of a branching rule
    NOT_APPLICABLE = "not_applicable"  # a not-applicable option was chosen
    NOT_REACHED = "not_reached"  # the assessment was left before the item was shown


class ScoreStatus(StrEnum):
    """Whether a scale has a score; the order is the order of the integer codes the engine uses."""

    SCORED = "scored"
    INSUFFICIENT = "insufficient"  # too few answers (the half rule, or a missing PRO-CTCAE item)
    NOT_APPLICABLE = "not_applicable"  # every item gated out


#: The values as plain tuples, for callers that only need the names (e.g. database check constraints).
ITEM_STATES: tuple[str, ...] = tuple(s.value for s in ItemState)
SCORE_STATUSES: tuple[str, ...] = tuple(s.value for s in ScoreStatus)
