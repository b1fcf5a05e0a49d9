"""Item types: what each offers the patient, how a posted key is read back, the codebook text, the loader's
checks of numeric ratings, and that a type registered from outside is used with no other change."""

from __future__ import annotations

import pandas as pd
import pytest

from pro_app.instruments import (
    ITEM_TYPES,
    AnswerError,
    Choice,
    InvalidChoice,
    ItemState,
    ItemType,
    get_instrument,
    get_registry,
    load_file,
    score,
    validate_answers,
)
from pro_app.instruments.model import Option, OptionSet, Text
from tests.support.definitions import BUNDLED, assert_reported, definition, load_error, write

C30 = get_instrument("qlq_c30")
PC = get_instrument("pro_ctcae")
Q4 = 3  # items[3] is q4 in qlq_c30.yaml


@pytest.fixture
def c30() -> dict:
    return definition(BUNDLED / "qlq_c30.yaml")


def rating(low: int = 0, high: int = 10, anchors=None) -> dict:
    """The keys that make q4 a numeric rating (its option_set must go)."""
    if anchors is None:
        anchors = {low: {"en": "None at all", "es": "Nada en absoluto"}, high: {"en": "The most", "es": "Lo máximo"}}
    return {"type": "numeric_rating", "min": low, "max": high, "anchors": anchors}


def as_rating(doc: dict, **keys) -> dict:
    """q4 of the C30 copy turned into a numeric rating, scored alone as scale Q4R: PF2 loses it (items of
    an EORTC scale share a range) and the examples drop it (their answers are not 0-10 ones)."""
    item = doc["items"][Q4]
    del item["option_set"]
    item.update(rating(**keys))
    doc["scales"][1]["items"].remove("q4")
    doc["scales"].insert(1, {"code": "Q4R", "name": {"en": "Rating", "es": "Valoración"}, "type": "symptom",
                             "method": "eortc_symptom", "items": ["q4"]})
    for example in doc["examples"]:
        example["answers"].pop("q4", None)
    return doc


# --- single_choice: today's behaviour, exactly -----------------------------------------------------------
def test_an_item_without_a_type_is_single_choice_laid_out_as_a_list():
    item = C30.item("q1")
    assert item.type is ITEM_TYPES["single_choice"]
    assert item.layout == "list"


def test_single_choice_offers_each_option_keyed_by_value_or_code():
    assert C30.item("q1").choices("es") == (
        Choice("1", "En absoluto", 1, None, ItemState.ANSWERED),
        Choice("2", "Un poco", 2, None, ItemState.ANSWERED),
        Choice("3", "Bastante", 3, None, ItemState.ANSWERED),
        Choice("4", "Mucho", 4, None, ItemState.ANSWERED),
    )
    keys = [(c.key, c.label, c.state) for c in PC.item("PROCTCAE_68A_SCL").choices("en")]
    assert keys[-2:] == [("not_sexually_active", "Not sexually active", "not_applicable"),
                         ("prefer_not_to_answer", "Prefer not to answer", "declined")]
    assert keys[0] == ("0", "None", "answered")


def test_single_choice_parses_a_posted_key():
    assert C30.item("q29").parse("7") == (7, None, ItemState.ANSWERED)
    assert PC.item("PROCTCAE_68A_SCL").parse("prefer_not_to_answer") == (None, "prefer_not_to_answer", "declined")
    assert PC.item("PROCTCAE_36A_SCL").parse("not_applicable") == (None, "not_applicable", "not_applicable")


@pytest.mark.parametrize("key", ["5", "0", "", " 1", "1.0", "one", "not_applicable"])
def test_single_choice_refuses_any_other_key(key):
    with pytest.raises(InvalidChoice) as info:
        C30.item("q1").parse(key)
    assert isinstance(info.value, ValueError)
    assert info.value.item_id == "q1" and info.value.allowed == ("1", "2", "3", "4")
    assert "q1" in str(info.value) and "1, 2, 3, 4" in str(info.value)


def old_option_text(item) -> str:
    """The codebook text: `code = label` for every value and every extra option (issue 15)."""
    option_set = item.option_set
    parts = [f"{o.value} = {o.label.en}" for o in option_set.options if o.value is not None]
    extras = [f"{o.code} = {o.label.en} (stored as state {o.state}, no value)" for o in option_set.extras]
    return "; ".join(parts + extras)


def test_single_choice_codebook_is_unchanged_for_every_bundled_item():
    for instrument in get_registry():
        for item in instrument.items:
            assert item.codebook() == old_option_text(item), item.id
    assert C30.item("q1").codebook() == "1 = Not at all; 2 = A little; 3 = Quite a bit; 4 = Very much"
    assert PC.item("PROCTCAE_36A_SCL").codebook() == (
        "0 = None; 1 = Mild; 2 = Moderate; 3 = Severe; 4 = Very severe; "
        "not_applicable = Not applicable (stored as state not_applicable, no value)")


def test_option_states_are_item_states():
    states = {o.state for i in PC.items for o in i.option_set.options}
    assert states == {ItemState.ANSWERED, ItemState.NOT_APPLICABLE, ItemState.DECLINED}
    assert all(type(s) is ItemState for s in states)


# --- numeric_rating ------------------------------------------------------------------------------------
def test_numeric_rating_is_an_option_set_of_whole_numbers(c30, tmp_path):
    anchors = {0: {"en": "None at all", "es": "Nada en absoluto"}, "10": {"en": "The most", "es": "Lo máximo"}}
    instrument = load_file(write(tmp_path, as_rating(c30, anchors=anchors)))
    item = instrument.item("q4")
    assert item.type is ITEM_TYPES["numeric_rating"] and item.layout == "scale"
    assert item.option_set.values == tuple(range(11))
    assert item.option_set.extras == ()
    assert [(v, t.en) for v, t in item.anchors] == [(0, "None at all"), (10, "The most")]
    choices = item.choices("es")
    assert [c.key for c in choices] == [str(n) for n in range(11)]
    assert [c.value for c in choices] == list(range(11))
    assert choices[0].label == "0 (Nada en absoluto)" and choices[10].label == "10 (Lo máximo)"
    assert choices[3] == Choice("3", "3", 3, None, ItemState.ANSWERED)
    assert item.choices("en")[10].label == "10 (The most)"
    assert item.parse("10") == (10, None, ItemState.ANSWERED)
    with pytest.raises(InvalidChoice):
        item.parse("11")
    assert item.codebook() == "0 = None at all; " + "".join(f"{v} = {v}; " for v in range(1, 10)) + "10 = The most"


def test_numeric_rating_scores_and_validates_like_any_item(c30, tmp_path):
    instrument = load_file(write(tmp_path, as_rating(c30)))
    got = score(instrument, pd.DataFrame({"q4": [0.0, 5.0, 10.0, float("nan")]}))
    assert got.values["Q4R"].tolist()[:3] == [0.0, 50.0, 100.0]
    assert list(got.status["Q4R"]) == ["scored", "scored", "scored", "insufficient"]
    with pytest.raises(AnswerError):
        validate_answers(instrument, pd.DataFrame({"q4": [11]}))
    validate_answers(instrument, pd.DataFrame({"q4": [0, 10]}))


@pytest.mark.parametrize(
    "keys, where, words",
    [
        ({"anchors": {0: {"en": "a", "es": "a"}, 11: {"en": "b", "es": "b"}}}, "items[3].anchors.11",
         ("11", "outside the scale", "0 to 10")),
        ({"anchors": {0: {"en": "a", "es": "a"}, 5: {"en": "b", "es": "b"}}}, "items[3].anchors",
         ("both ends", "[10]")),
        ({"anchors": {0: {"en": "a", "es": "a"}, "ten": {"en": "b", "es": "b"}}}, "items[3].anchors.ten",
         ("whole number",)),
        ({"low": 5, "high": 4, "anchors": {4: {"en": "a", "es": "a"}, 5: {"en": "b", "es": "b"}}}, "items[3].max",
         ("greater than min",)),
        ({"low": 0, "high": 30}, "items[3].max", ("at most 21 points", "31")),
    ],
    ids=["anchor-outside-range", "end-without-anchor", "anchor-not-a-number", "max-not-above-min", "too-wide"],
)
def test_numeric_rating_meaning_errors(c30, tmp_path, keys, where, words):
    error, path = load_error(tmp_path, as_rating(c30, **keys))
    assert_reported(error, path, where, *words)


def test_numeric_rating_with_an_option_set_is_refused(c30, tmp_path):
    c30["items"][Q4].update(rating())
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3].option_set", "does not belong on a numeric_rating item")


@pytest.mark.parametrize("missing", ["min", "max", "anchors"])
def test_numeric_rating_needs_min_max_and_anchors(c30, tmp_path, missing):
    doc = as_rating(c30)
    del doc["items"][Q4][missing]
    error, path = load_error(tmp_path, doc)
    assert_reported(error, path, "items[3]", f"'{missing}'", "required")


def test_rating_keys_on_a_single_choice_item_are_refused(c30, tmp_path):
    c30["items"][Q4]["max"] = 10
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3].max", "does not belong on a single_choice item")


def test_single_choice_needs_an_option_set(c30, tmp_path):
    del c30["items"][Q4]["option_set"]
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3]", "'option_set'", "required")


def test_example_answer_outside_a_rating_is_refused(c30, tmp_path):
    doc = as_rating(c30)
    doc["examples"][0]["answers"]["q4"] = 11
    error, path = load_error(tmp_path, doc)
    assert_reported(error, path, "examples[0].answers.q4", "11", "not an allowed answer")


def test_unknown_item_type_lists_the_known_ones(c30, tmp_path):
    c30["items"][Q4]["type"] = "slider"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3].type", "unknown item type 'slider'", "numeric_rating", "single_choice")
    # Its examples are not reported again: the item's answers are unknown, not wrong.
    assert not any(at.startswith("examples") for at, _ in error.problems)


# --- a type registered from outside the library --------------------------------------------------------
class YesNo(ItemType):
    """Answers 1 = yes, 0 = no, with no option set in the file."""

    name = "yes_no"
    layout = "list"

    def check(self, raw, doc, where):
        return []

    def values(self, raw, doc):
        return {0, 1}

    def options(self, raw, option_sets):
        return OptionSet(f"{raw['id']}:yes_no", (Option(Text("No", "No"), 0), Option(Text("Yes", "Sí"), 1)))


def test_a_registered_item_type_is_used_with_no_other_change(c30, tmp_path, monkeypatch):
    monkeypatch.setitem(ITEM_TYPES, "yes_no", YesNo())
    item = c30["items"][Q4]
    del item["option_set"]
    item["type"] = "yes_no"
    c30["scales"][1]["items"].remove("q4")  # PF2 items must share a range
    c30["scales"].insert(1, {"code": "YN", "name": {"en": "Yes", "es": "Sí"}, "type": "symptom",
                             "method": "eortc_symptom", "items": ["q4"]})
    for example in c30["examples"]:
        example["answers"].pop("q4", None)
    instrument = load_file(write(tmp_path, c30))
    q4 = instrument.item("q4")
    assert [(c.key, c.label) for c in q4.choices("es")] == [("0", "No"), ("1", "Sí")]
    assert q4.parse("1") == (1, None, "answered")
    assert q4.codebook() == "0 = No; 1 = Yes"
    got = score(instrument, pd.DataFrame({"q4": [0.0, 1.0]}))
    assert got.values["YN"].tolist() == [0.0, 100.0]
