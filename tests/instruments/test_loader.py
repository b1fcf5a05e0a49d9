"""Loading instrument definitions: every malformed file is refused with a message that names the file,
the place inside it and the problem; the registry combines bundled files with a site's licensed overrides.

Malformed definitions are made from the bundled QLQ-C30-style file: load it, change a deep copy, write
it to a temporary file and load that.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pro_app.cli import main
from pro_app.instruments import registry as registry_module
from pro_app.instruments.loader import InstrumentError, load_file
from pro_app.instruments.registry import build_registry, get_registry
from tests.support.definitions import BUNDLED, assert_reported, definition, load_error, small_instrument, write

C30_FILE = BUNDLED / "qlq_c30.yaml"

# Positions in qlq_c30.yaml, for readability.
Q4 = 3  # items[3] is q4
Q6 = 5  # items[5] is q6
PF2 = 1  # scales[1] is PF2
SUMSC = 15  # scales[15] is SUMSC


@pytest.fixture
def c30() -> dict:
    """A fresh, freely changeable copy of the bundled QLQ-C30-style definition."""
    return definition(C30_FILE)


def gate(item: str, values: list[int]) -> dict:
    return {"item": item, "not_applicable_if": values,
            "instruction": {"en": "Answer only if ...", "es": "Responda solo si ..."}}


def test_the_bundled_file_itself_loads(c30, tmp_path):
    """Control for every test below: the unchanged copy, written the same way, is valid."""
    instrument = load_file(write(tmp_path, c30, "qlq_c30.yaml"))
    assert instrument.id == "qlq_c30"
    assert len(instrument.items) == 30


# ------------------------------------------------------------------------------------------------
# texts
# ------------------------------------------------------------------------------------------------
def test_missing_spanish_text_on_an_item(c30, tmp_path):
    del c30["items"][Q4]["text"]["es"]
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3].text", "'es'")


def test_empty_english_text_on_an_item(c30, tmp_path):
    c30["items"][Q4]["text"]["en"] = ""
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3].text.en", "empty")


# ------------------------------------------------------------------------------------------------
# items and option sets
# ------------------------------------------------------------------------------------------------
def test_unknown_option_set_on_an_item(c30, tmp_path):
    c30["items"][Q4]["option_set"] = "five_point"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3].option_set", "unknown option set", "five_point")


def test_duplicate_item_id(c30, tmp_path):
    c30["items"][Q4]["id"] = "q1"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3].id", "duplicate item id", "'q1'")


@pytest.mark.parametrize(
    "values, shown",
    [([1, 2, 3, 5], "[1, 2, 3, 5]"), ([1, 2, 2, 3], "[1, 2, 2, 3]")],
    ids=["gap", "repeated"],
)
def test_option_set_values_must_be_unique_and_consecutive(c30, tmp_path, values, shown):
    for option, value in zip(c30["option_sets"]["four_point"], values, strict=True):
        option["value"] = value
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "option_sets.four_point", "consecutive", shown)


def test_option_with_both_value_and_code(c30, tmp_path):
    c30["option_sets"]["four_point"][0].update(code="declined", state="declined")
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "option_sets.four_point[0]", "`value`", "`code`", "not both")


def test_unknown_top_level_key(c30, tmp_path):
    c30["scoring_notes"] = "something the format does not have"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "", "'scoring_notes'")


# ------------------------------------------------------------------------------------------------
# gates (branching must point forward: a gate names an earlier item)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["q7", "q6"], ids=["later-item", "itself"])
def test_gate_must_name_an_earlier_item(c30, tmp_path, target):
    c30["items"][Q6]["gate"] = gate(target, [1])
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[5].gate.item", f"'{target}'", "does not come before")


def test_gate_naming_an_unknown_item(c30, tmp_path):
    c30["items"][Q6]["gate"] = gate("q99", [1])
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[5].gate.item", "unknown item", "'q99'")


def test_gate_value_that_is_not_an_answer_of_the_gate_item(c30, tmp_path):
    c30["items"][Q6]["gate"] = gate("q5", [1, 9])  # q5 is answered 1-4
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[5].gate", "[9]", "not answers of 'q5'")


def test_a_valid_gate_is_accepted(c30, tmp_path):
    c30["items"][Q6]["gate"] = gate("q5", [4])
    instrument = load_file(write(tmp_path, c30))
    assert instrument.item("q6").gate.item == "q5"
    assert instrument.item("q6").gate.not_applicable_if == (4,)


# ------------------------------------------------------------------------------------------------
# scales
# ------------------------------------------------------------------------------------------------
def test_scale_referencing_an_unknown_item(c30, tmp_path):
    c30["scales"][PF2]["items"][2] = "q99"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[1].items[2]", "unknown item", "'q99'")


def test_reverse_item_that_is_not_in_the_scale(c30, tmp_path):
    c30["scales"][PF2]["reverse_items"] = ["q1", "q6"]
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[1].reverse_items[1]", "'q6'", "not an item of this scale")
    assert not any(at == "scales[1].reverse_items[0]" for at, _ in error.problems)


def test_mean_of_scales_naming_an_unknown_scale(c30, tmp_path):
    c30["scales"][SUMSC]["scales"].append("XX")
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[15].scales[13]", "'XX'", "not a scale defined before")


def test_mean_of_scales_naming_a_later_scale(c30, tmp_path):
    early_summary = {
        "code": "EARLY",
        "name": {"en": "Early summary", "es": "Resumen temprano"},
        "type": "summary",
        "method": "mean_of_scales",
        "scales": ["QL2", "PF2"],
    }
    c30["scales"].insert(1, early_summary)  # after QL2, before PF2
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[1].scales[1]", "'PF2'", "not a scale defined before")
    assert not any(at == "scales[1].scales[0]" for at, _ in error.problems)  # QL2 comes before


def test_duplicate_scale_code(c30, tmp_path):
    c30["scales"][3]["code"] = "PF2"  # EF renamed PF2
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[3].code", "duplicate scale code", "'PF2'")


def test_scale_code_equal_to_an_item_id(c30, tmp_path):
    """Item ids and scale codes are both export column names, so they may not collide."""
    c30["scales"][9]["code"] = "q8"  # DY, whose only item is q8
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[9].code", "'q8'", "item id")


# ------------------------------------------------------------------------------------------------
# worked examples
# ------------------------------------------------------------------------------------------------
def test_example_naming_an_unknown_scale(c30, tmp_path):
    c30["examples"][0]["expected"]["XX"] = 50
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "examples[0].expected.XX", "unknown scale")


def test_example_naming_an_unknown_item(c30, tmp_path):
    c30["examples"][1]["answers"]["q99"] = 1
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "examples[1].answers.q99", "unknown item")


def test_example_with_an_answer_that_is_not_allowed(c30, tmp_path):
    c30["examples"][0]["answers"]["q1"] = 7  # q1 is answered 1-4 (7 is fine on q29 only)
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "examples[0].answers.q1", "7", "not an allowed answer")


def test_wrong_worked_example_loads_but_fails_the_check_command(c30, tmp_path):
    c30["examples"][0]["expected"]["QL2"] = 50  # the engine gives 66.67
    path = write(tmp_path, c30, "qlq_c30.yaml")
    assert load_file(path).id == "qlq_c30"  # not a load error

    result = CliRunner().invoke(main, ["instruments", "check", str(path)])
    assert result.exit_code != 0
    assert "ok" not in result.stdout
    problem_lines = [line for line in result.stderr.splitlines() if "QL2" in line]
    assert problem_lines, result.stderr
    assert str(path) in problem_lines[0]
    assert "examples[0]" in problem_lines[0]
    assert "SCORING.md worked example, all items answered" in problem_lines[0]
    assert "expected 50" in problem_lines[0] and "66.66" in problem_lines[0]


def test_correct_worked_examples_pass_the_check_command(c30, tmp_path):
    path = write(tmp_path, c30, "qlq_c30.yaml")
    result = CliRunner().invoke(main, ["instruments", "check", str(path)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ok  qlq_c30")


# ------------------------------------------------------------------------------------------------
# the file as a whole
# ------------------------------------------------------------------------------------------------
def test_invalid_yaml_gives_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(
        'id: qlq_c30\nversion: "1"\nitems:\n  - id: q1\n    number: 1\n   option_set: four_point\n',
        encoding="utf-8",
    )
    with pytest.raises(InstrumentError) as info:
        load_file(path)
    text = str(info.value)
    assert text.startswith(f"{path}: line 6")
    assert "not valid YAML" in text


@pytest.mark.parametrize("content", ["- id: qlq_c30\n- version: '1'\n", ""], ids=["list", "empty"])
def test_file_that_is_not_a_mapping(tmp_path, content):
    path = tmp_path / "broken.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        load_file(path)
    assert_reported(info.value, path, "", "mapping")


def test_two_meaning_problems_are_both_reported(c30, tmp_path):
    c30["items"][Q4]["option_set"] = "five_point"
    c30["scales"][PF2]["reverse_items"] = ["q6"]
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3].option_set", "five_point")
    assert_reported(error, path, "scales[1].reverse_items[0]", "'q6'")


def test_two_shape_problems_are_both_reported(c30, tmp_path):
    del c30["items"][Q4]["text"]["es"]
    c30["title"]["en"] = ""
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "items[3].text", "'es'")
    assert_reported(error, path, "title.en", "empty")


# ------------------------------------------------------------------------------------------------
# registry: bundled files, overrides, unique column names
# ------------------------------------------------------------------------------------------------
def licensed(doc: dict, q1_text: str = "Licensed wording of item 1") -> dict:
    """A licensed copy: same structure, other texts."""
    doc = copy.deepcopy(doc)
    doc["wording"] = "licensed"
    doc["title"]["en"] = "QLQ-C30 (licensed)"
    doc["items"][0]["text"] = {"en": q1_text, "es": "Texto con licencia del ítem 1"}
    doc["option_sets"]["four_point"][1]["label"]["en"] = "Slightly"
    return doc


@pytest.fixture
def bundled(c30, tmp_path) -> Path:
    """A bundled folder holding only the QLQ-C30-style file."""
    folder = tmp_path / "bundled"
    write(folder, c30, "qlq_c30.yaml")
    return folder


def test_registry_without_override_uses_the_bundled_file(bundled):
    registry = build_registry(bundled)
    assert registry.ids == ("qlq_c30",)
    assert registry.get("qlq_c30").wording == "paraphrased"


def test_override_with_changed_wording_replaces_the_bundled_file(c30, bundled, tmp_path):
    override = tmp_path / "licensed"
    source = write(override, licensed(c30), "c30_licensed.yaml")
    registry = build_registry(bundled, override)
    instrument = registry.get("qlq_c30")
    assert registry.ids == ("qlq_c30",)  # replaced, not added
    assert instrument.item("q1").text.en == "Licensed wording of item 1"
    assert instrument.item("q1").text.es == "Texto con licencia del ítem 1"
    assert instrument.title.en == "QLQ-C30 (licensed)"
    assert instrument.wording == "licensed"
    assert instrument.source == str(source)


def test_override_may_add_an_instrument_that_is_not_bundled(bundled, tmp_path):
    override = tmp_path / "licensed"
    write(override, small_instrument("extra", "x1", "XS"), "extra.yaml")
    assert build_registry(bundled, override).ids == ("qlq_c30", "extra")


def drop_q30(doc: dict) -> None:
    doc["items"] = [i for i in doc["items"] if i["id"] != "q30"]
    doc["scales"][0]["items"] = ["q29"]
    for example in doc["examples"]:
        example["answers"].pop("q30", None)


def add_answer_value(doc: dict) -> None:
    doc["option_sets"]["four_point"].append({"value": 5, "label": {"en": "Extremely", "es": "Muchísimo"}})


def drop_scale_item(doc: dict) -> None:
    doc["scales"][PF2]["items"].remove("q5")


@pytest.mark.parametrize("change", [drop_q30, add_answer_value, drop_scale_item])
def test_override_that_changes_the_structure_is_rejected(c30, bundled, tmp_path, change):
    doc = licensed(c30)
    change(doc)
    override = tmp_path / "licensed"
    source = write(override, doc, "c30_licensed.yaml")
    load_file(source)  # valid on its own: only the comparison with the bundled file refuses it
    with pytest.raises(InstrumentError) as info:
        build_registry(bundled, override)
    text = str(info.value)
    assert text.startswith(str(source))
    assert "qlq_c30" in text
    assert "structure" in text


def set_min_answered(doc: dict) -> None:
    doc["scales"][PF2]["min_answered"] = 5  # PF2 then needs all 5 items instead of 3


def reverse_an_item(doc: dict) -> None:
    doc["scales"][PF2]["reverse_items"] = ["q1"]


def stop_reversing_a_scale(doc: dict) -> None:
    doc["scales"][SUMSC]["reverse_scales"].remove("FA")


def add_a_gate(doc: dict) -> None:
    doc["items"][Q6]["gate"] = gate("q5", [4])


@pytest.mark.parametrize("change", [set_min_answered, reverse_an_item, stop_reversing_a_scale, add_a_gate])
def test_override_that_changes_the_scoring_is_rejected(c30, bundled, tmp_path, change):
    doc = licensed(c30)
    change(doc)
    override = tmp_path / "licensed"
    write(override, doc, "c30_licensed.yaml")
    with pytest.raises(InstrumentError, match="structure"):
        build_registry(bundled, override)


def test_override_folder_that_does_not_exist(bundled, tmp_path):
    missing = tmp_path / "no_such_folder"
    with pytest.raises(InstrumentError) as info:
        build_registry(bundled, missing)
    text = str(info.value)
    assert text.startswith(str(missing))
    assert "site instruments folder" in text and "not a folder" in text


def test_broken_override_file_is_reported(c30, bundled, tmp_path):
    doc = licensed(c30)
    del doc["items"][Q4]["text"]["es"]
    override = tmp_path / "licensed"
    source = write(override, doc, "c30_licensed.yaml")
    with pytest.raises(InstrumentError) as info:
        build_registry(bundled, override)
    assert_reported(info.value, source, "items[3].text", "'es'")


@pytest.mark.parametrize(
    "item_id, scale_code, clash",
    [("q1", "XS", "q1"), ("x1", "PF2", "PF2"), ("PF2", "XS", "PF2"), ("x1", "q5", "q5")],
    ids=["item-id", "scale-code", "item-id-vs-scale-code", "scale-code-vs-item-id"],
)
def test_two_instruments_using_the_same_column_name_are_rejected(bundled, item_id, scale_code, clash):
    write(bundled, small_instrument("zz_other", item_id, scale_code), "zz_other.yaml")
    with pytest.raises(InstrumentError) as info:
        build_registry(bundled)
    text = str(info.value)
    assert f"'{clash}'" in text
    assert "qlq_c30" in text and "unique" in text


def test_two_instruments_with_distinct_column_names_are_accepted(bundled):
    write(bundled, small_instrument("zz_other", "x1", "XS"), "zz_other.yaml")
    assert build_registry(bundled).ids == ("qlq_c30", "zz_other")


def test_same_id_twice_in_one_folder_is_rejected(c30, bundled):
    second = write(bundled, c30, "zz_copy.yaml")
    with pytest.raises(InstrumentError) as info:
        build_registry(bundled)
    text = str(info.value)
    assert text.startswith(str(second))
    assert "'qlq_c30'" in text and "qlq_c30.yaml" in text


# ------------------------------------------------------------------------------------------------
# get_registry: the caller names the site folder; the environment is never read
# ------------------------------------------------------------------------------------------------
SITE_VARIABLE = "PRO_APP_INSTRUMENTS_DIR"  # the app's setting; the library must ignore it


@pytest.fixture
def only_c30_bundled(bundled, monkeypatch) -> Path:
    """Point get_registry's bundled folder at a copy holding only qlq_c30 (the other bundled files are
    written by others and are not the subject here)."""
    monkeypatch.setattr(registry_module, "bundled_dir", lambda: bundled)
    monkeypatch.delenv(SITE_VARIABLE, raising=False)
    return bundled


def test_get_registry_without_a_folder_uses_the_bundled_files(only_c30_bundled):
    instrument = get_registry().get("qlq_c30")
    assert instrument.wording == "paraphrased"
    assert instrument.source == str(only_c30_bundled / "qlq_c30.yaml")


def test_get_registry_honours_the_folder_it_is_given(c30, only_c30_bundled, tmp_path):
    override = tmp_path / "site"
    write(override, licensed(c30), "qlq_c30.yaml")
    instrument = get_registry(override).get("qlq_c30")
    assert instrument.wording == "licensed"
    assert instrument.item("q1").text.en == "Licensed wording of item 1"
    assert get_registry(str(override)).get("qlq_c30").wording == "licensed"

    assert get_registry().get("qlq_c30").wording == "paraphrased"
    assert get_registry(None).get("qlq_c30").wording == "paraphrased"


def test_get_registry_never_reads_the_environment(c30, only_c30_bundled, tmp_path, monkeypatch):
    override = tmp_path / "site"
    write(override, licensed(c30), "qlq_c30.yaml")
    monkeypatch.setenv(SITE_VARIABLE, str(override))
    assert get_registry().get("qlq_c30").wording == "paraphrased"
    monkeypatch.setenv(SITE_VARIABLE, str(tmp_path / "not_there"))
    assert get_registry().get("qlq_c30").wording == "paraphrased"


def test_get_registry_picks_up_an_edited_override_file(c30, only_c30_bundled, tmp_path):
    override = tmp_path / "site"
    path = write(override, licensed(c30, "First wording"), "qlq_c30.yaml")
    assert get_registry(override).get("qlq_c30").item("q1").text.en == "First wording"

    write(override, licensed(c30, "Second wording"), "qlq_c30.yaml")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))  # a visibly later mtime
    assert get_registry(override).get("qlq_c30").item("q1").text.en == "Second wording"


def test_get_registry_with_a_folder_that_does_not_exist(only_c30_bundled, tmp_path):
    with pytest.raises(InstrumentError, match="not a folder"):
        get_registry(tmp_path / "not_there")


# ------------------------------------------------------------------------------------------------
# one instrument without the others (`pro-app score`)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("instrument_id", ["qlq_c30", "qlq_br45", "pro_ctcae"])
def test_one_instrument_is_the_registry_s_own(instrument_id):
    from pro_app.instruments.registry import get_instrument, load_instrument

    assert load_instrument(instrument_id) == get_instrument(instrument_id)


def test_one_instrument_loads_only_the_file_that_defines_it(c30, tmp_path, monkeypatch):
    from pro_app.instruments.registry import load_instrument

    folder = tmp_path / "bundled"
    write(folder, small_instrument("extra", "x1", "XS"), "a_extra.yaml")
    write(folder, c30, "qlq_c30.yaml")
    monkeypatch.setattr(registry_module, "bundled_dir", lambda: folder)
    loaded = []
    monkeypatch.setattr(registry_module, "load_file", lambda path: loaded.append(Path(path).name) or load_file(path))
    assert load_instrument("qlq_c30").item("q1").text.en == definition(C30_FILE)["items"][0]["text"]["en"]
    assert loaded == ["qlq_c30.yaml"]


def test_one_instrument_takes_the_site_s_licensed_file(c30, bundled, tmp_path, monkeypatch):
    from pro_app.instruments.registry import load_instrument

    monkeypatch.setattr(registry_module, "bundled_dir", lambda: bundled)
    override = tmp_path / "licensed"
    source = write(override, licensed(c30), "c30_licensed.yaml")
    instrument = load_instrument("qlq_c30", override)
    assert instrument.item("q1").text.en == "Licensed wording of item 1" and instrument.source == str(source)


def test_one_instrument_refuses_a_site_file_that_changes_the_structure(c30, bundled, tmp_path, monkeypatch):
    from pro_app.instruments.registry import load_instrument

    monkeypatch.setattr(registry_module, "bundled_dir", lambda: bundled)
    doc = licensed(c30)
    drop_q30(doc)
    override = tmp_path / "licensed"
    write(override, doc, "c30_licensed.yaml")
    with pytest.raises(InstrumentError, match="structure"):
        load_instrument("qlq_c30", override)


def test_one_instrument_reports_unknown_ids_and_missing_site_folders_as_the_registry_does(bundled, tmp_path,
                                                                                          monkeypatch):
    from pro_app.instruments.registry import load_instrument

    monkeypatch.setattr(registry_module, "bundled_dir", lambda: bundled)
    with pytest.raises(KeyError, match="known: qlq_c30"):
        load_instrument("qlq_c31")
    with pytest.raises(InstrumentError, match="does not exist"):
        load_instrument("qlq_c30", tmp_path / "no-such-folder")


def test_one_instrument_with_a_quoted_id_line(c30, tmp_path, monkeypatch):
    from pro_app.instruments.registry import load_instrument

    folder = tmp_path / "bundled"
    path = write(folder, c30, "qlq_c30.yaml")
    path.write_text(path.read_text(encoding="utf-8").replace("id: qlq_c30\n", 'id: "qlq_c30"  # quoted\n', 1),
                    encoding="utf-8")
    monkeypatch.setattr(registry_module, "bundled_dir", lambda: folder)
    assert load_instrument("qlq_c30").id == "qlq_c30"
