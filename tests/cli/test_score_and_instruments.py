"""The `pro-app` command line: `score`, `instruments list`, `instruments check`.

Contract of `pro-app score`: it scores a file of item answers (one row per administration, first column an
id, then item columns, blank = unanswered) and writes the id plus one unrounded column per scale code (blank
when missing or not applicable). Bad values stop it with an error naming row and column, and nothing is
written. Extra columns are ignored with a warning; a missing item column counts as unanswered, with a warning.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from pro_app.cli import main
from pro_app.instruments import registry as registry_module
from pro_app.settings import INSTRUMENTS_DIR_ENV as OVERRIDE_ENV

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "c30_sample.csv"
C30_FILE = ROOT / "instruments" / "qlq_c30.yaml"

C30_CODES = ["QL2", "PF2", "RF2", "EF", "CF", "SF", "FA", "NV", "PA", "DY", "SL", "AP", "CO", "DI", "FI", "SUMSC"]
HEADER = "id," + ",".join(C30_CODES)

# Worked example of SCORING.md §1 (row P001 of the sample), to two decimals.
WORKED_EXAMPLE = {
    "QL2": 66.67, "PF2": 73.33, "RF2": 66.67, "EF": 83.33, "CF": 100, "SF": 83.33,
    "FA": 44.44, "NV": 0, "PA": 16.67, "DY": 0, "SL": 33.33, "AP": 0, "CO": 0, "DI": 0, "FI": 0,
    "SUMSC": 85.56,
}


@pytest.fixture
def c30_only(tmp_path_factory, monkeypatch) -> Path:
    """Instruments in use = a copy of the bundled qlq_c30.yaml only, no override.

    The other bundled definitions are written by others; the scoring tests must not depend on them.
    """
    folder = tmp_path_factory.mktemp("bundled")
    shutil.copy(C30_FILE, folder / "qlq_c30.yaml")
    monkeypatch.setattr(registry_module, "bundled_dir", lambda: folder)
    monkeypatch.delenv(OVERRIDE_ENV, raising=False)
    return folder


@pytest.fixture
def run(c30_only):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args])

    return invoke


def sample_rows() -> list[list[str]]:
    with SAMPLE.open(newline="", encoding="utf-8") as fh:
        return [row for row in csv.reader(fh)]


def write_rows(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    return path


def with_cells(tmp_path: Path, *cells: tuple[int, str, str], name: str = "answers.csv") -> Path:
    """The sample with some cells replaced: (data row counted from 1, column name, new text)."""
    rows = sample_rows()
    for row, column, value in cells:
        rows[row][rows[0].index(column)] = value
    return write_rows(tmp_path / name, rows)


def without_columns(tmp_path: Path, *names: str) -> Path:
    rows = sample_rows()
    keep = [k for k, name in enumerate(rows[0]) if name not in names]
    return write_rows(tmp_path / "answers.csv", [[row[k] for k in keep] for row in rows])


def read_scores(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={"id": str}, keep_default_na=False, na_values=[""]).set_index("id")


def data_line(text: str, ident: str) -> list[str]:
    return next(line.split(",") for line in text.splitlines() if line.startswith(ident + ","))


def assert_stopped(result, *words: str) -> None:
    """A clean error (no traceback) naming all `words`, and no scores written to stdout."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.stdout == ""
    assert result.stderr.startswith("Error:"), result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)


# ------------------------------------------------------------------------------------------------
# scoring a valid file
# ------------------------------------------------------------------------------------------------
def test_score_prints_header_and_worked_example(run):
    result = run("score", SAMPLE, "--instrument", "qlq_c30")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == HEADER
    scores = read_scores(result.stdout)
    assert list(scores.index) == ["P001", "P002", "P003", "P004", "P005"]
    for code, expected in WORKED_EXAMPLE.items():
        assert round(scores.loc["P001", code], 2) == pytest.approx(expected, abs=1e-9), code


def test_scores_are_written_unrounded(run):
    result = run("score", SAMPLE, "--instrument", "qlq_c30")
    fields = dict(zip(HEADER.split(","), data_line(result.stdout, "P001"), strict=True))
    for code in ("QL2", "PF2", "SUMSC"):
        decimals = fields[code].partition(".")[2]
        assert len(decimals) > 2, (code, fields[code])
    assert float(fields["PF2"]) == pytest.approx(220 / 3, abs=1e-12)  # (1 - (9/5 - 1)/3) * 100


def test_missing_answers_in_the_sample(run):
    result = run("score", SAMPLE, "--instrument", "qlq_c30")
    scores = read_scores(result.stdout)
    # P002: q2 and q4 blank, PF2 from 3 of 5 items.
    assert round(scores.loc["P002", "PF2"], 2) == 77.78
    assert round(scores.loc["P002", "SUMSC"], 2) == 85.90
    # P003: q1-q3 blank, PF2 (2 of 5) and so the summary score are not scored: blank cells.
    fields = dict(zip(HEADER.split(","), data_line(result.stdout, "P003"), strict=True))
    assert fields["PF2"] == "" and fields["SUMSC"] == ""
    assert round(scores.loc["P003", "RF2"], 2) == 66.67
    assert round(scores.loc["P003", "QL2"], 2) == 66.67
    # P004: q8 blank, DY (one item) not scored, so no summary score either.
    assert pd.isna(scores.loc["P004", "DY"]) and pd.isna(scores.loc["P004", "SUMSC"])
    assert round(scores.loc["P004", "PF2"], 2) == 73.33
    # P005: worst case.
    assert scores.loc["P005", "QL2"] == 0 and scores.loc["P005", "FA"] == 100 and scores.loc["P005", "SUMSC"] == 0


def test_output_file_holds_what_stdout_shows(run, tmp_path):
    shown = run("score", SAMPLE, "--instrument", "qlq_c30")
    out = tmp_path / "scores.csv"
    written = run("score", SAMPLE, "--instrument", "qlq_c30", "-o", out)
    assert written.exit_code == 0, written.stderr
    assert written.stdout == ""
    assert out.read_text(encoding="utf-8") == shown.stdout
    assert [p.name for p in tmp_path.iterdir()] == ["scores.csv"]  # no temporary file left behind


def test_output_file_is_replaced_on_success(run, tmp_path):
    out = tmp_path / "scores.csv"
    out.write_text("old content\n", encoding="utf-8")
    result = run("score", SAMPLE, "--instrument", "qlq_c30", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert out.read_text(encoding="utf-8").splitlines()[0] == HEADER


# ------------------------------------------------------------------------------------------------
# bad values: stop, name row and column, write nothing
# ------------------------------------------------------------------------------------------------
def test_out_of_range_value_stops_and_writes_nothing(run, tmp_path):
    answers = with_cells(tmp_path, (4, "q3", "5"))
    out = tmp_path / "scores.csv"
    result = run("score", answers, "--instrument", "qlq_c30", "-o", out)
    assert_stopped(result, "row 4", "P004", "q3", "5")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["answers.csv"]


def test_existing_output_file_is_left_untouched_on_error(run, tmp_path):
    answers = with_cells(tmp_path, (4, "q3", "5"))
    out = tmp_path / "scores.csv"
    before = b"id,QL2\r\nOLD,1.5\r\n\xef\xbb\xbf"
    out.write_bytes(before)
    result = run("score", answers, "--instrument", "qlq_c30", "-o", out)
    assert result.exit_code == 1
    assert out.read_bytes() == before


@pytest.mark.parametrize(
    "row, ident, column, value",
    [
        (2, "P002", "q7", "abc"),
        (3, "P003", "q12", "2.5"),
        (5, "P005", "q29", "-1"),
        (1, "P001", "q1", "0"),
        (4, "P004", "q28", "7"),  # 7 is an answer of q29/q30, not of q28
    ],
    ids=["text", "non-integer", "negative", "zero", "other-items-range"],
)
def test_bad_value_stops_with_row_and_column(run, tmp_path, row, ident, column, value):
    answers = with_cells(tmp_path, (row, column, value))
    result = run("score", answers, "--instrument", "qlq_c30")
    assert_stopped(result, f"row {row}", ident, column, value)


@pytest.mark.parametrize("value", ["5", "2.5", "-1", "0"])
def test_bad_value_is_quoted_as_written(run, tmp_path, value):
    answers = with_cells(tmp_path, (4, "q3", value))
    result = run("score", answers, "--instrument", "qlq_c30")
    assert result.exit_code == 1
    assert re.search(rf"column q3: '?{re.escape(value)}'? is not an allowed answer", result.stderr), result.stderr


def test_error_names_the_first_bad_cell_in_row_order(run, tmp_path):
    answers = with_cells(tmp_path, (3, "q1", "9"), (2, "q25", "x"), (2, "q20", "9"), (5, "q2", "0"))
    result = run("score", answers, "--instrument", "qlq_c30")
    assert_stopped(result, "row 2", "P002", "column q20")
    assert "q25" not in result.stderr and "row 3" not in result.stderr


# ------------------------------------------------------------------------------------------------
# columns: extra, missing, duplicated; blank cells
# ------------------------------------------------------------------------------------------------
def test_extra_column_is_ignored_with_a_warning(run, tmp_path):
    rows = sample_rows()
    rows[0].insert(1, "site")
    for k, row in enumerate(rows[1:]):
        row.insert(1, ["Lyon", "Madrid", "9", "", "x"][k])  # would be bad answers if it were an item
    answers = write_rows(tmp_path / "answers.csv", rows)
    result = run("score", answers, "--instrument", "qlq_c30")
    assert result.exit_code == 0, result.stderr
    assert "warning" in result.stderr and "site" in result.stderr
    assert result.stdout.splitlines()[0] == HEADER
    assert round(read_scores(result.stdout).loc["P001", "SUMSC"], 2) == 85.56


def test_missing_item_column_counts_as_unanswered_with_a_warning(run, tmp_path):
    rows = sample_rows()
    rows[1][rows[0].index("q29")] = "2"  # P001: QL2 from q29 = 2 alone is (2 - 1)/6 * 100
    q30 = rows[0].index("q30")
    answers = write_rows(tmp_path / "answers.csv", [row[:q30] + row[q30 + 1:] for row in rows])
    result = run("score", answers, "--instrument", "qlq_c30")
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "q30" in warnings[0] and "q29" not in warnings[0]
    scores = read_scores(result.stdout)
    assert scores.loc["P001", "QL2"] == pytest.approx(100 / 6, abs=1e-12)
    assert round(scores.loc["P005", "QL2"], 2) == 0  # q29 = 1


def test_no_warning_for_a_complete_file(run):
    result = run("score", SAMPLE, "--instrument", "qlq_c30")
    assert result.stderr == ""


def test_blank_and_na_cells_are_unanswered(run, tmp_path):
    answers = with_cells(tmp_path, (1, "q1", "NA"), (1, "q2", ""), (2, "q28", "NA"))
    result = run("score", answers, "--instrument", "qlq_c30")
    assert result.exit_code == 0, result.stderr
    scores = read_scores(result.stdout)
    # P001 PF2 from q3, q4, q5 = 2, 1, 1: RS 4/3, (1 - (1/3)/3) * 100.
    assert scores.loc["P001", "PF2"] == pytest.approx(800 / 9, abs=1e-12)
    assert pd.isna(scores.loc["P002", "FI"])  # its only item is NA


def test_whitespace_only_cell_is_unanswered(run, tmp_path):
    answers = with_cells(tmp_path, (1, "q30", " "))
    result = run("score", answers, "--instrument", "qlq_c30")
    assert result.exit_code == 0, result.exception
    assert round(read_scores(result.stdout).loc["P001", "QL2"], 2) == 66.67  # from q29 = 5 alone


def test_empty_input_file(run, tmp_path):
    answers = tmp_path / "answers.csv"
    answers.write_text("", encoding="utf-8")
    out = tmp_path / "scores.csv"
    result = run("score", answers, "--instrument", "qlq_c30", "-o", out)
    assert_stopped(result, "empty")
    assert not out.exists()


def test_header_only_file_gives_header_only(run, tmp_path):
    answers = write_rows(tmp_path / "answers.csv", sample_rows()[:1])
    result = run("score", answers, "--instrument", "qlq_c30")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [HEADER]


def test_duplicate_column_names_are_an_error(run, tmp_path):
    rows = sample_rows()
    rows[0][rows[0].index("q5")] = "q4"
    answers = write_rows(tmp_path / "answers.csv", rows)
    out = tmp_path / "scores.csv"
    result = run("score", answers, "--instrument", "qlq_c30", "-o", out)
    assert_stopped(result, "q4", "more than once")
    assert not out.exists()


def test_output_into_a_missing_folder_is_a_clean_error(run, tmp_path):
    out = tmp_path / "no_such_folder" / "scores.csv"
    result = run("score", SAMPLE, "--instrument", "qlq_c30", "-o", out)
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "no_such_folder" in result.stderr


def test_unknown_instrument_is_a_usage_error_listing_the_known_ids(run):
    result = run("score", SAMPLE, "--instrument", "qlq_c99")
    assert result.exit_code == 2
    assert "--instrument" in result.stderr
    assert "qlq_c99" in result.stderr and "qlq_c30" in result.stderr
    assert result.stdout == ""


# ------------------------------------------------------------------------------------------------
# instruments list / check
# ------------------------------------------------------------------------------------------------
def test_instruments_list_shows_qlq_c30(run, c30_only):
    result = run("instruments", "list")
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.split()[:3] == ["qlq_c30", "3.0-style.1", "paraphrased"]
    assert "30 items" in line and "16 scales" in line
    assert str(c30_only / "qlq_c30.yaml") in line


def test_instruments_check_passes_on_the_bundled_files(monkeypatch):
    monkeypatch.delenv(OVERRIDE_ENV, raising=False)
    result = CliRunner().invoke(main, ["instruments", "check"])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith("ok  ") for line in lines)
    assert any(line.startswith("ok  qlq_c30 ") for line in lines)


def test_instruments_check_on_a_folder_with_one_broken_file(tmp_path):
    shutil.copy(C30_FILE, tmp_path / "qlq_c30.yaml")
    doc = yaml.safe_load(C30_FILE.read_text(encoding="utf-8"))
    doc["id"] = "broken_c30"
    del doc["items"][3]["text"]["es"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")

    result = CliRunner().invoke(main, ["instruments", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{broken}: items[3].text: 'es' is a required property" in result.stderr
    assert "1 definition(s) failed" in result.stderr
    assert "ok  qlq_c30" in result.stdout  # the good file is still checked
    assert "broken_c30" not in result.stdout


def test_instruments_check_on_a_folder_without_definitions(tmp_path):
    (tmp_path / "notes.txt").write_text("not a definition", encoding="utf-8")
    result = CliRunner().invoke(main, ["instruments", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert "no definition files" in result.stderr


# ------------------------------------------------------------------------------------------------
# text cells and ragged rows (issue 15)
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ident", ['=HYPERLINK("http://x.example","P1")', "+1+1", "-2", "@SUM(A1)"])
def test_an_id_a_spreadsheet_would_run_is_written_as_text(run, tmp_path, ident):
    answers = with_cells(tmp_path, (1, "id", ident))
    result = run("score", answers, "--instrument", "qlq_c30")
    assert result.exit_code == 0, result.stderr
    written = list(csv.reader(io.StringIO(result.stdout)))
    assert written[1][0] == "'" + ident
    assert written[2][0] == "P002"  # other ids untouched


def test_a_row_with_too_many_cells_stops_naming_it(run, tmp_path):
    rows = sample_rows()
    rows[3] = [*rows[3], "9"]
    answers = write_rows(tmp_path / "answers.csv", rows)
    out = tmp_path / "scores.csv"
    result = run("score", answers, "--instrument", "qlq_c30", "-o", out)
    assert_stopped(result, "row 3", "P003", "cells")
    assert not out.exists()
