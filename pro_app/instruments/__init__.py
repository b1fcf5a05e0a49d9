"""The instrument library: definitions, validation, registry, branching and scoring. No Flask here."""

from .branching import Route, is_branched, is_gated_out, next_item, previous_item, route, unanswered
from .item_types import ITEM_TYPES, Choice, InvalidChoice, ItemType, register_item_type
from .loader import InstrumentError, build, bundled_dir, load_file
from .methods import SCORING_METHODS, ScoringContext, ScoringMethod, register_method, value_range
from .model import (
    ALERT_RULE_KINDS,
    ITEM_STATES,
    SCORE_STATUSES,
    AlertRule,
    ChartGroup,
    Instrument,
    Item,
    ItemState,
    Scale,
    ScoreStatus,
    Term,
    TermSet,
    Text,
    Threshold,
)
from .registry import Registry, build_registry, get_instrument, get_registry
from .scoring import ENGINE_VERSION, AnswerError, Scores, item_matrix, score, validate_answers

__all__ = [
    "ALERT_RULE_KINDS", "ENGINE_VERSION", "ITEM_STATES", "ITEM_TYPES", "SCORE_STATUSES", "SCORING_METHODS",
    "AlertRule", "AnswerError", "ChartGroup", "Choice", "Instrument", "InstrumentError", "InvalidChoice", "Item",
    "ItemState", "ItemType", "Registry", "Route", "Scale", "ScoreStatus", "Scores", "ScoringContext",
    "ScoringMethod", "Term", "TermSet", "Text", "Threshold",
    "build", "build_registry", "bundled_dir", "get_instrument", "get_registry", "is_branched", "is_gated_out",
    "item_matrix", "load_file", "next_item", "previous_item", "register_item_type", "register_method", "route",
    "score", "unanswered", "validate_answers", "value_range",
]
