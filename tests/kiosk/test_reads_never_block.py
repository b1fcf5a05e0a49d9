"""Reads never block patients: staff pages and item pages read in deferred transactions, and the session's
last-seen refresh never stops a page (SQLite: a slow read used to hold the write lock; a full disk used to
stop every page within 30 s)."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import event

from pro_app.extensions import db
from pro_app.models import Assessment
from pro_app.security import sessions
from pro_app.web import guards
from tests.support.database import ON_POSTGRES
from tests.support.http import login
from tests.support.kiosk import answer, continue_intro, issue_code, responses, start_with_code

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="SQLite's write lock and driver errors")

A, B, C = "PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL"


@pytest.fixture
def patient(app, client, create_study, create_participant):
    study = create_study(terms=[17], instruments=["pro_ctcae"])
    assessment_id = create_participant(study).assessments["baseline"]
    start_with_code(client, issue_code(app, assessment_id))
    continue_intro(client, "pro_ctcae")
    return assessment_id, study


def test_a_long_staff_read_does_not_delay_a_patients_answer(app, client, patient, create_staff, monkeypatch):
    coordinator = app.test_client()
    assert login(coordinator, create_staff(studies=[patient[1]]).email).status_code == 302
    original = sessions.current
    reading = threading.Event()

    def slow_staff_session(kind=None, **kwargs):
        record = original(kind, **kwargs)  # the staff page's transaction has begun and read
        if kind == "staff":
            reading.set()
            time.sleep(3)
        return record

    monkeypatch.setattr(guards.sessions, "current", slow_staff_session)
    pages: list[int] = []
    staff = threading.Thread(target=lambda: pages.append(coordinator.get("/staff/").status_code))
    staff.start()
    assert reading.wait(10)
    started = time.monotonic()
    response = answer(client, A, "2")
    took = time.monotonic() - started
    staff.join(20)
    assert response.status_code == 302, response.status_code
    assert took < 1.5, f"the answer waited {took:.1f} s for a staff page that only reads"
    assert pages and pages[0] in (200, 302)
    assert responses(app, patient[0])[A].value == 2


@pytest.fixture
def disk_full(app):
    """A full disk as the driver reports it: every write statement fails with SQLITE_FULL while `full` is set."""
    state = {"full": False}
    with app.app_context():
        engine = db.engine

    def do_execute(cursor, statement, parameters, context):
        if state["full"] and statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            raise sqlite3.OperationalError("database or disk is full")

    event.listen(engine, "do_execute", do_execute)
    yield state
    event.remove(engine, "do_execute", do_execute)


def test_disk_full_read_pages_render_and_answers_resume(app, client, patient, clock, disk_full):
    assessment_id, _ = patient
    assert answer(client, A, "1").status_code == 302
    disk_full["full"] = True
    for _ in range(3):  # well past the 15 s after which every page refreshes the session's last-seen time
        clock.ahead(40)
        page = client.get(f"/kiosk/a/item/{B}")
        assert page.status_code == 200, page.status_code
        assert B in page.get_data(as_text=True)
    refused = answer(client, B, "2")
    assert refused.status_code == 503  # the answer is not acknowledged: the tablet says so
    assert B not in responses(app, assessment_id)
    disk_full["full"] = False
    assert answer(client, B, "2").status_code == 302
    assert responses(app, assessment_id)[B].value == 2
    with app.app_context():
        assert db.session.get(Assessment, assessment_id) is not None
