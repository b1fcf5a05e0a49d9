"""Every data set in every format opens with the analyst's reader (pandas.read_csv, pyarrow, openpyxl,
pandas.read_stata, pandas.read_spss, pandas.read_sas); spreadsheet formula injection is
neutralised in CSV and XLSX while numbers stay numbers; CSV is UTF-8 with ISO 8601 dates (SECURITY.md §9)."""

from __future__ import annotations

import csv
import io
import re
import warnings
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from pro_app.clock import utcnow
from pro_app.exports import chunks
from pro_app.exports import datasets as D
from pro_app.extensions import db
from pro_app.models import Site, Timepoint
from tests.support.exports import (
    DATASETS,
    FORMATS,
    c30_answers,
    columns_and_rows,
    expected_columns,
    export_bytes,
    fill,
    frame,
    read_csv,
    read_csv_text,
    read_xlsx,
    set_assessment,
)

DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\n")
PAYLOADS = ['=HYPERLINK("http://x","y")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "\nLF"]
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


# --- every data set, every format -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_every_data_set_opens_in_every_format_with_the_same_rows_and_columns(demo, cli_files, dataset, fmt):
    """The files `pro-app export` wrote (see conftest.py) open with pandas.read_csv, pyarrow, openpyxl and
    pandas.read_stata, with the data set's columns and rows."""
    reference = frame(demo.app, "DEMO", dataset)
    assert len(reference) > 0
    columns, rows = columns_and_rows(fmt, cli_files[(dataset, fmt)].data)
    assert columns == expected_columns(fmt, list(reference.columns))
    assert rows == len(reference)


def test_stata_export_of_wide_raises_no_warning(demo):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_bytes(demo.app, "DEMO", "wide", "dta")


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_export_with_no_rows_is_a_valid_file_with_the_columns(demo, fmt):
    nothing = D.Filters(sites=("NO-SUCH-SITE",))
    codebook = frame(demo.app, "DEMO", "codebook")
    for dataset in ("items", "scores", "wide", "compliance"):
        expected = list(codebook[codebook["dataset"] == dataset]["column"])
        columns, rows = columns_and_rows(fmt, export_bytes(demo.app, "DEMO", dataset, fmt, nothing))
        assert (columns, rows) == (expected_columns(fmt, expected), 0), dataset


def test_xlsx_dates_are_dates_and_numbers_are_numbers(cli_files):
    header, rows = read_xlsx(cli_files[("scores", "xlsx")].data)
    col = {name: n for n, name in enumerate(header)}
    for row in rows:
        assert row[col["target_date"]].is_date
        assert row[col["visit"]].data_type == "n" and isinstance(row[col["visit"]].value, int)
        if row[col["value"]].value is not None:
            assert row[col["value"]].data_type == "n" and isinstance(row[col["value"]].value, int | float)
        if row[col["completed_at"]].value is not None:
            assert row[col["completed_at"]].is_date


# --- formula injection ------------------------------------------------------------------------------------

def make_hostile_study(app, create_study, create_participant, code: str, payloads: list[str]):
    """Every text a coordinator can type that reaches an export starts like a formula: site codes,
    participant codes, timepoint codes and labels. (The mode and the not-done reason are vocabulary the
    database itself checks: tests/test_vocabulary.py.)"""
    study = create_study(code=code, terms=[9], instruments=["qlq_c30", "pro_ctcae"])
    with app.app_context():
        sites = db.session.scalars(select(Site).where(Site.study_id == study.id).order_by(Site.code)).all()
        sites[0].code, sites[1].code = payloads[0], payloads[1]
        for payload in payloads[2:]:
            db.session.add(Site(study_id=study.id, code=payload, name=payload, timezone="UTC"))
        timepoints = db.session.scalars(select(Timepoint).where(Timepoint.study_id == study.id)
                                        .order_by(Timepoint.position)).all()
        for timepoint, code_, label in zip(timepoints, payloads[:4], payloads[-4:], strict=True):
            timepoint.code, timepoint.label = code_, label
        db.session.commit()
    anchor = utcnow().date() - timedelta(days=120)
    for payload in payloads:
        participant = create_participant(study, code=payload, anchor=anchor, site_code=payload)
        first, second = (participant.assessments[tp] for tp in payloads[:2])
        fill(app, first, c30_answers(2) | {"PROCTCAE_9A_SCL": 1, "PROCTCAE_9B_SCL": 2}, mode="paper")
        set_assessment(app, second, status="not_done", not_done_reason="other")
    return study


@pytest.fixture
def hostile_study(app, create_study, create_participant):
    return make_hostile_study(app, create_study, create_participant, "INJ", PAYLOADS)


@pytest.fixture
def hostile_study_for_csv(app, create_study, create_participant):
    """The same without a carriage return: see test_csv_cell_with_a_carriage_return_stays_one_cell."""
    return make_hostile_study(app, create_study, create_participant, "INJ", [p for p in PAYLOADS if p != "\rCR"])


TEXT_COLUMNS = ["site", "participant", "timepoint", "mode", "not_done_reason", "id"]
NUMBER_COLUMNS = ["visit", "assessment_id", "value", "n_items", "baseline_value", "change", "items_answered",
                  "items_asked", "expected", "received", "Cycle", "q1", "QL2", "PROCTCAE_9A_SCL", "PROCTCAE_9_COMP"]


def neutralised(raw: str) -> str:
    return "'" + raw if raw.startswith(DANGEROUS) else raw


def test_csv_text_cells_that_look_like_formulas_start_with_an_apostrophe(app, hostile_study_for_csv):
    for dataset in ("items", "scores", "wide", "proae", "compliance"):
        raw = frame(app, hostile_study_for_csv.code, dataset)
        data = export_bytes(app, hostile_study_for_csv.code, dataset)
        text = read_csv_text(data)
        assert len(text) == len(raw), dataset
        checked = 0
        for column in [c for c in TEXT_COLUMNS if c in raw.columns]:
            for original, written in zip(raw[column], text[column], strict=True):
                if isinstance(original, str):
                    assert written == neutralised(original), (dataset, column, original, written)
                    checked += original.startswith(DANGEROUS)
        assert checked >= len(raw), f"{dataset}: every row carries at least one hostile text"
        cells = set(text.to_numpy().ravel())
        assert not cells.intersection(PAYLOADS), "no cell begins with a bare payload"
        numbers = read_csv(data)
        for column in [c for c in NUMBER_COLUMNS if c in numbers.columns]:
            assert pd.api.types.is_numeric_dtype(numbers[column]), (dataset, column)


def test_csv_cell_with_a_carriage_return_stays_one_cell(app, create_study, create_participant):
    study = create_study(code="CR", instruments=["qlq_c30"])
    participant = create_participant(study, code="A\rB", anchor=utcnow().date() - timedelta(days=120))
    create_participant(study, code="\rCR", anchor=utcnow().date() - timedelta(days=120))
    fill(app, participant.assessments["baseline"], c30_answers(2))
    for dataset in ("compliance", "items"):
        raw = frame(app, study.code, dataset)
        data = export_bytes(app, study.code, dataset)
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        assert len(rows) == len(raw) + 1, dataset
        assert all(len(row) == len(raw.columns) for row in rows), dataset
        # Both participants are expected; only the first has answers, so only it has item rows.
        expected = {"A\rB", "'\rCR"} if dataset == "compliance" else {"A\rB"}
        assert {row[2] for row in rows[1:]} == expected, dataset


def test_xlsx_text_cells_are_strings_never_formulas(app, hostile_study):
    for dataset in ("items", "scores", "wide", "proae", "compliance"):
        raw = frame(app, hostile_study.code, dataset)
        header, rows = read_xlsx(export_bytes(app, hostile_study.code, dataset, "xlsx"))
        assert header == list(raw.columns) and len(rows) == len(raw), dataset
        col = {name: n for n, name in enumerate(header)}
        for n, row in enumerate(rows):
            assert all(cell.data_type != "f" for cell in row), (dataset, n)
            for column in [c for c in TEXT_COLUMNS if c in col]:
                original, cell = raw[column].iloc[n], row[col[column]]
                if isinstance(original, str):
                    assert cell.data_type == "s", (dataset, column, original)
                    # XML keeps a carriage return only when escaped; a reader may give it back as a line feed
                    assert cell.value in {neutralised(original), neutralised(original).replace("\r", "\n")}, (
                        dataset, column, original, cell.value)
            for column in [c for c in NUMBER_COLUMNS if c in col]:
                cell = row[col[column]]
                assert cell.value is None or (cell.data_type == "n" and isinstance(cell.value, int | float)), (
                    dataset, column, cell.value)


def test_negative_and_formula_like_numbers_stay_numbers(app, create_study, create_participant):
    """A negative change from baseline or days before the target are numbers, not text with an apostrophe."""
    study = create_study(code="NEG", instruments=["qlq_c30"])
    participant = create_participant(study, anchor=utcnow().date() - timedelta(days=120))
    fill(app, participant.assessments["baseline"], c30_answers(1, global_value=7))
    fill(app, participant.assessments["wk12"], c30_answers(3, global_value=2))
    data = export_bytes(app, study.code, "scores")
    scores = read_csv(data)
    assert (scores["change"] < 0).any()
    assert pd.api.types.is_float_dtype(scores["change"])
    assert "'-" not in data.decode("utf-8")
    header, rows = read_xlsx(export_bytes(app, study.code, "scores", "xlsx"))
    changes = [row[header.index("change")] for row in rows]
    assert any(c.value < 0 for c in changes) and all(c.data_type == "n" for c in changes)


# --- CSV: UTF-8, ISO 8601, Excel option -------------------------------------------------------------------

def test_csv_is_utf8_with_iso_dates_and_utc_timestamps(app, create_study, create_participant):
    study = create_study(code="UTF", instruments=["qlq_c30"])
    with app.app_context():
        db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == "BCN")).code = "CAÑ"
        db.session.commit()
    participant = create_participant(study, code="PÁ-ñü-001", anchor=utcnow().date() - timedelta(days=120),
                                     site_code="CAÑ")
    fill(app, participant.assessments["baseline"], c30_answers(2), language="es")
    for dataset in ("items", "scores", "wide", "compliance"):
        data = export_bytes(app, study.code, dataset)
        assert not data.startswith(b"\xef\xbb\xbf"), "no byte-order mark unless asked for"
        text = data.decode("utf-8")  # strict: fails on anything that is not UTF-8
        assert "PÁ-ñü-001" in text and "CAÑ" in text
        cells = read_csv_text(data)
        for column in ("target_date", "window_start", "window_end"):
            assert all(DATE.fullmatch(v) for v in cells[column]), column
        for column in ("started_at", "completed_at") + (("answered_at",) if dataset == "items" else ()):
            values = [v for v in cells[column] if v]
            assert values and all(TIMESTAMP.fullmatch(v) for v in values), (column, values[:3])


def test_proae_timestamps_are_iso_utc(app, create_study, create_participant):
    study = create_study(code="PTS", terms=[9], instruments=["pro_ctcae"])
    participant = create_participant(study, anchor=utcnow().date() - timedelta(days=120))
    fill(app, participant.assessments["baseline"], {"PROCTCAE_9A_SCL": 0})
    cells = read_csv_text(export_bytes(app, study.code, "proae"))
    assert all(TIMESTAMP.fullmatch(v) for v in cells["completed_at"])


def test_excel_option_adds_one_byte_order_mark(demo, monkeypatch):
    plain = export_bytes(demo.app, "DEMO", "compliance")
    excel = export_bytes(demo.app, "DEMO", "compliance", excel=True)
    assert excel == b"\xef\xbb\xbf" + plain
    monkeypatch.setattr(chunks, "CHUNK_PARTICIPANTS", 3)  # several chunks: still one mark, at the start
    chunked = export_bytes(demo.app, "DEMO", "compliance", excel=True)
    assert chunked == excel and chunked.count(b"\xef\xbb\xbf") == 1
    assert pd.read_csv(io.BytesIO(excel), encoding="utf-8-sig").columns[0] == "study"
