"""The SDTM QS block of an instrument definition (`cdisc`): test codes and short names as data, with their
source, checked at load like the rest of the file."""

from __future__ import annotations

import copy

import pytest

from pro_app.instruments import get_registry
from pro_app.instruments.loader import InstrumentError, load_file
from pro_app.instruments.registry import build_registry
from tests.support.definitions import BUNDLED, assert_reported, definition, load_error, small_instrument, write


@pytest.fixture
def c30() -> dict:
    return definition(BUNDLED / "qlq_c30.yaml")


def test_every_bundled_item_has_a_test_code_and_a_short_name_of_our_own():
    codes = {}
    for instrument in get_registry():
        assert instrument.cdisc is not None, instrument.id
        assert instrument.cdisc.codes in ("cdisc", "sponsor") and instrument.cdisc.source.strip()
        assert set(instrument.cdisc.evaluation_intervals) == set(instrument.recall_periods)
        for item in instrument.items:
            code, name = item.cdisc.testcd, item.cdisc.test
            assert len(code) <= 8 and code.isupper() and code[0].isalpha(), (item.id, code)
            assert len(name) <= 40, (item.id, name)
            assert name.casefold() not in (item.text.en.casefold(), item.text.es.casefold()), item.id
            assert code not in codes, f"{code} used by {codes.get(code)} and {item.id}"
            codes[code] = item.id
        for scale in instrument.scales:
            assert len(scale.paramcd) <= 8 and scale.paramcd not in codes, (scale.code, scale.paramcd)
            codes[scale.paramcd] = scale.code
    c30 = get_registry().get("qlq_c30")
    assert c30.cdisc.codes == "cdisc" and c30.item("q1").cdisc.testcd == "EOR0101"
    assert c30.item("q30").cdisc.testcd == "EOR0130"
    for sponsor in ("qlq_br45", "pro_ctcae"):  # CDISC codes none of these: the definition says so
        info = get_registry().get(sponsor).cdisc
        assert info.codes == "sponsor" and "sponsor" in info.source.lower()


def test_a_test_code_longer_than_eight_characters_is_refused(c30, tmp_path):
    c30["items"][0]["cdisc"]["testcd"] = "EOR010100"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[0].cdisc.testcd", "does not match")


def test_a_test_name_longer_than_forty_characters_is_refused(c30, tmp_path):
    c30["items"][0]["cdisc"]["test"] = "x" * 41
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[0].cdisc.test", "is too long")


def test_the_question_text_is_refused_as_test_name(c30, tmp_path):
    c30["items"][1]["cdisc"]["test"] = c30["items"][1]["text"]["en"][:40]
    c30["items"][1]["text"]["en"] = c30["items"][1]["cdisc"]["test"]
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[1].cdisc.test", "not the item's question text")


def test_duplicate_test_codes_and_qsall_are_refused(c30, tmp_path):
    c30["items"][2]["cdisc"]["testcd"] = "EOR0101"
    c30["items"][3]["cdisc"]["testcd"] = "QSALL"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[2].cdisc.testcd", "'EOR0101'", "items[0]")
    assert_reported(error, path, "items[3].cdisc.testcd", "QSALL")


def test_scale_parameter_codes_are_unique_and_not_item_codes(c30, tmp_path):
    c30["scales"][1]["cdisc"]["paramcd"] = c30["scales"][0]["cdisc"]["paramcd"]
    c30["scales"][2]["cdisc"]["paramcd"] = "EOR0101"
    del c30["scales"][3]["cdisc"]  # EF: a code that fits serves as its own
    del c30["scales"][15]["cdisc"]  # SUMSC
    c30["scales"][15]["code"] = "SUMMARY_SCORE"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[1].cdisc.paramcd", "scales[0]")
    assert_reported(error, path, "scales[2].cdisc.paramcd", "items[0]")
    assert_reported(error, path, "scales[15]", "'SUMMARY_SCORE'", "paramcd")
    assert not [p for p in error.problems if p[0].startswith("scales[3]")]


def test_an_item_without_its_block_is_refused_when_the_instrument_has_one(c30, tmp_path):
    del c30["items"][4]["cdisc"]
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[4]", "cdisc")


def test_an_item_block_without_the_instruments_block_is_refused(c30, tmp_path):
    del c30["cdisc"]
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[0].cdisc", "instrument's `cdisc` block")
    assert_reported(error, path, "scales[0].cdisc", "instrument's `cdisc` block")


def test_every_recall_period_needs_an_evaluation_interval(c30, tmp_path):
    del c30["cdisc"]["evaluation_intervals"]["past_week"]
    c30["cdisc"]["evaluation_intervals"]["yesterday"] = "-P1D"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "cdisc.evaluation_intervals", "'past_week'")
    assert_reported(error, path, "cdisc.evaluation_intervals.yesterday", "unknown recall period")


def test_an_evaluation_interval_must_be_an_iso_duration(c30, tmp_path):
    c30["cdisc"]["evaluation_intervals"]["past_week"] = "1 week"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "cdisc.evaluation_intervals.past_week", "does not match")


def test_codes_must_say_whose_they_are(c30, tmp_path):
    c30["cdisc"]["codes"] = "ours"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "cdisc.codes", "is not one of")


def test_an_instrument_without_cdisc_blocks_still_loads(tmp_path):
    instrument = load_file(write(tmp_path, small_instrument("extra", "x1", "XS")))
    assert instrument.cdisc is None and all(i.cdisc is None for i in instrument.items)


def test_a_licensed_override_must_keep_the_test_codes(c30, tmp_path):
    bundled = tmp_path / "bundled"
    write(bundled, c30, "qlq_c30.yaml")
    override = tmp_path / "licensed"
    doc = copy.deepcopy(c30)
    doc["wording"] = "licensed"
    doc["items"][0]["cdisc"]["test"] = "Another short name"  # a name may change
    write(override, doc, "c30.yaml")
    assert build_registry(bundled, override).get("qlq_c30").item("q1").cdisc.test == "Another short name"
    doc["items"][0]["cdisc"]["testcd"] = "EOR9999"
    write(override, doc, "c30.yaml")
    with pytest.raises(InstrumentError) as info:
        build_registry(bundled, override)
    assert "CDISC codes" in str(info.value)
