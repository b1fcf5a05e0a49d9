"""Double data entry (a study setting): a second staff member keys the same paper form blind; the assessment is
stored only when both agree, or once each discrepancy is decided with a reason; both keyings are audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, ItemResponse, PaperKeying, Study
from tests.support.http import csrf_token, login
from tests.support.kiosk import html, location
from tests.support.staff import CTCAE, c30_paper_answers, paper, site_today


@pytest.fixture
def double_entry(app, study):
    with app.app_context():
        db.session.get(Study, study.id).double_entry = True
        db.session.commit()


@pytest.fixture
def second(app, study, create_staff):
    """A second coordinator of the study, logged in on a client of their own."""
    user = create_staff(email="second@example.org", studies=[study])
    other = app.test_client()
    assert login(other, user.email).status_code == 302
    other.user = user
    return other


def status_of(app, aid: int) -> str:
    with app.app_context():
        return db.session.get(Assessment, aid).status


def test_a_first_keying_stores_nothing_and_the_same_person_cannot_key_it_again(
        app, client, participant, coordinator, double_entry):
    aid = participant.assessments["baseline"]
    r = paper(client, aid, c30_paper_answers() | CTCAE)
    assert location(r).endswith(f"/staff/assessments/{aid}")
    assert status_of(app, aid) == "scheduled"
    with app.app_context():
        assert not db.session.scalars(select(ItemResponse)).all()
        keying = db.session.scalar(select(PaperKeying))
        assert (keying.round, keying.user_id, keying.answers["q1"]) == (1, coordinator.id, "2")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "paper.keying"))
        assert event.user_id == coordinator.id and event.new["answers"]["q2"] == "3"
    assert 'data-testid="keyings-pending"' in html(client.get(f"/staff/assessments/{aid}"))
    page = client.get(f"/staff/assessments/{aid}/paper")
    assert 'data-testid="keying-own"' in html(page) and 'name="q1"' not in html(page)
    client.post(f"/staff/assessments/{aid}/paper",
                data={"csrf_token": csrf_token(html(page)), "completed_on": str(site_today()), "mode": "paper",
                      "administered_by": "A", "language": "en"} | c30_paper_answers() | CTCAE)
    assert status_of(app, aid) == "scheduled"
    with app.app_context():
        assert len(db.session.scalars(select(PaperKeying)).all()) == 1


def test_a_second_keying_that_agrees_stores_the_assessment_with_both_keyers(
        app, client, participant, coordinator, double_entry, second):
    aid = participant.assessments["baseline"]
    paper(client, aid, c30_paper_answers() | CTCAE, administered_by="Nurse A. Ruiz")
    page = html(second.get(f"/staff/assessments/{aid}/paper"))
    assert 'data-testid="keying-second"' in page and " checked" not in page.split("paper-instrument")[1]  # blind
    r = paper(second, aid, c30_paper_answers() | CTCAE, administered_by="nurse a.  ruiz")
    assert r.status_code == 302
    with app.app_context():
        a = db.session.get(Assessment, aid)
        assert a.status == "completed"
        assert (a.entered_by_id, a.verified_by_id) == (coordinator.id, second.user.id)
        keyings = db.session.scalars(select(PaperKeying).order_by(PaperKeying.round)).all()
        assert [(k.round, k.user_id) for k in keyings] == [(1, coordinator.id), (2, second.user.id)]
        assert all(k.used_at is not None for k in keyings)
        rounds = [e.new["round"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "paper.keying").order_by(AuditEvent.id))]
        assert rounds == [1, 2]


def test_discrepancies_are_listed_item_by_item_and_decided_with_a_reason_before_the_assessment_is_stored(
        app, client, participant, coordinator, double_entry, second):
    aid = participant.assessments["baseline"]
    paper(client, aid, c30_paper_answers() | CTCAE)
    yesterday = site_today() - timedelta(days=1)
    r = paper(second, aid, c30_paper_answers() | CTCAE | {"q3": "4", "PROCTCAE_1A_SCL": ""}, completed_on=yesterday)
    assert location(r).endswith(f"/staff/assessments/{aid}")
    assert status_of(app, aid) == "scheduled"
    assert second.get(f"/staff/assessments/{aid}/paper").status_code == 302  # on to the resolution
    page = html(second.get(f"/staff/assessments/{aid}/paper/resolve"))
    for field in ("q3", "PROCTCAE_1A_SCL", "completed_on"):
        assert f'id="diff-{field}"' in page
    assert 'id="diff-q1"' not in page and 'id="diff-mode"' not in page
    token = csrf_token(html(client.get(f"/staff/assessments/{aid}/paper/resolve")))  # a third person decides
    decisions = {"decide-q3": "2", "decide-PROCTCAE_1A_SCL": "1", "decide-completed_on": str(yesterday)}
    reasons = {"why-q3": "Paper shows 2", "why-PROCTCAE_1A_SCL": "Marked on the paper"}
    r = client.post(f"/staff/assessments/{aid}/paper/resolve", data={"csrf_token": token} | decisions | reasons)
    assert r.status_code == 400 and "completed_on" in html(r)  # a reason missing: nothing stored
    assert status_of(app, aid) == "scheduled"
    r = client.post(f"/staff/assessments/{aid}/paper/resolve",
                    data={"csrf_token": token} | decisions | reasons | {"why-completed_on": "Dated on the paper"})
    assert location(r).endswith(f"/staff/assessments/{aid}")
    with app.app_context():
        a = db.session.get(Assessment, aid)
        assert a.status == "completed" and (a.entered_by_id, a.verified_by_id) == (coordinator.id, second.user.id)
        rows = {r.item_id: r for r in db.session.scalars(select(ItemResponse).where(ItemResponse.assessment_id == aid))}
        assert rows["q3"].value == 2 and rows["PROCTCAE_1A_SCL"].value == 1
        assert a.completed_at.date() in (yesterday, yesterday + timedelta(days=1))
        decided = {e.new["field"]: e for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "paper.discrepancy_resolved"))}
        assert set(decided) == {"q3", "PROCTCAE_1A_SCL", "completed_on"}
        assert decided["q3"].old["first"] == "2" and decided["q3"].old["second"] == "4"
        assert decided["q3"].reason == "Paper shows 2" and decided["q3"].user_id == coordinator.id
