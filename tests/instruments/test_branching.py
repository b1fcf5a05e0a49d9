"""The kiosk's navigation: which item comes next, which are branched away, which are gated."""

from pro_app.instruments import get_instrument, next_item, previous_item, route, unanswered

PC = get_instrument("pro_ctcae")
BR = get_instrument("qlq_br45")
TERM17 = PC.items_for_selection([17])  # abdominal pain: frequency, severity, interference
A, B, C = TERM17


def test_a_term_starts_with_its_first_attribute():
    assert next_item(PC, {}, TERM17) == A
    assert route(PC, {}, TERM17).shown == (A, B, C)


def test_never_skips_the_rest_of_the_term():
    r = route(PC, {A: 0}, TERM17)
    assert r.shown == (A,) and r.branched == (B, C)
    assert next_item(PC, {A: 0}, TERM17) is None


def test_severity_none_skips_interference():
    assert route(PC, {A: 2, B: 0}, TERM17).branched == (C,)
    assert next_item(PC, {A: 2, B: 0}, TERM17) is None
    assert next_item(PC, {A: 2, B: 1}, TERM17) == C


def test_a_skipped_item_is_not_branching():
    # Declining the frequency question (None) shows the follow-ups; only a 0 answer branches.
    assert route(PC, {A: None}, TERM17).branched == ()
    assert next_item(PC, {A: None}, TERM17) == B


def test_changing_an_answer_reopens_the_items_it_had_hidden():
    assert next_item(PC, {A: 0}, TERM17) is None
    assert next_item(PC, {A: 3}, TERM17) == B


def test_back_goes_to_the_previous_shown_item():
    assert previous_item(PC, {A: 2}, B, TERM17) == A
    assert previous_item(PC, {}, A, TERM17) is None
    # Interference shown after frequency and severity; branched items are never a Back target.
    next_term = PC.items_for_selection([17, 18])
    assert previous_item(PC, {A: 0}, next_term[3], next_term) == A


def test_progress_counts_only_items_the_patient_will_see():
    r = route(PC, {A: 2, B: 1}, TERM17)
    assert (r.responded, r.total) == (2, 3)
    r = route(PC, {A: 0}, TERM17)
    assert (r.responded, r.total) == (1, 1)


def test_a_term_set_is_asked_whole_and_in_library_order():
    term_set = PC.default_term_set
    assert term_set is not None
    items = PC.items_for_selection(term_set.terms)
    assert {PC.item(i).term for i in items} == set(term_set.terms)
    for term in term_set.terms:
        assert [i for i in items if PC.item(i).term == term] == list(PC.items_for_selection([term]))
    assert next_item(PC, {}, items) == items[0]


def test_an_item_its_gate_makes_not_applicable_is_not_shown():
    r = route(BR, {"q34": 1})
    assert "q35" not in r.shown and r.gated_out == ("q35",) and r.branched == ()
    assert next_item(BR, {f"q{n}": 2 for n in range(31, 34)} | {"q34": 1}) == "q36"
    # Some hair loss, or the gate skipped (no answer): the item is asked, with its instruction.
    for gate in (3, None):
        r = route(BR, {"q34": gate})
        assert "q35" in r.shown and "q35" not in r.gated_out
    r = route(BR, {"q45": 1})
    assert set(r.gated_out) == {"q46", "q72", "q73"} and not {"q46", "q72", "q73"} & set(r.shown)
    assert r.total == len(BR.item_ids) - 3
    assert BR.item("q35").gate.instruction.en and BR.item("q35").gate.instruction.es


def test_review_lists_open_and_declined_items_but_not_extra_options():
    items = PC.items_for_selection([36, 17])  # radiation skin reaction has a "not applicable" option
    skin = PC.items_for_selection([36])[0]
    responses = {A: 2, B: None, skin: "not_applicable"}
    assert unanswered(PC, responses, items) == [B, C]
