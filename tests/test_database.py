"""SQLite as the clinic runs it: WAL, a busy timeout, foreign keys, write transactions that begin IMMEDIATE
(so read-then-write transactions from several threads take turns instead of failing with "database is
locked"), and a calm 503 page when the disk is full even though ROLLBACK then fails too.

These tests are about SQLite, so they use a SQLite file of their own whatever database the run uses.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from pro_app import create_app
from pro_app.extensions import csrf, db
from pro_app.models import Site, Study
from pro_app.settings import Settings

WRITES_PER_THREAD = 50


@pytest.fixture
def sqlite_settings(tmp_path) -> Settings:
    return Settings.from_env(tmp_path / "instance", environ={}, database_url=f"sqlite:///{tmp_path / 'clinic.sqlite3'}",
                             secret_key="test-only-" + uuid.uuid4().hex)


@pytest.fixture
def sqlite_app(sqlite_settings):
    app = create_app(sqlite_settings)
    with app.app_context():
        db.create_all()
        db.session.add(Study(code="NCT0000001", title="0"))
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_connections_use_wal_a_busy_timeout_and_foreign_keys(sqlite_app):
    with sqlite_app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar().lower() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_foreign_keys_are_enforced(sqlite_app):
    with sqlite_app.app_context():
        db.session.add(Site(study_id=999_999, code="XXX", name="Nowhere", timezone="UTC"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_a_transaction_takes_the_write_lock_when_it_begins(sqlite_app, sqlite_settings):
    """BEGIN IMMEDIATE: even a transaction that has only read so far holds the write lock, so a second
    writer waits for it instead of being refused later, half-way through a read-then-write."""
    path = sqlite_settings.database_url.removeprefix("sqlite:///")
    with sqlite_app.app_context():
        assert db.session.scalar(select(Study.title)) == "0"  # the session's transaction is now open
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            db.session.commit()
            other.execute("BEGIN IMMEDIATE")  # free again once the session commits
            other.execute("ROLLBACK")
        finally:
            other.close()


def test_threads_doing_read_then_write_transactions_take_turns(sqlite_app):
    """Two workers each read a study's counter and write it back, 50 times: no "database is locked", and
    no update lost (each read-then-write is one transaction that began IMMEDIATE)."""
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        try:
            with sqlite_app.app_context():
                start.wait(timeout=10)
                for _ in range(WRITES_PER_THREAD):
                    study = db.session.scalar(select(Study).where(Study.code == "NCT0000001"))
                    study.title = str(int(study.title) + 1)
                    db.session.add(Site(study_id=study.id, code=f"{name}{study.title}", name=name, timezone="UTC"))
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    with sqlite_app.app_context():
        assert db.session.scalar(select(Study.title)) == str(2 * WRITES_PER_THREAD)
        assert db.session.scalar(text("SELECT count(*) FROM site")) == 2 * WRITES_PER_THREAD


def test_writers_of_one_process_wait_for_each_other_without_sqlites_busy_handler(sqlite_app):
    """A second writer of the same process waits on the process's own turn, so it starts the moment the first
    commits: SQLite's busy handler, which polls by sleeping (up to 100 ms a time), is never needed. Shown with
    the busy timeout off: SQLite alone would refuse the second writer at once with "database is locked"."""
    with sqlite_app.app_context():
        @event.listens_for(db.engine, "connect")
        def _no_busy_wait(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA busy_timeout=0")

        db.engine.dispose()  # new connections, with the busy timeout off
    first_holds, first_done, outcome = threading.Event(), threading.Event(), {}

    def first() -> None:
        with sqlite_app.app_context():
            db.session.add(Site(study_id=1, code="A", name="first", timezone="UTC"))
            db.session.flush()
            first_holds.set()
            time.sleep(0.5)
            db.session.commit()
            first_done.set()
            db.session.remove()

    def second() -> None:
        first_holds.wait(10)
        try:
            with sqlite_app.app_context():
                db.session.add(Site(study_id=1, code="B", name="second", timezone="UTC"))
                db.session.commit()
                outcome["after_first"] = first_done.is_set()
                db.session.remove()
        except OperationalError as error:
            outcome["error"] = str(error.orig)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert outcome == {"after_first": True}
    with sqlite_app.app_context():
        assert db.session.scalars(select(Site.name).order_by(Site.id)).all() == ["first", "second"]


def disk_full() -> OperationalError:
    return OperationalError("INSERT INTO item_response ...", {}, sqlite3.OperationalError("database or disk is full"))


@pytest.fixture
def disk_full_app(sqlite_settings, monkeypatch):
    """A fresh app with a test-only route that writes, then fails the way SQLite does when the disk is full;
    ROLLBACK fails too ("no transaction is active": SQLite already rolled back by itself)."""
    app = create_app(sqlite_settings)
    with app.app_context():
        db.create_all()

    @app.post("/_test/disk-full")
    @csrf.exempt
    def _write_on_a_full_disk():
        db.session.add(Study(code="LOST", title="never committed"))
        db.session.flush()
        raise disk_full()

    def rollback_fails():
        raise OperationalError("ROLLBACK", {}, sqlite3.OperationalError("cannot rollback - no transaction is active"))

    monkeypatch.setattr(db.session, "rollback", rollback_fails)
    yield app
    monkeypatch.undo()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize(("lang", "message"), [
    ("en", "The system cannot save right now"),
    ("es", "En este momento el sistema no puede guardar"),
])
def test_disk_full_during_a_request_shows_the_calm_503_page(disk_full_app, lang, message):
    client = disk_full_app.test_client()
    response = client.post(f"/_test/disk-full?lang={lang}")
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.mimetype == "text/html"
    assert message in html
    assert "Traceback" not in html and "OperationalError" not in html and "disk is full" not in html
    assert response.headers["Cache-Control"].startswith("no-store")

    # The failed request left nothing behind, and the app keeps working.
    assert client.get("/kiosk/").status_code == 200
    with disk_full_app.app_context():
        assert db.session.scalar(select(Study).where(Study.code == "LOST")) is None


def test_serve_keeps_a_pooled_connection_per_thread_with_the_same_connection_set_up(app):
    """With SQLAlchemy's default pool of 5, 16 serving threads opened a new connection for most requests (a
    new PostgreSQL server process each time); serve sizes the pool to its threads."""
    from pro_app.database import READ_ONLY, size_pool

    with app.app_context():
        engine = db.engine
        size_pool(engine, 16)
        assert engine.pool.size() == 16
        connections = [engine.connect().execution_options(**{READ_ONLY: True}) for _ in range(16)]
        try:
            if engine.dialect.name == "sqlite":  # the connect event (WAL, foreign keys) still runs
                assert connections[-1].exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert all(c.exec_driver_sql("SELECT 1").scalar() == 1 for c in connections)
        finally:
            for c in connections:
                c.close()
        assert engine.pool.checkedin() == 16  # all kept open for the next requests, none closed on return
