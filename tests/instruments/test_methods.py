"""Scoring methods: the registry (a method registered from outside is used by the loader and the engine with
no other change), the loader's checks per method, value ranges, and the new mean_of_items method."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pro_app.instruments import (
    SCORING_METHODS,
    ScoringMethod,
    get_instrument,
    get_registry,
    load_file,
    score,
    value_range,
)
from pro_app.instruments.methods import INSUFFICIENT, SCORED
from tests.support.definitions import BUNDLED, assert_reported, definition, load_error, write

TEXT = {"en": "Test scale", "es": "Escala de prueba"}


@pytest.fixture
def c30() -> dict:
    return definition(BUNDLED / "qlq_c30.yaml")


@pytest.fixture
def br45() -> dict:
    return definition(BUNDLED / "qlq_br45.yaml")


def with_scale(doc: dict, **scale) -> dict:
    doc["scales"].append({"code": "TEST", "name": TEXT, "type": "symptom", **scale})
    return doc


def one_scale(instrument, code: str, rows: list[dict]) -> list[tuple[float | None, str, int]]:
    got = score(instrument, pd.DataFrame([{k: float(v) for k, v in r.items()} for r in rows]))
    return [(None if math.isnan(v) else v, s, n)
            for v, s, n in zip(got.values[code], got.status[code], got.n_items[code], strict=True)]


# --- the registry -------------------------------------------------------------------------------------
def test_every_bundled_method_is_registered_and_every_scale_uses_one():
    assert set(SCORING_METHODS) == {"eortc_functional", "eortc_symptom", "mean_of_scales", "proctcae_composite",
                                    "mean_of_items"}
    for instrument in get_registry():
        for scale in instrument.scales:
            assert scale.method in SCORING_METHODS


class SumOfItems(ScoringMethod):
    """The sum of a scale's items, scored only when every item is answered."""

    name = "sum_of_items"
    scale_types = ("symptom",)

    def check(self, scale, where, defs):
        return [] if scale.get("items") else [(f"{where}.items", "sum_of_items needs items")]

    def score(self, scale, ctx):
        block = ctx.x[:, [ctx.column[i] for i in scale.items]]
        complete = ~np.isnan(block).any(axis=1)
        code = np.where(complete, SCORED, INSUFFICIENT).astype(np.int8)
        return np.where(complete, block.sum(axis=1), np.nan), code, np.where(complete, len(scale.items), 0)

    def value_range(self, instrument, scale):
        return (0.0, float(sum(instrument.item(i).option_set.maximum for i in scale.items)))


def test_a_registered_method_is_used_by_the_loader_and_the_engine(c30, tmp_path, monkeypatch):
    monkeypatch.setitem(SCORING_METHODS, "sum_of_items", SumOfItems())
    instrument = load_file(write(tmp_path, with_scale(c30, method="sum_of_items", items=["q1", "q2"])))
    rows = [{"q1": 2, "q2": 3}, {"q1": 4}]
    assert one_scale(instrument, "TEST", rows) == [(5.0, "scored", 2), (None, "insufficient", 0)]
    assert value_range(instrument, instrument.scale("TEST")) == (0.0, 8.0)

    error, path = load_error(tmp_path, with_scale(definition(BUNDLED / "qlq_c30.yaml"), method="sum_of_items"))
    assert_reported(error, path, "scales[16].items", "sum_of_items needs items")


def test_unknown_method_lists_the_known_ones(c30, tmp_path):
    c30["scales"][1]["method"] = "median"
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[1].method", "unknown scoring method 'median'",
                    "eortc_functional, eortc_symptom, mean_of_items, mean_of_scales, proctcae_composite")


@pytest.mark.parametrize(
    "code, scale_type, message",
    [(1, "summary", "method eortc_functional scores a functional, symptom or global scale"),
     (15, "functional", "method mean_of_scales scores a summary scale")],
    ids=["eortc-on-summary", "summary-on-functional"],
)
def test_a_method_scores_only_its_scale_types(c30, tmp_path, code, scale_type, message):
    c30["scales"][code]["type"] = scale_type
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, f"scales[{code}].type", message)


def test_a_summary_averages_only_0_to_100_scales(c30, tmp_path):
    c30["scales"].insert(15, {"code": "RAW", "name": TEXT, "type": "symptom", "method": "mean_of_items",
                              "items": ["q1", "q2"]})
    c30["scales"][16]["scales"].append("RAW")
    error, path = load_error(tmp_path, c30)
    assert_reported(error, path, "scales[16].scales[13]", "'RAW'", "not scored 0 to 100", "mean_of_items")


# --- value ranges --------------------------------------------------------------------------------------
def test_value_ranges_of_the_bundled_scales():
    for instrument_id in ("qlq_c30", "qlq_br45"):
        instrument = get_instrument(instrument_id)
        assert {value_range(instrument, s) for s in instrument.scales} == {(0.0, 100.0)}
    pc = get_instrument("pro_ctcae")
    assert {value_range(pc, s) for s in pc.scales} == {(0.0, 3.0)}


# --- mean_of_items ---------------------------------------------------------------------------------------
def test_mean_of_items_is_the_plain_mean_of_the_answered_items(c30, tmp_path):
    instrument = load_file(write(tmp_path, with_scale(c30, method="mean_of_items", items=["q1", "q2", "q3", "q4"])))
    rows = [
        {"q1": 1, "q2": 2, "q3": 4, "q4": 4},  # 11/4
        {"q1": 1, "q3": 4},  # 2 of 4: the half rule is met, 5/2
        {"q2": 3},  # 1 of 4: not met
        {},
    ]
    assert one_scale(instrument, "TEST", rows) == [
        (2.75, "scored", 4), (2.5, "scored", 2), (None, "insufficient", 0), (None, "insufficient", 0)]
    assert value_range(instrument, instrument.scale("TEST")) == (1.0, 4.0)


def test_mean_of_items_half_rule_rounds_up(c30, tmp_path):
    instrument = load_file(write(tmp_path, with_scale(c30, method="mean_of_items", items=["q1", "q2", "q3"])))
    assert one_scale(instrument, "TEST", [{"q1": 2}, {"q1": 2, "q2": 3}]) == [
        (None, "insufficient", 0), (2.5, "scored", 2)]


def test_mean_of_items_with_reverse_items_and_min_answered(c30, tmp_path):
    doc = with_scale(c30, method="mean_of_items", items=["q1", "q2", "q3"], reverse_items=["q3"], min_answered=3)
    instrument = load_file(write(tmp_path, doc))
    rows = [{"q1": 1, "q2": 4, "q3": 4}, {"q1": 1, "q2": 4}]  # q3 = 4 counts as 1 + 4 - 4 = 1
    assert one_scale(instrument, "TEST", rows) == [(2.0, "scored", 3), (None, "insufficient", 0)]


def test_mean_of_items_follows_gates(br45, tmp_path):
    doc = with_scale(br45, method="mean_of_items", items=["q70", "q71", "q72", "q73"])
    doc["scales"].append({"code": "TEST2", "name": TEXT, "type": "functional", "method": "mean_of_items",
                          "items": ["q46"]})
    instrument = load_file(write(tmp_path, doc))
    inactive = {"q45": 1, "q46": 4, "q70": 3, "q72": 4, "q73": 4}  # q72, q73 and q46 gated out
    active = {"q45": 3, "q46": 4, "q70": 3, "q72": 4, "q73": 2}
    assert one_scale(instrument, "TEST", [inactive, active]) == [(3.0, "scored", 1), (3.0, "scored", 3)]
    assert one_scale(instrument, "TEST2", [inactive, active]) == [(None, "not_applicable", 0), (4.0, "scored", 1)]


@pytest.mark.parametrize(
    "scale, where, words",
    [
        ({"items": ["q1", "q29"]}, "scales[16].items", ("share their lowest and highest values",)),
        ({"items": []}, "scales[16].items", ("needs at least one item",)),
        ({"items": ["q1", "q2"], "min_answered": 3}, "scales[16].min_answered", ("more than the number of items",)),
        ({"items": ["q1"], "type": "composite"}, "scales[16].type", ("scores a functional, symptom or global",)),
    ],
    ids=["mixed-ranges", "no-items", "min-answered-too-high", "wrong-type"],
)
def test_mean_of_items_meaning_errors(c30, tmp_path, scale, where, words):
    error, path = load_error(tmp_path, with_scale(c30, method="mean_of_items", **scale))
    assert_reported(error, path, where, *words)


def test_status_categories_are_the_score_statuses():
    got = score(get_instrument("qlq_c30"), pd.DataFrame({"q1": [1.0]}))
    assert list(got.status["PF2"].cat.categories) == ["scored", "insufficient", "not_applicable"]
    assert all(type(c) is str for c in got.status["PF2"].cat.categories)
    assert got.values["PF2"].isna().all() and got.status["PF2"].iloc[0] == "insufficient"
