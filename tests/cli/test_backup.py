"""`pro-app backup` and `pro-app restore`: the restore drill, and the restores that must be refused.

The drill seeds the demo, backs up while a patient keeps answering on a tablet (another thread, through the
kiosk pages), restores into an empty database and compares every table, row by row, with the source as it
was at one moment between the backup's start and end. The answering thread is the only writer and dumps the
whole source database after each of its requests, so the source's state after every step is known.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import threading
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, inspect, text

from pro_app import create_app
from pro_app.cli import main
from pro_app.extensions import db
from pro_app.settings import Settings
from tests.support.cli import parse_demo_output, preserved_logging
from tests.support.database import own_database
from tests.support.http import csrf_token

KEY = "backup-drill-" + uuid.uuid4().hex


@dataclass(frozen=True)
class Site:
    folder: Path
    database_url: str
    secret_key: str = KEY

    @property
    def env(self) -> dict[str, str | None]:
        return {"DATABASE_URL": self.database_url, "PRO_APP_INSTANCE_PATH": str(self.folder / "instance"),
                "SECRET_KEY": self.secret_key, "PRO_APP_INSTRUMENTS_DIR": None, "FLASK_APP": None,
                "FLASK_RUN_FROM_CLI": None}

    def run(self, *args: str) -> Result:
        with preserved_logging():
            return CliRunner().invoke(main, list(args), env=self.env)

    def app(self):
        environ = {k: v for k, v in self.env.items() if v is not None}
        return create_app(Settings.from_env(self.folder / "instance", environ=environ))


@pytest.fixture
def sites(tmp_path):
    """Make sites, each on a database of its own (SQLite files, or throw-away PostgreSQL databases)."""
    with ExitStack() as stack:
        def make(name: str, **kwargs) -> Site:
            folder = tmp_path / name
            folder.mkdir()
            return Site(folder, stack.enter_context(own_database(folder)), **kwargs)

        yield make


def ok(result: Result) -> str:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}\n{result.exception!r}"
    return result.output


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            return {t: sorted((tuple(row) for row in connection.execute(text(f'SELECT * FROM "{t}"'))), key=repr)
                    for t in tables}
    finally:
        engine.dispose()


class Patient(threading.Thread):
    """A patient answering on a tablet until told to stop; the source's full dump after every request."""

    def __init__(self, site: Site, code: str):
        super().__init__(daemon=True)
        self.site, self.code = site, code
        self.states: list[dict] = []
        self.answers = 0
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._answer()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc

    def _step(self, response):
        self.states.append(dump(self.site.database_url))
        return response

    def _answer(self) -> None:
        app = self.site.app()
        client = app.test_client()
        page = self._step(client.get("/kiosk/")).get_data(as_text=True)
        response = self._step(client.post("/kiosk/", data={"code": self.code, "csrf_token": csrf_token(page)}))
        while not self.stop.is_set():
            assert response.status_code == 302, response.status_code
            location = response.headers["Location"]
            page = self._step(client.get(location))
            if page.status_code == 302:
                response = page
                continue
            html = page.get_data(as_text=True)
            if "/intro/" in location:
                response = self._step(client.post(location, data={"csrf_token": csrf_token(html)}))
            elif "/item/" in location:
                choice = re.search(r'type="radio"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*type="radio"', html)
                response = self._step(client.post(location, data={
                    "choice": choice.group(1) or choice.group(2), "action": "next", "csrf_token": csrf_token(html)}))
                self.answers += response.status_code == 302
            else:
                break  # the review screen: every item answered
        with app.app_context():
            db.engine.dispose()

    def wait_for(self, steps: int) -> None:
        while len(self.states) < steps and self.is_alive():
            self.stop.wait(0.01)


def test_a_backup_taken_while_a_patient_answers_restores_to_the_source_at_one_moment(sites, tmp_path):
    source = sites("source")
    demo = parse_demo_output(ok(source.run("demo", "--participants", "6")))
    patient = Patient(source, demo.patient_code)
    patient.start()
    patient.wait_for(8)
    before = len(patient.states)
    output = ok(source.run("backup", "-o", str(tmp_path / "drill.backup")))
    after = len(patient.states)
    patient.wait_for(after + 6)
    patient.stop.set()
    patient.join(60)
    assert patient.error is None, repr(patient.error)
    assert patient.answers >= 4 and len(patient.states) > after, "the patient was not answering during the backup"
    assert "wrote" in output

    target = sites("target")
    restored_output = ok(target.run("restore", str(tmp_path / "drill.backup")))
    assert "warning" not in restored_output  # same key, same migration head
    restored = dump(target.database_url)

    # The restored database is the source after one of the patient's steps taken while the backup ran: every
    # table equal row by row (with the alembic_version row).
    candidates = range(max(before - 1, 0), after)
    matches = [k for k in candidates if patient.states[k] == restored]
    if not matches:
        closest = patient.states[after - 1]
        differ = {t: (len(closest.get(t, [])), len(restored.get(t, []))) for t in set(closest) | set(restored)
                  if closest.get(t) != restored.get(t)}
        pytest.fail(f"the restore equals no state of the source during the backup; tables that differ from the "
                    f"last one (source rows, restored rows): {differ}")
    assert set(restored) == set(db.metadata.tables) | {"alembic_version"}
    assert restored["item_response"], "the drill restored no answers"

    # And the restored site works: the coordinator logs in there.
    app = target.app()
    client = app.test_client()
    token = csrf_token(client.get("/staff/login").get_data(as_text=True))
    response = client.post("/staff/login", data={"email": demo.email, "password": demo.password,
                                                 "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/today")
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def backed_up(sites, tmp_path):
    source = sites("source")
    ok(source.run("demo", "--participants", "2"))
    path = tmp_path / "site.backup"
    ok(source.run("backup", "-o", str(path)))
    return source, path


def test_the_backup_file_is_private_and_names_what_it_holds_but_never_the_key(backed_up):
    source, path = backed_up
    assert path.stat().st_mode & 0o077 == 0
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        names = tar.getnames()
    assert manifest["migration"] == manifest["migration_heads"][0]
    assert {i["id"] for i in manifest["instruments"]} >= {"qlq_c30", "qlq_br45", "pro_ctcae"}
    assert all(re.fullmatch(r"[0-9a-f]{64}", i["sha256"]) and i["version"] for i in manifest["instruments"])
    assert manifest["secret_key_fingerprint"].startswith("sha256:")
    assert KEY not in path.read_bytes().decode("latin-1")
    assert manifest["tables"] == {table: len(rows) for table, rows in dump(source.database_url).items()}
    assert names == ["manifest.json", manifest["file"]]


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(backed_up, sites):
    source, path = backed_up
    before = dump(source.database_url)
    result = source.run("restore", str(path))
    assert result.exit_code == 2
    assert "not empty" in result.output and "restore only into an empty database" in result.output
    assert dump(source.database_url) == before


def test_restore_warns_when_the_secret_key_differs(backed_up, sites):
    source, path = backed_up
    target = sites("target", secret_key="another-key-" + uuid.uuid4().hex)
    output = ok(target.run("restore", str(path)))
    assert "warning: the backup was made with another SECRET_KEY" in output
    assert dump(target.database_url) == dump(source.database_url)


def rewritten(path: Path, into: Path, **changes) -> Path:
    """The backup with its manifest changed."""
    with tarfile.open(path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        database = tar.extractfile(manifest["file"]).read()
    manifest.update(changes)
    with tarfile.open(into, "w") as tar:
        for name, data in (("manifest.json", json.dumps(manifest).encode()), (manifest["file"], database)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return into


def test_restore_refuses_a_backup_from_a_newer_migration(backed_up, sites, tmp_path):
    source, path = backed_up
    target = sites("target")
    newer = rewritten(path, tmp_path / "newer.backup", migration="ffffffffffff")
    result = target.run("restore", str(newer))
    assert result.exit_code == 2
    assert "migration ffffffffffff, which this pro-app does not know" in result.output
    assert dump(target.database_url) == {}


def test_restore_refuses_a_damaged_backup_or_another_file(backed_up, sites, tmp_path):
    source, path = backed_up
    target = sites("target")
    damaged = rewritten(path, tmp_path / "damaged.backup", sha256="0" * 64)
    result = target.run("restore", str(damaged))
    assert result.exit_code == 2 and "damaged" in result.output
    other = tmp_path / "notes.txt"
    other.write_text("not a backup")
    result = target.run("restore", str(other))
    assert result.exit_code == 2 and "is not a pro-app backup" in result.output
    assert dump(target.database_url) == {}
