"""The bundled definitions keep the contracts: ids, structure, both languages, our own wording."""

import csv
from pathlib import Path

import pytest

from pro_app.instruments import bundled_dir, get_instrument, get_registry

TERMS_CSV = Path(__file__).parents[1] / "data" / "proctcae_terms.csv"


def test_the_three_instruments_are_bundled():
    assert set(get_registry().ids) >= {"qlq_c30", "qlq_br45", "pro_ctcae"}


def test_c30_structure():
    inst = get_instrument("qlq_c30")
    assert inst.item_ids == tuple(f"q{n}" for n in range(1, 31))
    assert [i.number for i in inst.items] == list(range(1, 31))
    assert all(i.option_set.values == (1, 2, 3, 4) for i in inst.items[:28])
    assert all(i.option_set.values == tuple(range(1, 8)) for i in inst.items[28:])
    assert [i.recall for i in inst.items[:5]] == ["none"] * 5
    assert {i.recall for i in inst.items[5:]} == {"past_week"}
    assert inst.scale_codes == ("QL2", "PF2", "RF2", "EF", "CF", "SF", "FA", "NV", "PA", "DY", "SL", "AP", "CO",
                                "DI", "FI", "SUMSC")


def test_br45_structure():
    inst = get_instrument("qlq_br45")
    assert inst.item_ids == tuple(f"q{n}" for n in range(31, 76))
    four_weeks = {f"q{n}" for n in (44, 45, 46, 70, 71, 72, 73)}
    assert {i.id for i in inst.items if i.recall != inst.items[0].recall} == four_weeks
    assert {i.id: (i.gate.item, i.gate.not_applicable_if) for i in inst.items if i.gate} == {
        "q35": ("q34", (1,)), "q46": ("q45", (1,)), "q72": ("q45", (1,)), "q73": ("q45", (1,))}
    assert set(inst.scale_codes) == {"BI", "FU", "SX", "SE", "BS", "SYS", "HU", "ARM", "BR", "ET", "SM", "ES"}
    assert inst.scale("ET").items == tuple(f"q{n}" for n in (54, 55, 56, 63, 64, 65, 66, 67, 68, 69))
    assert {s.code for s in inst.scales if s.method == "eortc_functional"} == {"BI", "FU"}


def _terms():
    with TERMS_CSV.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_pro_ctcae_matches_the_published_library():
    inst = get_instrument("pro_ctcae")
    rows = _terms()
    assert [t.number for t in inst.terms] == [int(r["term_number"]) for r in rows] == list(range(1, 81))
    expected_items = [v for r in rows for v in r["variables"].split(";")]
    assert list(inst.item_ids) == expected_items and len(expected_items) == 124
    for row in rows:
        items = [inst.item(v) for v in row["variables"].split(";")]
        assert [i.attribute for i in items] == row["attributes"].split(";")
        extras = [o.label.en for o in items[0].option_set.extras]
        assert extras == (row["extra_options"].split(";") if row["extra_options"] else [])
        has_composite = f"PROCTCAE_{row['term_number']}_COMP" in inst.scale_codes
        assert has_composite == (row["attributes"] != "presence")


def test_pro_ctcae_option_values_and_chained_branching():
    inst = get_instrument("pro_ctcae")
    for item in inst.items:
        assert item.option_set.values == ((0, 1) if item.attribute == "presence" else (0, 1, 2, 3, 4))
        term_items = inst.items_for_selection([item.term])
        earlier = term_items[: term_items.index(item.id)]
        assert [c.item for c in item.skip_if] == list(earlier)
        assert all(c.values == (0,) for c in item.skip_if)


def test_extra_options_record_their_state():
    inst = get_instrument("pro_ctcae")
    states = {o.code: o.state for o in inst.item("PROCTCAE_68A_SCL").option_set.extras}
    assert states == {"not_sexually_active": "not_applicable", "prefer_not_to_answer": "declined"}
    assert [o.state for o in inst.item("PROCTCAE_36A_SCL").option_set.extras] == ["not_applicable"]


@pytest.mark.parametrize("instrument_id", ["qlq_c30", "qlq_br45", "pro_ctcae"])
def test_every_text_is_translated(instrument_id):
    inst = get_instrument(instrument_id)
    texts = [inst.title, inst.instructions, *inst.recall_periods.values()]
    texts += [i.text for i in inst.items] + [s.name for s in inst.scales] + [t.name for t in inst.terms]
    texts += [i.gate.instruction for i in inst.items if i.gate]
    for text in texts:
        assert text.en.strip() and text.es.strip()
    # Item questions are really translated, not copied across.
    assert all(i.text.en != i.text.es for i in inst.items)


# Official sentences that must never appear in the bundled files (licence rule: our own wording only).
LICENSED_SENTENCES = [
    "trouble doing strenuous activities",
    "Do you need to stay in bed or a chair during the day",
    "Were you short of breath",
    "Did you need to rest",
    "How would you rate your overall health during the past week",
    "How would you rate your overall quality of life during the past week",
    "Did you feel less feminine as a result of your disease or treatment",
    "how OFTEN did you have",
    "what was the SEVERITY of your",
    "INTERFERE with your usual or daily activities",
]


def test_bundled_files_are_our_own_wording():
    for path in bundled_dir().glob("*.yaml"):
        text = path.read_text(encoding="utf-8").lower()
        for sentence in LICENSED_SENTENCES:
            assert sentence.lower() not in text, f"{path.name} contains licensed wording: {sentence!r}"
        assert "wording: paraphrased" in text
