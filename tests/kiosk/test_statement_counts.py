"""The answer path's SQL, pinned: an item page, an answer and a submit each run a fixed, small number of
statements whatever the assessment's length (issue 16: a submit took 98 statements, an answer loaded every
response of the assessment as ORM objects three times). A regression shows here as a changed count."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from pro_app.extensions import db
from tests.support.http import csrf_token
from tests.support.kiosk import answer, continue_intro, html, issue_code, start_with_code


class Statements:
    def __init__(self):
        self.log: list[str] = []
        self.on = False

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.log.append(statement)

    def count(self, request) -> int:
        self.log.clear()
        self.on = True
        try:
            request()
        finally:
            self.on = False
        return len(self.log)


@pytest.fixture
def statements(app):
    counter = Statements()
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
def patient(app, client, create_study, create_participant):
    study = create_study(instruments=["qlq_c30"])
    assessment_id = create_participant(study).assessments["baseline"]
    start_with_code(client, issue_code(app, assessment_id))
    continue_intro(client, "qlq_c30")
    return assessment_id


#: (item GET, answer POST, submit) on a 30-item QLQ-C30, per database. SQLite counts its BEGIN statements;
#: PostgreSQL batches the score and alert inserts. Before issue 16's fix the answer POST was 11 statements on
#: SQLite (the assessment and its answers read twice, a second transaction after the commit) and the submit 45;
#: the item GET was 8 (5 on PostgreSQL) while it wrote the time the item was shown into the session row after
#: the page, a second write transaction per answer: that time is now in the signed session cookie.
EXPECTED = {"sqlite": (4, 5, 39), "postgresql": (4, 4, 16)}


def test_item_page_answer_and_submit_run_a_fixed_small_number_of_statements(app, client, patient, statements):
    for n in range(1, 30):
        assert answer(client, f"q{n}", "2").status_code == 302
    page = html(client.get("/kiosk/a/item/q30"))
    get = statements.count(lambda: client.get("/kiosk/a/item/q30"))
    post = statements.count(lambda: client.post("/kiosk/a/item/q30", data={
        "choice": "3", "action": "next", "csrf_token": csrf_token(page)}))
    review = html(client.get("/kiosk/a/review"))
    done = statements.count(lambda: client.post("/kiosk/a/submit", data={"csrf_token": csrf_token(review)}))
    with app.app_context():
        dialect = db.engine.dialect.name
    assert (get, post, done) == EXPECTED[dialect]
    assert client.get("/kiosk/thanks").status_code == 200


def test_an_answer_post_reads_the_assessment_once_under_its_lock(client, patient, statements):
    page = html(client.get("/kiosk/a/item/q1"))
    statements.count(lambda: client.post("/kiosk/a/item/q1", data={
        "choice": "3", "action": "next", "csrf_token": csrf_token(page)}))
    reads = [s for s in statements.log if s.lstrip().upper().startswith("SELECT")]
    assert sum("FROM assessment" in s for s in reads) == 1
    assert sum("FROM item_response" in s for s in reads) == 1


def test_showing_an_item_writes_nothing_to_the_database(client, patient, statements):
    """The time the page was shown goes with the answer, not into a write of its own (a second write
    transaction per answer, with its fsync on SQLite, halved the tablets' answer rate)."""
    statements.count(lambda: client.get("/kiosk/a/item/q2"))
    writes = [s for s in statements.log if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    assert writes == []
