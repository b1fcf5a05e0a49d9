"""`pro-app export`: every data set in every format, filters, clear errors, and an audit record per export.

The command runs in process through click's CliRunner with DATABASE_URL and PRO_APP_INSTANCE_PATH pointing
at the test installation, as a site admin would run it.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from pro_app.exports import datasets as D
from pro_app.extensions import db
from pro_app.instruments import get_instrument, score
from pro_app.models import AuditEvent, Study
from pro_app.settings import Settings
from tests.support.exports import (
    DATASETS,
    FORMATS,
    cli_export,
    columns_and_rows,
    expected_columns,
    export_bytes,
    frame,
    own_database,
    read_csv,
    run_cli,
)

WROTE = re.compile(r"wrote (\d+) rows to ")


def last_audit_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))


def exports_since(app, after: int) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.id > after, AuditEvent.action == "export")
                                    .order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return events


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_every_data_set_in_every_format_writes_a_file(demo, cli_files, dataset, fmt):
    """Done-when: `pro-app export` writes every data set in every format (files written once, conftest.py)."""
    written = cli_files[(dataset, fmt)]
    reference = frame(demo.app, "DEMO", dataset)
    assert written.exit_code == 0, written.stderr
    assert written.data, "a file was written"
    assert int(WROTE.search(written.stderr).group(1)) == len(reference)
    if fmt != "xlsx":  # read back with every reader in test_formats.py; here only the quick ones
        assert columns_and_rows(fmt, written.data) == (expected_columns(fmt, list(reference.columns)), len(reference))
    assert not [name for name in written.leftovers if name.endswith(".tmp")], "no temporary file left behind"
    if fmt == "csv":  # the command writes what the exporters give (other formats: tests/api, same bytes)
        assert written.data == export_bytes(demo.app, "DEMO", dataset, fmt)


def test_default_format_is_csv_on_standard_output(demo):
    result = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "compliance")
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == export_bytes(demo.app, "DEMO", "compliance")


def test_excel_flag_adds_a_byte_order_mark(demo, tmp_path):
    plain = cli_export(demo.settings, tmp_path / "plain.csv", "compliance")
    excel = cli_export(demo.settings, tmp_path / "excel.csv", "compliance", "csv", "--excel")
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert excel == b"\xef\xbb\xbf" + plain


def test_unknown_study_is_a_clear_error_and_writes_nothing(demo, tmp_path):
    out = tmp_path / "x.csv"
    result = run_cli(demo.settings, "export", "--study", "NOPE", "--dataset", "items", "-o", str(out))
    assert result.exit_code != 0
    assert "no study 'NOPE'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--dataset", "itemz"], "Invalid value for '--dataset'"),
    (["--dataset", "items", "--format", "sas7bdat"], "Invalid value for '--format'"),
    (["--dataset", "items", "--from", "2026-02-30"], "Invalid value for '--from'"),
    (["--dataset", "items", "--to", "21/11/2026"], "Invalid value for '--to'"),
])
def test_bad_options_are_clear_errors(demo, args, message):
    result = run_cli(demo.settings, "export", "--study", "DEMO", *args)
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize(("args", "words"), [
    (["--site", "XXX"], ["unknown site 'XXX'", "BCN"]),
    (["--site", "BCN", "--site", "XXX"], ["unknown site 'XXX'", "BCN"]),
    (["--timepoint", "week12"], ["unknown timepoint 'week12'", "baseline", "wk12"]),
    (["--from", "2026-03-01", "--to", "2026-02-01"], ["date range is empty", "2026-03-01", "2026-02-01"]),
], ids=["site", "one-of-two-sites", "timepoint", "from-after-to"])
def test_filters_that_keep_nothing_by_construction_exit_2_listing_valid_values(demo, tmp_path, args, words):
    after = last_audit_id(demo.app)
    out = tmp_path / "x.csv"
    result = run_cli(demo.settings, "export", "--study", "DEMO", "--dataset", "scores", "-o", str(out), *args)
    assert result.exit_code == 2, result.output
    for word in words:
        assert word in result.output, (word, result.output)
    assert "Traceback" not in result.output
    assert not out.exists()
    assert exports_since(demo.app, after) == []


@pytest.mark.parametrize("dataset", ["items", "compliance"])
def test_filters(demo, tmp_path, dataset):
    whole = frame(demo.app, "DEMO", dataset)
    dates = sorted(set(whole["target_date"]))
    low, high = dates[len(dates) // 4], dates[3 * len(dates) // 4]
    cases = [
        (["--site", "MIA"], D.Filters(sites=("MIA",))),
        (["--timepoint", "baseline", "--timepoint", "fu30"], D.Filters(timepoints=("baseline", "fu30"))),
        (["--from", low.isoformat(), "--to", high.isoformat()], D.Filters(date_from=low, date_to=high)),
        (["--site", "BCN", "--site", "MIA", "--timepoint", "wk12", "--from", low.isoformat()],
         D.Filters(sites=("BCN", "MIA"), timepoints=("wk12",), date_from=low)),
    ]
    if dataset == "items":
        cases = cases[-1:]
    for n, (args, filters) in enumerate(cases):
        written = cli_export(demo.settings, tmp_path / f"{n}.csv", dataset, "csv", *args)
        assert written == export_bytes(demo.app, "DEMO", dataset, "csv", filters), args
        rows = read_csv(written)
        assert 0 < len(rows) < len(whole), args
        if filters.sites:
            assert set(rows["site"]) <= set(filters.sites)
        if filters.timepoints:
            assert set(rows["timepoint"]) <= set(filters.timepoints)
        if filters.date_from:
            assert min(date.fromisoformat(d) for d in rows["target_date"]) >= filters.date_from
        if filters.date_to:
            assert max(date.fromisoformat(d) for d in rows["target_date"]) <= filters.date_to


def test_every_export_is_audited_with_filters_and_row_count(demo, tmp_path):
    before = last_audit_id(demo.app)
    out = tmp_path / "scores.parquet"
    cli_export(demo.settings, out, "scores", "parquet", "--site", "BCN", "--timepoint", "wk12",
               "--from", "2020-01-01", "--to", "2030-12-31")
    cli_export(demo.settings, tmp_path / "codebook.csv", "codebook")
    expected_rows = len(frame(demo.app, "DEMO", "scores", D.Filters(sites=("BCN",), timepoints=("wk12",))))
    events = exports_since(demo.app, before)
    assert len(events) == 2
    with demo.app.app_context():
        study_id = db.session.scalar(select(Study.id).where(Study.code == "DEMO"))
    first, second = events
    assert (first.action, first.entity, first.entity_id, first.study_id, first.actor) == (
        "export", "study", study_id, study_id, "system")
    assert first.new == {"dataset": "scores", "format": "parquet", "rows": expected_rows, "via": "cli",
                         "filters": {"sites": ["BCN"], "timepoints": ["wk12"], "date_from": "2020-01-01",
                                     "date_to": "2030-12-31"}}
    assert columns_and_rows("parquet", out.read_bytes())[1] == expected_rows
    assert second.new["dataset"] == "codebook" and second.new["rows"] == len(frame(demo.app, "DEMO", "codebook"))
    assert second.new["filters"] == {"sites": [], "timepoints": [], "date_from": None, "date_to": None}


def test_a_refused_export_is_not_audited(demo, tmp_path):
    before = last_audit_id(demo.app)
    assert run_cli(demo.settings, "export", "--study", "NOPE", "--dataset", "items").exit_code != 0
    assert exports_since(demo.app, before) == []


def test_after_pro_app_demo_wide_recomputes_exactly(tmp_path):
    """Done-when, end to end through the command line: `pro-app demo`, then `pro-app export` of every data
    set; wide's scale scores recompute from wide's own item columns."""
    folder = tmp_path / "site"
    folder.mkdir()
    with own_database(folder) as url:
        settings = Settings.from_env(folder / "instance", environ={}, database_url=url)
        result = run_cli(settings, "demo", "--participants", "6")
        assert result.exit_code == 0, (result.output, result.exception)
        files = {name: cli_export(settings, tmp_path / f"{name}.csv", name) for name in ("wide", "codebook")}
    wide = read_csv(files["wide"])
    completed = wide[wide["assessment_status"] == "completed"]
    assert len(completed) > 5
    codebook = read_csv(files["codebook"], na_filter=False)
    checked = 0
    for instrument_id in ("qlq_c30", "qlq_br45", "pro_ctcae"):
        instrument = get_instrument(instrument_id)
        rows = codebook[(codebook["dataset"] == "wide") & (codebook["instrument"] == instrument_id)]
        items = [c for c in rows["column"] if instrument.has_item(c)]
        scales = [c for c in rows["column"] if not instrument.has_item(c)]
        recomputed = score(instrument, completed[items].astype("float64"))
        for code in scales:
            for exported, again in zip(completed[code], recomputed.values[code], strict=True):
                assert (exported != exported and again != again) or abs(exported - again) <= 1e-9, (code, exported)
                checked += 1
    assert checked > 300


CODED = re.compile(r"[^=;]+ = [^;]+(; [^=;]+ = [^;]+)*")


def test_every_codebook_values_entry_is_code_equals_label(demo, tmp_path):
    """Formats and value labels are generated from the codebook: every non-empty `values` entry is
    `code = label; code = label; ...`, nothing else."""
    codebook = read_csv(cli_export(demo.settings, tmp_path / "codebook.csv", "codebook"), na_filter=False)
    entries = [v for v in codebook["values"] if v]
    assert entries
    bad = [v for v in entries if not CODED.fullmatch(v)]
    assert bad == [], f"{len(bad)} of {len(entries)} entries: {bad[:5]}"
