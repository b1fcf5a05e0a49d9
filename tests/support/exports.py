"""Shared helpers for the export and API tests: a seeded demo installation of its own, hand-made
assessments answered through the same code path as the tablet, and readers for every export format.

Database work happens in short app contexts of its own; nothing here holds a context while a test client
makes requests.
"""

from __future__ import annotations

import io
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import ScriptInfo
from openpyxl.cell.read_only import EmptyCell

from pro_app import create_app
from pro_app.assessments import answers, completion
from pro_app.cli import main
from pro_app.demo import seed_demo
from pro_app.exports import datasets as D
from pro_app.exports import service
from pro_app.exports.labelled import sas_names
from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import Assessment
from pro_app.settings import Settings
from tests.support.cli import preserved_logging
from tests.support.database import own_database

DATASETS = ("items", "scores", "wide", "proae", "compliance", "sdtm_qs", "suppqs", "adsl", "adqs", "codebook")
FORMATS = ("csv", "parquet", "xlsx", "dta", "sav", "xpt")


# --- an installation of its own ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Installation:
    app: Flask
    settings: Settings

    @property
    def env(self) -> dict[str, str | None]:
        """The environment the `pro-app` command needs to reach this installation's database."""
        return cli_env(self.settings)


@contextmanager
def demo_installation(folder: Path, participants: int) -> Iterator[Installation]:
    """A fresh installation with the demo study seeded (`pro-app demo --participants N`, in process)."""
    with own_database(folder) as url:
        settings = Settings.from_env(folder / "instance", environ={}, database_url=url, testing=True,
                                     secret_key="test-only-" + uuid.uuid4().hex)
        app = create_app(settings)
        with app.app_context():
            db.create_all()
            seed_demo(participants=participants)
        try:
            yield Installation(app, settings)
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def cli_env(settings: Settings) -> dict[str, str | None]:
    return {
        "DATABASE_URL": settings.database_url,
        "PRO_APP_INSTANCE_PATH": str(settings.instance_path),
        "SECRET_KEY": None,
        "PRO_APP_INSTRUMENTS_DIR": None,
        "FLASK_APP": None,
        "FLASK_RUN_FROM_CLI": None,
    }


def run_cli(settings: Settings, *args: str) -> Result:
    """`pro-app ARGS` in process, the app built from the environment as the real command builds it; its
    database connections are closed afterwards (PostgreSQL connections left to the garbage collector warn)."""
    created: list[Flask] = []

    def build_app() -> Flask:
        created.append(create_app())
        return created[-1]

    try:
        with preserved_logging():
            return CliRunner().invoke(main, list(args), env=cli_env(settings), obj=ScriptInfo(create_app=build_app))
    finally:
        for app in created:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def cli_export(settings: Settings, out: Path, dataset: str, fmt: str = "csv", *extra: str,
               study: str = "DEMO") -> bytes:
    result = run_cli(settings, "export", "--study", study, "--dataset", dataset, "--format", fmt, "-o", str(out),
                     *extra)
    assert result.exit_code == 0, (result.output, result.exception)
    return out.read_bytes()


# --- exporting in process ---------------------------------------------------------------------------------

def export_bytes(app: Flask, study_code: str, dataset: str, fmt: str = "csv", filters: D.Filters | None = None,
                 excel: bool = False, stata_version: int | None = None) -> bytes:
    """The bytes of one data set in one format, through the builders and writers every entry point uses."""
    with app.app_context():
        study = D.study_by_code(study_code)
        chunks = D.build(study, dataset, filters)
        data = b"".join(service.write(fmt, chunks, study, dataset, excel=excel, stata_version=stata_version))
        db.session.rollback()
    return data


def read_csv(data: bytes, **kwargs) -> pd.DataFrame:
    """Blank cells are missing; nothing else is (an answer labelled "None" is text, not missing).
    pandas 3 parses floats exactly (round trip)."""
    kwargs.setdefault("keep_default_na", False)
    kwargs.setdefault("na_values", [""])
    return pd.read_csv(io.BytesIO(data), **kwargs)


def read_csv_text(data: bytes) -> pd.DataFrame:
    """Every cell as the exact text in the file ('' for blank)."""
    return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, na_filter=False)


def read_parquet(data: bytes) -> pd.DataFrame:
    return pq.read_table(io.BytesIO(data)).to_pandas()


def read_xlsx(data: bytes) -> tuple[list[str], list[list]]:
    """Header and the rows of cells (with value, data_type, is_date) of the only sheet, read-only."""
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = [list(row) for row in workbook.worksheets[0].iter_rows()]
    workbook.close()
    header = [c.value for c in rows[0]] if rows else []
    while header and header[-1] is None:
        header.pop()
    body = [row + [EmptyCell] * (len(header) - len(row)) for row in rows[1:]]
    return header, body


def read_dta(data: bytes) -> pd.DataFrame:
    return pd.read_stata(io.BytesIO(data))


def expected_columns(fmt: str, columns: list[str]) -> list[str]:
    """The names a file of the format gives the columns (SAS transport: 8 characters at most)."""
    if fmt == "xpt":
        renamed = sas_names(list(columns))
        return [renamed[c] for c in columns]
    return list(columns)


def columns_and_rows(fmt: str, data: bytes) -> tuple[list[str], int]:
    if fmt == "csv":
        frame = read_csv(data)
        return list(frame.columns), len(frame)
    if fmt == "parquet":
        table = pq.read_table(io.BytesIO(data))
        return list(table.column_names), table.num_rows
    if fmt == "xlsx":
        header, rows = read_xlsx(data)
        return header, len(rows)
    if fmt in ("xpt", "sav"):  # xpt: names of 8 characters at most (sas_names): see expected_columns
        with tempfile.TemporaryDirectory() as folder:  # pyreadstat reads files, not buffers
            path = Path(folder) / f"data.{fmt}"
            path.write_bytes(data)
            # pandas.read_sas stops on a file with no rows; the other files are read by it in test_labelled.py
            frame = pd.read_spss(path) if fmt == "sav" else pyreadstat.read_xport(str(path))[0]
        return list(frame.columns), len(frame)
    frame = read_dta(data)
    return list(frame.columns), len(frame)


def frame(app: Flask, study_code: str, dataset: str, filters: D.Filters | None = None) -> pd.DataFrame:
    """The data set as the builders give it (all chunks)."""
    with app.app_context():
        parts = list(D.build(D.study_by_code(study_code), dataset, filters))
        db.session.rollback()
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


# --- hand-made assessments --------------------------------------------------------------------------------

def plan_items(app: Flask, assessment_id: int) -> dict[str, list[str]]:
    """{instrument id: item ids asked} of the assessment (fixing its plan)."""
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        plan = answers.ensure_plan(assessment)
        db.session.commit()
        return {part.instrument: list(part.items) for part in plan}


def fill(app: Flask, assessment_id: int, given: dict[str, int | str | None], *, complete: bool = True,
         language: str = "en", mode: str = "self", completed_at: datetime | None = None) -> None:
    """Record answers through the tablet's code path (an int is an answer, a str an extra option's code,
    None a confirmed skip), then complete the assessment (scores computed and stored)."""
    with app.app_context():
        assessment = answers.lock(assessment_id)
        plan = answers.ensure_plan(assessment)
        owner = {item: part.instrument for part in plan for item in part.items}
        for item_id, choice in given.items():
            instrument = get_instrument(owner[item_id])
            if choice is None:
                value, code, state = None, None, "declined"
            else:
                value, code, state = answers.parse_choice(instrument, item_id, str(choice))
            answers.record(assessment, instrument, item_id, value=value, option_code=code, state=state,
                           language=language, mode=mode, actor="patient")
        db.session.flush()
        if complete:
            completion.complete(assessment, actor="patient", language=language)
            if completed_at is not None:
                assessment.completed_at = completed_at
        db.session.commit()


def c30_answers(value: int, global_value: int | None = None) -> dict[str, int]:
    """Every QLQ-C30 item 1-28 answered `value`, items 29-30 `global_value` (default: same)."""
    answers_ = {f"q{n}": value for n in range(1, 29)}
    answers_.update({"q29": global_value or value, "q30": global_value or value})
    return answers_


def set_assessment(app: Flask, assessment_id: int, **values) -> None:
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        for key, value in values.items():
            setattr(assessment, key, value)
        db.session.commit()


def assessment_dates(app: Flask, assessment_id: int) -> tuple[date, date, date]:
    with app.app_context():
        a = db.session.get(Assessment, assessment_id)
        return a.target_date, a.window_start, a.window_end


def scalar_rows(app: Flask, stmt) -> list:
    with app.app_context():
        rows = db.session.execute(stmt).all()
        db.session.rollback()
    return rows

