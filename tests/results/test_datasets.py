"""The results data sets (results_scales, results_terms, ttd): the service's figures in every export
format, with their codebook entries, filtered by site and timepoint like the other data sets."""

from __future__ import annotations

import pandas as pd
import pytest

from pro_app.exports import datasets as D
from pro_app.extensions import db
from pro_app.models import Study
from pro_app.results import services
from tests.support.exports import columns_and_rows, export_bytes, frame, read_csv, run_cli

from .study import build
from .test_statistics import PEOPLE


@pytest.fixture
def study_code(app):
    with app.app_context():
        build(PEOPLE)
    return "RES-1"


def test_each_data_set_holds_the_service_figures(app, study_code):
    with app.app_context():
        results = services.compute(db.session.get(Study, db.session.query(Study.id).scalar()))
    for name, expected in (("results_scales", results.scales), ("results_terms", results.terms),
                           ("ttd", results.ttd)):
        exported = read_csv(export_bytes(app, study_code, name))
        assert list(exported.columns) == list(expected.columns)
        assert len(exported) == len(expected) > 0
        for column in expected.columns:
            if pd.api.types.is_numeric_dtype(expected[column]):
                assert exported[column].astype(float).tolist() == pytest.approx(
                    expected[column].astype(float).tolist(), nan_ok=True), (name, column)
            else:
                assert exported[column].fillna("").astype(str).tolist() == \
                    expected[column].fillna("").astype(str).tolist(), (name, column)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "dta"])
@pytest.mark.parametrize("dataset", ["results_scales", "results_terms", "ttd"])
def test_every_format_writes_the_codebook_columns(app, study_code, dataset, fmt):
    with app.app_context():
        study = D.study_by_code(study_code)
        expected = [c.name for c in D.dataset_columns(study)[dataset]]
    names, rows = columns_and_rows(fmt, export_bytes(app, study_code, dataset, fmt))
    assert names == expected and rows > 0


def test_codebook_lists_the_results_columns(app, study_code):
    book = read_csv(export_bytes(app, study_code, "codebook"))
    ttd = book[book["dataset"] == "ttd"].set_index("column")
    assert "died = died" in ttd.loc["censoring_reason", "values"]
    assert "share_3" in set(book[book["dataset"] == "results_terms"]["column"])


def test_site_and_timepoint_filters(app, study_code):
    mia = frame(app, study_code, "ttd", D.Filters(sites=("MIA",)))
    assert set(mia["participant"]) == {"B2", "N1"}
    wk12 = frame(app, study_code, "results_scales", D.Filters(timepoints=("wk12",)))
    assert set(wk12["timepoint"]) == {"wk12"}


def test_the_command_line_exports_a_results_data_set(settings, app, study_code, tmp_path):
    result = run_cli(settings, "export", "--study", study_code, "--dataset", "ttd", "--format", "csv",
                     "-o", str(tmp_path / "ttd.csv"))
    assert result.exit_code == 0, result.output
    assert "censoring_reason" in (tmp_path / "ttd.csv").read_text()
