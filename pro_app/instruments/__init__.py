"""The instrument library: definitions, validation, registry, branching and scoring. No Flask here."""

from .branching import Route, is_branched, is_gated_out, next_item, previous_item, route, unanswered
from .loader import InstrumentError, build, bundled_dir, load_file
from .model import ITEM_STATES, SCORE_STATUSES, Instrument, Item, Scale, Text
from .registry import Registry, build_registry, get_instrument, get_registry
from .scoring import ENGINE_VERSION, AnswerError, Scores, item_matrix, score, validate_answers

__all__ = [
    "ENGINE_VERSION", "ITEM_STATES", "SCORE_STATUSES",
    "AnswerError", "Instrument", "InstrumentError", "Item", "Registry", "Route", "Scale", "Scores", "Text",
    "build", "build_registry", "bundled_dir", "get_instrument", "get_registry", "is_branched", "is_gated_out",
    "item_matrix", "load_file", "next_item", "previous_item", "route", "score", "unanswered", "validate_answers",
]
