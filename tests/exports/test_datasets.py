"""The analyst data sets: what they hold, checked against the database and against the scoring rules.

Most checks read the exported files back (CSV and Parquet) and compare them with what is stored: an
analyst's file must say exactly what the database says, unrounded, with every missing-data state.
"""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from pro_app.clock import utcnow
from pro_app.exports import chunks
from pro_app.exports import datasets as D
from pro_app.exports import writers as W
from pro_app.extensions import db
from pro_app.instruments import ITEM_STATES, SCORE_STATUSES, get_instrument, score
from pro_app.models import ASSESSMENT_STATUSES, Assessment, ItemResponse, Participant, Score, Study
from pro_app.models import Timepoint as TimepointModel
from tests.support.exports import (
    assessment_dates,
    c30_answers,
    export_bytes,
    fill,
    frame,
    read_csv,
    read_parquet,
    set_assessment,
)

TERMS_CSV = Path(__file__).resolve().parents[1] / "data" / "proctcae_terms.csv"
TEXT_COLUMNS = {"instrument_version": str, "scoring_version": str}


def read(fmt: str, data: bytes) -> pd.DataFrame:
    return read_csv(data, dtype=TEXT_COLUMNS) if fmt == "csv" else read_parquet(data)


def blank(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def same_number(a, b, tolerance: float = 0.0) -> bool:
    if blank(a) or blank(b):
        return blank(a) and blank(b)
    return abs(float(a) - float(b)) <= tolerance


# --- round trip: the files say what the database says ------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_items_round_trip_equals_the_database(demo, fmt):
    exported = read(fmt, export_bytes(demo.app, "DEMO", "items", fmt))
    with demo.app.app_context():
        stored = db.session.execute(
            select(ItemResponse.assessment_id, ItemResponse.item_id, ItemResponse.value, ItemResponse.state,
                   ItemResponse.instrument_id, ItemResponse.instrument_version, ItemResponse.language,
                   Participant.study_code, TimepointModel.code)
            .join(Assessment, ItemResponse.assessment_id == Assessment.id)
            .join(Participant, Assessment.participant_id == Participant.id)
            .join(TimepointModel, Assessment.timepoint_id == TimepointModel.id)
            .join(Study, Participant.study_id == Study.id).where(Study.code == "DEMO")
        ).all()
    assert len(stored) > 500, "the demo should have answered assessments"
    assert len(exported) == len(stored)
    keys = list(zip(exported["assessment_id"], exported["item"], strict=True))
    assert len(set(keys)) == len(keys), "one row per item per assessment"
    by_key = {k: row for k, row in zip(keys, exported.itertuples(index=False), strict=True)}
    seen_states = set()
    for a_id, item, value, state, instrument, version, language, participant, timepoint in stored:
        row = by_key[(a_id, item)]
        assert same_number(row.value, value), (a_id, item, row.value, value)
        assert row.state == state, (a_id, item)
        assert row.branched == int(state == "branched")
        assert (row.instrument, row.instrument_version, row.item_language) == (instrument, version, language)
        assert (row.participant, row.timepoint, row.study) == (participant, timepoint, "DEMO")
        if state == "answered":
            option = get_instrument(instrument).item(item).option_set.option_for(value)
            assert row.value_label == option.label.en
            assert row.item_label == get_instrument(instrument).item(item).text.en
        seen_states.add(state)
    assert {"answered", "declined", "branched"} <= seen_states
    assert set(exported["state"]) <= set(ITEM_STATES)
    assert set(exported["assessment_status"]) <= set(ASSESSMENT_STATUSES)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_scores_round_trip_unrounded_with_status(demo, fmt):
    exported = read(fmt, export_bytes(demo.app, "DEMO", "scores", fmt))
    with demo.app.app_context():
        stored = db.session.execute(
            select(Score.assessment_id, Score.scale_code, Score.value, Score.status, Score.n_items,
                   Score.instrument_id, Score.instrument_version, Score.scoring_version)
            .join(Assessment, Score.assessment_id == Assessment.id)
            .join(Participant, Assessment.participant_id == Participant.id)
            .join(Study, Participant.study_id == Study.id).where(Study.code == "DEMO")
        ).all()
    assert len(stored) > 100
    assert len(exported) == len(stored)
    by_key = {(r.assessment_id, r.scale): r for r in exported.itertuples(index=False)}
    assert len(by_key) == len(exported)
    unround = 0
    for a_id, scale, value, status, n_items, instrument, version, scoring in stored:
        row = by_key[(a_id, scale)]
        assert same_number(row.value, value), (a_id, scale, row.value, value)  # exactly, not rounded
        assert (row.status, row.n_items, row.instrument, row.instrument_version, row.scoring_version) == (
            status, n_items, instrument, version, scoring)
        unround += value is not None and value != round(value, 2)
    assert unround > 0, "some stored scores have more than two decimals (e.g. 66.666…)"
    assert set(exported["status"]) <= set(SCORE_STATUSES)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_wide_scales_recompute_exactly_from_its_own_item_columns(demo, fmt):
    """Done-when criterion: every scale value in `wide` is what the scoring library gives from wide's item
    columns (SCORING.md rules), for every completed assessment."""
    wide = read(fmt, export_bytes(demo.app, "DEMO", "wide", fmt))
    completed = wide[wide["assessment_status"] == "completed"].reset_index(drop=True)
    assert len(completed) >= 8
    with demo.app.app_context():
        study = D.study_by_code("DEMO")
        instruments = D.study_instruments(study)
        per_instrument = {i.id: (D.study_items(study, i), D.study_scales(study, i)) for i in instruments}
    checked = 0
    for instrument_id, (items, scales) in per_instrument.items():
        instrument = get_instrument(instrument_id)
        answers = completed[list(items)].astype("float64")
        result = score(instrument, answers)
        for code in scales:
            for n in range(len(completed)):
                exported_value, recomputed = completed[code].iloc[n], result.values[code].iloc[n]
                assert same_number(exported_value, recomputed, 1e-9), (
                    instrument_id, code, completed["assessment_id"].iloc[n], exported_value, recomputed)
                checked += 1
    assert checked > 400


def test_wide_holds_the_stored_answers_and_scores(demo):
    wide = read_parquet(export_bytes(demo.app, "DEMO", "wide", "parquet")).set_index("assessment_id")
    with demo.app.app_context():
        responses = db.session.execute(select(ItemResponse.assessment_id, ItemResponse.item_id,
                                              ItemResponse.value)).all()
        scores = db.session.execute(select(Score.assessment_id, Score.scale_code, Score.value)).all()
        assessments = db.session.scalar(select(db.func.count()).select_from(Assessment))
    assert len(wide) == assessments, "one row per assessment, started or not"
    for a_id, item, value in responses:
        assert same_number(wide.at[a_id, item], value)
    for a_id, scale, value in scores:
        assert same_number(wide.at[a_id, scale], value)
    assert not any(c.startswith(("qlq_", "pro_ctcae")) for c in wide.columns), "unprefixed column names"


def test_exported_scores_are_the_stored_doubles_to_the_last_bit(app, create_study, create_participant):
    """Whatever double a score holds, every file gives it back exactly: SQLite's own JSON text keeps only 15
    significant digits (66.6666666666667), so this checks the path the wide data set reads scores by."""
    study = create_study(code="BITS", instruments=["qlq_c30"])
    participant = create_participant(study, anchor=utcnow().date() - timedelta(days=120))
    fill(app, participant.assessments["baseline"], c30_answers(2))
    rng = np.random.default_rng(7)
    awkward = [200 / 3, 100 / 3, 0.1 + 0.2, 1e-20, 5e300, -0.0, 83.33333333333334, 2 ** -1074,
               *(rng.random(4) * 100), *(rng.standard_normal(3) * 10.0 ** rng.integers(-30, 30, 3))]
    with app.app_context():
        stored = db.session.scalars(select(Score).where(Score.assessment_id == participant.assessments["baseline"])
                                    .order_by(Score.id)).all()
        expected = dict(zip((s.scale_code for s in stored), awkward, strict=False))
        for row in stored:
            if row.scale_code in expected:
                row.value = expected[row.scale_code]
        db.session.commit()
    assert len(expected) == len(awkward)
    csv_wide = read_csv(export_bytes(app, study.code, "wide")).set_index("timepoint")
    parquet_wide = read_parquet(export_bytes(app, study.code, "wide", "parquet")).set_index("timepoint")
    scores = read_csv(export_bytes(app, study.code, "scores"), dtype=TEXT_COLUMNS).set_index("scale")
    for code, value in expected.items():
        assert csv_wide.at["baseline", code] == value, code
        assert parquet_wide.at["baseline", code] == value, code
        assert scores.at[code, "value"] == value, code


def test_language_is_the_one_most_items_were_answered_in(app, create_study, create_participant):
    study = create_study(code="LANG", instruments=["qlq_c30"])
    participant = create_participant(study, language="en", anchor=utcnow().date() - timedelta(days=200))
    a = participant.assessments
    items = list(c30_answers(2))
    fill(app, a["baseline"], dict.fromkeys(items[:12], 2), complete=False, language="en")
    fill(app, a["baseline"], dict.fromkeys(items[12:], 3), language="es")  # 18 in Spanish, 12 in English
    fill(app, a["wk12"], dict.fromkeys(items[:15], 2), complete=False, language="es")
    fill(app, a["wk12"], dict.fromkeys(items[15:], 2), language="en")  # a tie: the first in A-Z order
    fill(app, a["wk24"], {items[0]: 1, **dict.fromkeys(items[1:], None)}, complete=False, language="en")
    fill(app, a["wk24"], dict.fromkeys(items[1:], None), language="es")  # 1 answered in English, 29 declined
    fill(app, a["fu30"], dict.fromkeys(items, None), language="es")  # nothing answered: blank
    expected = {"baseline": "es", "wk12": "en", "wk24": "en", "fu30": None}
    for dataset in ("wide", "items", "scores", "compliance"):
        for fmt in ("csv", "parquet"):
            exported = read(fmt, export_bytes(app, study.code, dataset, fmt))
            languages = exported.groupby("timepoint")["language"].agg(lambda s: set(s.map(
                lambda v: None if blank(v) else v)))
            assert {tp: next(iter(found)) for tp, found in languages.items()} == expected, (dataset, fmt)
            assert all(len(found) == 1 for found in languages), (dataset, fmt)


# --- the codebook -----------------------------------------------------------------------------------------

def test_codebook_has_one_row_per_exported_column(demo):
    codebook = read_csv(export_bytes(demo.app, "DEMO", "codebook"), na_filter=False)
    headers = {name: list(read_csv(export_bytes(demo.app, "DEMO", name)).columns)
               for name in ("items", "scores", "wide", "proae", "compliance", "subjects", "alerts", "sdtm_qs",
                            "suppqs", "adsl", "adqs", "results_scales", "results_terms", "ttd")}
    headers["fhir"] = list(frame(demo.app, "DEMO", "fhir").columns)  # resources, never CSV: the builder's frame
    described = {name: list(group["column"]) for name, group in codebook.groupby("dataset", sort=False)}
    assert described == headers
    assert (codebook["label"].str.strip() != "").all()
    assert set(codebook["type"]) <= {"string", "integer", "number", "date", "datetime", "boolean"}


def test_codebook_item_columns_list_their_answers_with_labels(demo):
    codebook = read_csv(export_bytes(demo.app, "DEMO", "codebook"), na_filter=False)
    with demo.app.app_context():
        study = D.study_by_code("DEMO")
        owners = {item: inst for inst in D.study_instruments(study) for item in D.study_items(study, inst)}
    item_rows = codebook[codebook["column"].isin(owners.keys())]
    assert set(item_rows["dataset"]) == {"wide", "proae"}
    assert len(item_rows) == len(owners) + sum(1 for i in owners if i.startswith("PROCTCAE_"))
    for row in item_rows.itertuples(index=False):
        instrument = owners[row.column]
        item = instrument.item(row.column)
        assert row.instrument == instrument.id
        assert row.type == "integer"
        for option in item.option_set.options:
            if option.value is not None:
                assert f"{option.value} = {option.label.en}" in row.values, (row.column, row.values)
            else:
                assert option.label.en in row.values, (row.column, row.values)
        scales = [s.code for s in instrument.scales if row.column in s.items]
        assert row.scales == ", ".join(scales)
        assert row.missing, "how a missing answer shows"
    # the missing-data vocabulary is spelled out where it is used
    state = codebook[(codebook["dataset"] == "items") & (codebook["column"] == "state")].iloc[0]
    assert all(s in state["values"] for s in ITEM_STATES)
    status = codebook[(codebook["dataset"] == "scores") & (codebook["column"] == "status")].iloc[0]
    assert all(s in status["values"] for s in SCORE_STATUSES)


def test_codebook_says_proae_writes_branched_items_as_zero(demo):
    codebook = read_csv(export_bytes(demo.app, "DEMO", "codebook"), na_filter=False)
    rows = codebook[(codebook["dataset"] == "proae") & codebook["column"].str.fullmatch(r"PROCTCAE_\d+[BC]_SCL")]
    assert len(rows) > 0
    for row in rows.itertuples(index=False):
        assert "branch" in row.missing and "0" in row.missing, (row.column, row.missing)


def test_codebook_types_match_the_parquet_types(demo):
    codebook = read_csv(export_bytes(demo.app, "DEMO", "codebook"), na_filter=False)
    checks = {
        "integer": pa.types.is_integer,
        "number": lambda t: pa.types.is_floating(t) or pa.types.is_integer(t),
        "string": lambda t: pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t),
        "date": pa.types.is_date,
        "datetime": pa.types.is_timestamp,
    }
    for name, group in codebook.groupby("dataset"):
        schema = pq.read_schema(io.BytesIO(export_bytes(demo.app, "DEMO", name, "parquet")))
        for row in group.itertuples(index=False):
            assert checks[row.type](schema.field(row.column).type), (name, row.column, row.type,
                                                                     schema.field(row.column).type)


# --- proae ------------------------------------------------------------------------------------------------

def terms_csv_variables(terms: list[int]) -> list[str]:
    with TERMS_CSV.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if int(r["term_number"]) in terms]
    return [v for r in rows for v in r["variables"].split(";")]


@pytest.fixture
def proctcae_participant(app, create_study, create_participant):
    """A PRO-CTCAE-only study (a yes/no term, a two- and a three-item term, one with 'not applicable') and a
    participant with a baseline that branches and a week-12 assessment with a skipped follow-up."""
    study = create_study(code="PROAE1", terms=[36, 9, 5, 17], instruments=["pro_ctcae"])
    participant = create_participant(study, anchor=utcnow().date() - timedelta(days=120))
    baseline, wk12 = participant.assessments["baseline"], participant.assessments["wk12"]
    fill(app, baseline, {"PROCTCAE_5A_IND": 1, "PROCTCAE_9A_SCL": 0,  # 9B branched away
                         "PROCTCAE_17A_SCL": 2, "PROCTCAE_17B_SCL": 0,  # 17C branched away
                         "PROCTCAE_36A_SCL": "not_applicable"})
    fill(app, wk12, {"PROCTCAE_5A_IND": 0, "PROCTCAE_9A_SCL": 3, "PROCTCAE_9B_SCL": None,  # declined: missing
                     "PROCTCAE_17A_SCL": 1, "PROCTCAE_17B_SCL": 2, "PROCTCAE_17C_SCL": 1, "PROCTCAE_36A_SCL": 2})
    return study, participant


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_proae_names_and_branched_items_written_as_zero(app, proctcae_participant, fmt):
    study, participant = proctcae_participant
    proae = read(fmt, export_bytes(app, study.code, "proae", fmt))
    items = terms_csv_variables([5, 9, 17, 36])
    assert items == ["PROCTCAE_5A_IND", "PROCTCAE_9A_SCL", "PROCTCAE_9B_SCL", "PROCTCAE_17A_SCL",
                     "PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL", "PROCTCAE_36A_SCL"]
    composites = ["PROCTCAE_9_COMP", "PROCTCAE_17_COMP", "PROCTCAE_36_COMP"]  # no composite for yes/no terms
    columns = list(proae.columns)
    assert columns[:2] == ["id", "Cycle"]
    assert [c for c in columns if c.startswith("PROCTCAE_")] == items + composites
    assert set(columns) - set(items) - set(composites) <= {"id", "Cycle", "timepoint", "site", "completed_at"}

    assert list(proae["id"]) == [participant.study_code] * 2
    assert list(proae["Cycle"]) == [1, 2]
    baseline, wk12 = proae.iloc[0], proae.iloc[1]
    assert [baseline[c] for c in items[:6]] == [1, 0, 0, 2, 0, 0]  # 9B and 17C branched: written as 0
    assert blank(baseline["PROCTCAE_36A_SCL"])  # not applicable: missing, not 0
    assert [wk12[c] for c in ("PROCTCAE_5A_IND", "PROCTCAE_9A_SCL", "PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL",
                              "PROCTCAE_17C_SCL", "PROCTCAE_36A_SCL")] == [0, 3, 1, 2, 1, 2]
    assert blank(wk12["PROCTCAE_9B_SCL"])  # declined: missing, not 0

    with app.app_context():
        stored = {(a, s): v for a, s, v in db.session.execute(
            select(Score.assessment_id, Score.scale_code, Score.value)
            .where(Score.assessment_id.in_(participant.assessments.values())))}
    for n, timepoint in enumerate(("baseline", "wk12")):
        for code in composites:
            assert same_number(proae.iloc[n][code], stored[(participant.assessments[timepoint], code)]), code
    assert proae.iloc[0]["PROCTCAE_9_COMP"] == 0
    assert blank(proae.iloc[1]["PROCTCAE_9_COMP"])

    # What ProAE does with the file: composites from the item columns (branched already 0) match pro-app's.
    recomputed = score(get_instrument("pro_ctcae"), proae[items].astype("float64"))
    for code in composites:
        for n in range(2):
            assert same_number(proae.iloc[n][code], recomputed.values[code].iloc[n]), (code, n)


def test_branched_items_are_flagged_in_items_and_blank_in_wide(app, proctcae_participant):
    study, participant = proctcae_participant
    items = read_csv(export_bytes(app, study.code, "items"))
    baseline = items[items["assessment_id"] == participant.assessments["baseline"]].set_index("item")
    assert list(baseline["branched"][["PROCTCAE_9B_SCL", "PROCTCAE_17C_SCL"]]) == [1, 1]
    assert list(baseline["state"][["PROCTCAE_9B_SCL", "PROCTCAE_17C_SCL", "PROCTCAE_36A_SCL"]]) == [
        "branched", "branched", "not_applicable"]
    assert baseline["value"][["PROCTCAE_9B_SCL", "PROCTCAE_17C_SCL", "PROCTCAE_36A_SCL"]].isna().all()
    assert baseline["branched"].sum() == 2
    wide = read_csv(export_bytes(app, study.code, "wide")).set_index("timepoint")
    assert math.isnan(wide.at["baseline", "PROCTCAE_9B_SCL"])  # wide keeps the item blank (state in `items`)


# --- scores: baseline, change, thresholds, timing --------------------------------------------------------

@pytest.fixture
def c30_study(create_study):
    return create_study(code="C30ONLY", instruments=["qlq_c30"])


def test_scores_baseline_change_and_thresholds(app, c30_study, create_participant):
    participant = create_participant(c30_study, anchor=utcnow().date() - timedelta(days=120))
    baseline, wk12 = participant.assessments["baseline"], participant.assessments["wk12"]
    with app.app_context():  # this study's own thresholds, not the defaults
        study = db.session.get(Study, c30_study.id)
        study.thresholds = {"PF2": {"below": 70}, "FA": {"above": 30}, "QL2": {"below": 50}}
        db.session.commit()
    fill(app, baseline, c30_answers(2, global_value=4))  # PF2 66.67, FA 33.33, QL2 50
    fill(app, wk12, c30_answers(1, global_value=6))  # PF2 100, FA 0, QL2 83.33
    scores = read_csv(export_bytes(app, c30_study.code, "scores"))
    value = {(r.timepoint, r.scale): r for r in scores.itertuples(index=False)}
    assert set(scores["timepoint"]) == {"baseline", "wk12"}
    assert (scores[scores["timepoint"] == "baseline"]["baseline_flag"] == 1).all()
    assert (scores[scores["timepoint"] == "wk12"]["baseline_flag"] == 0).all()
    for scale in get_instrument("qlq_c30").scale_codes:
        base, later = value[("baseline", scale)], value[("wk12", scale)]
        assert base.baseline_value == base.value and later.baseline_value == base.value
        assert base.change == 0
        assert later.change == pytest.approx(later.value - base.value, abs=1e-12)
    assert value[("wk12", "PF2")].change == pytest.approx(100 - 200 / 3, abs=1e-12)
    flags = {(tp, scale): value[(tp, scale)].threshold_flag for tp in ("baseline", "wk12")
             for scale in ("PF2", "FA", "QL2", "NV", "SUMSC")}
    # PF2 below 70 and FA above 30 flag; QL2 is only ever flagged if the study says so (here: below 50, and
    # 50 is not below 50); NV and SUMSC have no threshold in this study: blank
    assert flags[("baseline", "PF2")] == 1 and flags[("wk12", "PF2")] == 0
    assert flags[("baseline", "FA")] == 1 and flags[("wk12", "FA")] == 0
    assert flags[("baseline", "QL2")] == 0 and flags[("wk12", "QL2")] == 0
    assert all(math.isnan(flags[(tp, s)]) for tp in ("baseline", "wk12") for s in ("NV", "SUMSC"))

    # a timepoint filter keeps the baseline value: it comes from the participant's baseline, not the rows kept
    only_wk12 = read_csv(export_bytes(app, c30_study.code, "scores", filters=D.Filters(timepoints=("wk12",))))
    assert set(only_wk12["timepoint"]) == {"wk12"}
    assert only_wk12.set_index("scale").at["PF2", "baseline_value"] == pytest.approx(200 / 3, abs=1e-12)


def test_threshold_flag_only_for_qlq_c30(app, create_study, create_participant):
    study = create_study(code="BR", instruments=["qlq_c30", "qlq_br45"])
    participant = create_participant(study, anchor=utcnow().date() - timedelta(days=120))
    with app.app_context():  # a threshold keyed on a BR45 scale code must not flag BR45 scores
        db.session.get(Study, study.id).thresholds = {"BI": {"below": 101}, "PF2": {"below": 101}}
        db.session.commit()
    fill(app, participant.assessments["baseline"], c30_answers(2) | {f"q{n}": 2 for n in range(31, 76)})
    scores = read_csv(export_bytes(app, study.code, "scores")).set_index("scale")
    assert scores.at["PF2", "threshold_flag"] == 1
    assert math.isnan(scores.at["BI", "threshold_flag"])


def test_days_from_target_and_in_window(app, c30_study, create_participant):
    participant = create_participant(c30_study, anchor=utcnow().date() - timedelta(days=120))
    baseline, wk12 = participant.assessments["baseline"], participant.assessments["wk12"]
    target, _, _ = assessment_dates(app, baseline)
    target12, _, end12 = assessment_dates(app, wk12)
    # Barcelona, midday local time: the UTC date is the local date
    fill(app, baseline, c30_answers(2), completed_at=datetime.combine(target - timedelta(days=3), time(11), UTC))
    fill(app, wk12, c30_answers(2), completed_at=datetime.combine(end12 + timedelta(days=2), time(11), UTC))
    scores = read_csv(export_bytes(app, c30_study.code, "scores"))
    by_tp = scores.groupby("timepoint")
    assert set(by_tp["days_from_target"].unique()["baseline"]) == {-3}
    assert set(by_tp["in_window"].unique()["baseline"]) == {1}
    assert set(by_tp["days_from_target"].unique()["wk12"]) == {(end12 - target12).days + 2}
    assert set(by_tp["in_window"].unique()["wk12"]) == {0}


def test_days_from_target_and_in_window_use_the_sites_calendar_day(app, c30_study, create_participant):
    anchor = utcnow().date() - timedelta(days=120)
    miami = create_participant(c30_study, code="P-MIA", anchor=anchor, site_code="MIA").assessments["baseline"]
    barcelona = create_participant(c30_study, code="P-BCN", anchor=anchor, site_code="BCN").assessments["baseline"]
    target, _, end = assessment_dates(app, miami)
    # 21:30 in Miami on the last day of the window is already the next day in UTC
    late = datetime.combine(end, time(21, 30), ZoneInfo("America/New_York")).astimezone(UTC)
    # 00:30 in Barcelona on the target day is still the day before in UTC
    early = datetime.combine(target, time(0, 30), ZoneInfo("Europe/Madrid")).astimezone(UTC)
    fill(app, miami, c30_answers(2), completed_at=late)
    fill(app, barcelona, c30_answers(2), completed_at=early)
    scores = read_csv(export_bytes(app, c30_study.code, "scores")).groupby("participant")
    assert set(scores["days_from_target"].unique()["P-MIA"]) == {(end - target).days}
    assert set(scores["in_window"].unique()["P-MIA"]) == {1}
    assert set(scores["days_from_target"].unique()["P-BCN"]) == {0}
    assert set(scores["in_window"].unique()["P-BCN"]) == {1}


# --- compliance -------------------------------------------------------------------------------------------

def test_compliance_expected_received_and_reasons(app, c30_study, create_participant):
    today_ = utcnow().date()
    past = today_ - timedelta(days=30)  # baseline window over, week 12 not open yet
    done = create_participant(c30_study, code="P-1-DONE", anchor=past).assessments
    create_participant(c30_study, code="P-2-MISSED", anchor=past)
    not_done = create_participant(c30_study, code="P-3-NOTDONE", anchor=past).assessments
    create_participant(c30_study, code="P-4-WITHDRAWN", anchor=today_ + timedelta(days=30))
    withdrawn_after = create_participant(c30_study, code="P-5-WITHDRAWN-LATER", anchor=past).assessments
    create_participant(c30_study, code="P-6-OPEN", anchor=today_ + timedelta(days=2))
    started = create_participant(c30_study, code="P-7-STARTED", anchor=today_ + timedelta(days=2)).assessments

    fill(app, done["baseline"], c30_answers(2) | {"q5": None})
    set_assessment(app, not_done["baseline"], status="not_done", not_done_reason="too_ill")
    fill(app, withdrawn_after["baseline"], c30_answers(3))
    fill(app, started["baseline"], {f"q{n}": 2 for n in range(1, 11)} | {"q11": None}, complete=False)
    with app.app_context():
        for code in ("P-4-WITHDRAWN", "P-5-WITHDRAWN-LATER"):
            p = db.session.scalar(select(Participant).where(Participant.study_code == code))
            p.status = "withdrawn"
        db.session.commit()

    compliance = read_csv(export_bytes(app, c30_study.code, "compliance"), na_filter=False)
    assert len(compliance) == 7 * 4, "one row per participant and timepoint"
    row = {(r.participant, r.timepoint): r for r in compliance.itertuples(index=False)}

    def check(key, status, expected, received, not_expected="", not_done_reason="", answered=None, asked=None):
        r = row[key]
        got = (r.assessment_status, r.expected, r.received, r.not_expected_reason, r.not_done_reason)
        assert got == (status, expected, received, not_expected, not_done_reason), key
        if answered is not None:
            assert (r.items_answered, r.items_asked) == (answered, asked), key

    check(("P-1-DONE", "baseline"), "completed", 1, 1, answered=29, asked=30)
    check(("P-1-DONE", "wk12"), "scheduled", 0, 0, "window_not_open", answered=0, asked=0)
    check(("P-2-MISSED", "baseline"), "missed", 1, 0, answered=0, asked=0)
    check(("P-3-NOTDONE", "baseline"), "not_done", 1, 0, not_done_reason="too_ill")
    for timepoint in ("baseline", "wk12", "wk24", "fu30"):
        check(("P-4-WITHDRAWN", timepoint), "scheduled", 0, 0, "withdrawn")
    check(("P-5-WITHDRAWN-LATER", "baseline"), "completed", 1, 1, answered=30, asked=30)
    check(("P-5-WITHDRAWN-LATER", "wk12"), "scheduled", 0, 0, "withdrawn")
    check(("P-6-OPEN", "baseline"), "open", 1, 0, answered=0, asked=0)
    check(("P-6-OPEN", "wk12"), "scheduled", 0, 0, "window_not_open")
    check(("P-7-STARTED", "baseline"), "in_progress", 1, 0, answered=10, asked=11)


# --- filters ----------------------------------------------------------------------------------------------

def as_csv(rows: pd.DataFrame) -> bytes:
    return b"".join(W.write_csv([rows.reset_index(drop=True)]))


@pytest.mark.parametrize("dataset", ["items", "scores", "wide", "proae", "compliance"])
def test_filters_keep_exactly_the_matching_rows(demo, dataset):
    """Each filter gives the same file as the whole data set with the other rows taken out."""
    whole = frame(demo.app, "DEMO", dataset)
    assert set(whole["site"]) == {"BCN", "MIA"}

    def check(filters: D.Filters, keep: pd.Series) -> None:
        expected = whole[keep.to_numpy()]
        assert 0 < len(expected) < len(whole), filters
        assert export_bytes(demo.app, "DEMO", dataset, filters=filters) == as_csv(expected), filters

    if dataset == "proae":  # no target date column: see test_proae_date_filter_uses_the_target_date
        check(D.Filters(sites=("BCN",)), whole["site"] == "BCN")
        check(D.Filters(timepoints=("baseline", "wk24")), whole["timepoint"].isin(["baseline", "wk24"]))
        return
    dates = whole["target_date"]
    ordered = sorted(set(dates))
    low, high = ordered[len(ordered) // 4], ordered[3 * len(ordered) // 4]
    if dataset in ("scores", "compliance"):  # the same query serves every data set: each filter alone here
        check(D.Filters(sites=("BCN",)), whole["site"] == "BCN")
        check(D.Filters(timepoints=("baseline", "wk24")), whole["timepoint"].isin(["baseline", "wk24"]))
        check(D.Filters(date_from=low, date_to=high), (dates >= low) & (dates <= high))
        check(D.Filters(date_from=low), dates >= low)
        check(D.Filters(date_to=high), dates <= high)
    check(D.Filters(sites=("MIA",), timepoints=("baseline", "wk12"), date_to=high),
          (whole["site"] == "MIA") & whole["timepoint"].isin(["baseline", "wk12"]) & (dates <= high))


def test_proae_date_filter_uses_the_target_date(demo):
    whole = frame(demo.app, "DEMO", "proae")
    with demo.app.app_context():
        rows = db.session.execute(select(Participant.study_code, TimepointModel.position, Assessment.target_date)
                                  .join(Participant, Assessment.participant_id == Participant.id)
                                  .join(TimepointModel, Assessment.timepoint_id == TimepointModel.id)).all()
    target = {(p, v): d for p, v, d in rows}
    dates = pd.Series([target[(i, c)] for i, c in zip(whole["id"], whole["Cycle"], strict=True)])
    cut = sorted(set(dates))[len(set(dates)) // 2]
    expected = whole[(dates >= cut).to_numpy()]
    assert 0 < len(expected) < len(whole)
    assert export_bytes(demo.app, "DEMO", "proae", filters=D.Filters(date_from=cut)) == as_csv(expected)


def test_codebook_ignores_filters(demo):
    assert export_bytes(demo.app, "DEMO", "codebook", filters=D.Filters(sites=("BCN",), timepoints=("wk12",))) \
        == export_bytes(demo.app, "DEMO", "codebook")


# --- chunks: a study of any size exports the same as a small one -------------------------------------------

@pytest.fixture
def two_participants(app, c30_study, create_participant):
    """The first participant (by code) has nothing started and no reason given; the second has a completed
    and a not-done assessment: columns that are all blank in the first chunk have values in the second."""
    create_participant(c30_study, code="P-A", anchor=utcnow().date() + timedelta(days=40))
    second = create_participant(c30_study, code="P-B", anchor=utcnow().date() - timedelta(days=120)).assessments
    set_assessment(app, second["baseline"], status="not_done", not_done_reason="patient_refused")
    fill(app, second["wk12"], c30_answers(2), mode="paper")
    return c30_study


@pytest.mark.parametrize("dataset", ["items", "scores", "wide", "compliance"])
def test_csv_in_chunks_of_participants_equals_one_chunk(app, two_participants, monkeypatch, dataset):
    whole = export_bytes(app, two_participants.code, dataset)
    monkeypatch.setattr(chunks, "CHUNK_PARTICIPANTS", 1)
    assert export_bytes(app, two_participants.code, dataset) == whole


@pytest.mark.parametrize("dataset", ["wide", "compliance"])
def test_parquet_in_chunks_of_participants_equals_one_chunk(app, two_participants, monkeypatch, dataset):
    whole = read_parquet(export_bytes(app, two_participants.code, dataset, "parquet"))
    monkeypatch.setattr(chunks, "CHUNK_PARTICIPANTS", 1)
    chunked = read_parquet(export_bytes(app, two_participants.code, dataset, "parquet"))
    pd.testing.assert_frame_equal(chunked, whole)


def test_every_item_and_scale_of_the_study_is_a_wide_column(demo):
    wide = frame(demo.app, "DEMO", "wide")
    with demo.app.app_context():
        study = D.study_by_code("DEMO")
        items = [i for inst in D.study_instruments(study) for i in D.study_items(study, inst)]
        scales = [s for inst in D.study_instruments(study) for s in D.study_scales(study, inst)]
    identifiers = [c.name for c in D.C.IDENTIFIERS]
    assert list(wide.columns) == identifiers + ["corrected_items"] + items + scales
    assert all(re.fullmatch(r"q\d+|PROCTCAE_\d+[ABC]_(SCL|IND)", i) for i in items)
    assert np.issubdtype(wide["q1"].dropna().to_numpy().dtype, np.integer)


@pytest.mark.parametrize("dataset", ["items", "sdtm_qs"])
def test_a_data_set_of_item_rows_holds_a_bounded_number_of_them_at_once(demo, monkeypatch, dataset):
    """An export of one row per item response reads and shapes at most CHUNK_ROWS item rows at a time (or
    one participant's, when a participant has more), however many participants the chunk of assessments
    holds; the file is the same as when the whole study fits in one read."""
    whole = export_bytes(demo.app, "DEMO", dataset)
    with demo.app.app_context():
        per_participant = db.session.execute(
            select(Participant.study_code, db.func.count()).select_from(ItemResponse)
            .join(Assessment, ItemResponse.assessment_id == Assessment.id)
            .join(Participant, Assessment.participant_id == Participant.id)
            .join(Study, Participant.study_id == Study.id).where(Study.code == "DEMO")
            .group_by(Participant.study_code)).all()
    total, largest = sum(n for _, n in per_participant), max(n for _, n in per_participant)
    budget = largest + 1  # below two participants' rows: the reads cannot hold the whole study
    assert total > 2 * budget
    read_sizes: list[int] = []
    responses = D._responses

    def counted(assessment_ids):
        rows = responses(assessment_ids)
        read_sizes.append(len(rows))
        return rows

    monkeypatch.setattr(D, "_responses", counted)
    monkeypatch.setattr(chunks, "CHUNK_ROWS", budget, raising=False)
    assert export_bytes(demo.app, "DEMO", dataset) == whole
    assert sum(read_sizes) == total
    assert len(read_sizes) >= 3 and max(read_sizes) <= budget, read_sizes
    if dataset == "items":
        with demo.app.app_context():
            sizes = [len(chunk) for chunk in D.build(D.study_by_code("DEMO"), "items")]
            db.session.rollback()
        assert sum(sizes) == total and max(sizes) <= budget, sizes
