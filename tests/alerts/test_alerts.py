"""Alerts: open ones by urgency then age with what triggered them (in the interface language), acknowledged
ones apart, acknowledging with a note (audited, once), and who may do what."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import Alert, Assessment, AuditEvent, ItemResponse
from tests.support.http import csrf_token, login
from tests.support.kiosk import html, location

ITEM = "PROCTCAE_17A_SCL"


@pytest.fixture
def study(create_study):
    return create_study()


@pytest.fixture
def raised(app, study, create_participant):
    """Three open alerts on one completed baseline: a threshold alert (urgency 2, oldest), an item answered 4
    and a grade 3 composite (urgency 1; the item alert older)."""
    participant = create_participant(study, code="P-ALERT")
    assessment_id = participant.assessments["baseline"]
    now = utcnow()
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        assessment.status = "completed"
        db.session.add(ItemResponse(assessment=assessment, instrument_id="pro_ctcae", instrument_version="1",
                                    item_id=ITEM, value=4, state="answered", language="en", mode="self"))
        made = [Alert(assessment=assessment, study_id=study.id, kind=kind, urgency=urgency, source=source,
                      value=value, created_at=now - timedelta(hours=age))
                for kind, urgency, source, value, age in [("threshold", 2, "PF2", 40.0, 30),
                                                          ("grade_at_least", 1, "PROCTCAE_17_COMP", 3.0, 2),
                                                          ("item_value", 1, ITEM, 4.0, 5)]]
        db.session.add_all(made)
        db.session.commit()
        ids = {a.kind: a.id for a in made}
    return SimpleNamespace(assessment_id=assessment_id, **ids)


def section(page: str, name: str) -> str:
    start = page.find(f'id="{name}-alerts"')
    assert start >= 0, name
    end = page.find("</section>", start)
    return page[start:end]


def listed(page: str, name: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-alert="(\d+)"', section(page, name))]


def acknowledge(client, study_code: str, alert_id: int, note: str = ""):
    token = csrf_token(html(client.get(f"/staff/studies/{study_code}/alerts")))
    return client.post(f"/staff/alerts/{alert_id}/acknowledge", data={"csrf_token": token, "note": note})


def test_open_alerts_by_urgency_then_age_with_their_trigger(client, study, raised, create_staff):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    page = html(client.get(f"/staff/studies/{study.code}/alerts?lang=en"))
    assert listed(page, "open") == [raised.item_value, raised.grade_at_least, raised.threshold]
    done = html(client.get(f"/staff/studies/{study.code}/alerts?lang=en&status=acknowledged"))
    assert listed(done, "acknowledged") == []
    item = get_instrument("pro_ctcae").item(ITEM)
    opened = section(page, "open")
    assert "P-ALERT" in opened and "baseline" in opened
    assert item.text.en in opened and item.option_set.option_for(4).label.en in opened
    assert get_instrument("qlq_c30").scale("PF2").name.en in opened
    spanish = html(client.get(f"/staff/studies/{study.code}/alerts?lang=es"))
    assert item.text.es in spanish and item.option_set.option_for(4).label.es in spanish
    # The menu entry leads to the triage page of every study, with the open count; the dashboard counts them.
    assert listed(html(client.get("/staff/alerts")), "open") == listed(page, "open")
    assert 'data-testid="menu-count">3<' in page
    dashboard = html(client.get(f"/staff/studies/{study.code}/dashboard"))
    assert 'data-testid="count-alerts">3<' in dashboard


def test_acknowledge_with_a_note_is_audited_and_moves_the_alert(app, client, study, raised, create_staff):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    r = acknowledge(client, study.code, raised.item_value, "Called the patient; seen in clinic today.")
    assert r.status_code == 302 and f"/staff/studies/{study.code}/alerts" in location(r)
    page = html(client.get(f"/staff/studies/{study.code}/alerts?lang=en"))
    assert listed(page, "open") == [raised.grade_at_least, raised.threshold]
    done = html(client.get(f"/staff/studies/{study.code}/alerts?lang=en&status=acknowledged"))
    assert listed(done, "acknowledged") == [raised.item_value]
    assert "Called the patient; seen in clinic today." in section(done, "acknowledged")
    assert staff.email in section(done, "acknowledged")
    with app.app_context():
        alert = db.session.get(Alert, raised.item_value)
        assert (alert.status, alert.acknowledged_by_id, alert.note) == (
            "acknowledged", staff.id, "Called the patient; seen in clinic today.")
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "alert.acknowledge")).all()
        assert (event.entity, event.entity_id, event.user_id, event.study_id) == (
            "alert", raised.item_value, staff.id, study.id)
        assert event.old == {"status": "open"}
        assert event.new == {"status": "acknowledged", "note": "Called the patient; seen in clinic today."}


def test_a_second_acknowledge_is_harmless(app, client, study, raised, create_staff):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    acknowledge(client, study.code, raised.threshold, "first")
    r = acknowledge(client, study.code, raised.threshold, "second")
    assert r.status_code == 302
    acknowledge(client, study.code, raised.grade_at_least)  # no note: fine
    with app.app_context():
        assert db.session.get(Alert, raised.threshold).note == "first"
        assert db.session.get(Alert, raised.grade_at_least).note is None
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "alert.acknowledge")).all()
        assert sorted(e.entity_id for e in events) == sorted([raised.threshold, raised.grade_at_least])


def test_acknowledge_needs_the_form_token_and_a_sensible_note(app, client, study, raised, create_staff):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    assert client.post(f"/staff/alerts/{raised.threshold}/acknowledge", data={"note": "x"}).status_code == 303  # back
    assert acknowledge(client, study.code, raised.threshold, "x" * 1001).status_code == 400
    with app.app_context():
        assert db.session.get(Alert, raised.threshold).status == "open"


def test_coordinator_of_another_study_gets_404(app, client, study, raised, create_study, create_staff):
    other = create_study(code="NCT0000002")
    create_staff(email="other@example.org", studies=[other])
    login(client, "other@example.org")
    r = client.get(f"/staff/studies/{study.code}/alerts")
    assert r.status_code == 404 and "P-ALERT" not in html(r)
    assert acknowledge_on_own_page(client, other.code, raised.threshold).status_code == 404
    assert acknowledge_on_own_page(client, other.code, 999999).status_code == 404
    assert listed(html(client.get(f"/staff/studies/{other.code}/alerts")), "open") == []
    with app.app_context():
        assert db.session.get(Alert, raised.threshold).status == "open"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alert.acknowledge")) is None


def acknowledge_on_own_page(client, own_code: str, alert_id: int):
    token = csrf_token(html(client.get(f"/staff/studies/{own_code}/alerts")))
    return client.post(f"/staff/alerts/{alert_id}/acknowledge", data={"csrf_token": token, "note": "mine"})


def test_analyst_sees_alerts_but_cannot_acknowledge(app, client, study, raised, create_staff):
    create_staff(email="analyst@example.org", role="analyst", studies=[study])
    login(client, "analyst@example.org")
    page = html(client.get(f"/staff/studies/{study.code}/alerts"))
    assert len(listed(page, "open")) == 3 and "/acknowledge" not in page
    assert client.get(f"/staff/studies/{study.code}/dashboard").status_code == 200
    assert client.get(f"/staff/studies/{study.code}/compliance").status_code == 200
    token = csrf_token(html(client.get("/staff/tokens")))
    r = client.post(f"/staff/alerts/{raised.threshold}/acknowledge", data={"csrf_token": token})
    assert r.status_code == 403
    r = client.post(f"/staff/assessments/{raised.assessment_id}/alerts/acknowledge", data={"csrf_token": token})
    assert r.status_code == 403
    with app.app_context():
        assert db.session.get(Alert, raised.threshold).status == "open"


def visits(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-visit="(\d+)"', section(page, "open"))]


def test_alerts_are_grouped_per_visit_and_a_visit_is_acknowledged_at_once(app, client, study, raised,
                                                                          create_participant, create_staff):
    other = create_participant(study, code="P-OTHER")
    with app.app_context():
        assessment = db.session.get(Assessment, other.assessments["baseline"])
        assessment.status = "completed"
        lone = Alert(assessment=assessment, study_id=study.id, kind="threshold", urgency=2, source="FA", value=50.0,
                     created_at=utcnow() - timedelta(hours=1))
        db.session.add(lone)
        db.session.commit()
        lone_id = lone.id
    staff = create_staff(studies=[study])
    login(client, staff.email)
    page = html(client.get(f"/staff/studies/{study.code}/alerts?lang=en"))
    # The visit with the most urgent, oldest alert first; its three conditions on one card.
    assert visits(page) == [raised.assessment_id, other.assessments["baseline"]]
    assert "3 alerts at this visit" in page and "1 alert at this visit" in page
    token = csrf_token(page)
    r = client.post(f"/staff/assessments/{raised.assessment_id}/alerts/acknowledge",
                    data={"csrf_token": token, "note": "Called the patient."})
    assert r.status_code == 302
    page = html(client.get(f"/staff/studies/{study.code}/alerts?lang=en"))
    assert visits(page) == [other.assessments["baseline"]] and listed(page, "open") == [lone_id]
    done = html(client.get(f"/staff/studies/{study.code}/alerts?lang=en&status=acknowledged"))
    assert sorted(listed(done, "acknowledged")) == sorted([raised.item_value, raised.grade_at_least, raised.threshold])
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "alert.acknowledge")).all()
        assert sorted(e.entity_id for e in events) == sorted([raised.item_value, raised.grade_at_least,
                                                              raised.threshold])
        assert {e.new["note"] for e in events} == {"Called the patient."}
    # Nothing left open at the visit: a second click is a 404, nothing changes.
    r = client.post(f"/staff/assessments/{raised.assessment_id}/alerts/acknowledge", data={"csrf_token": token})
    assert r.status_code == 404


def test_a_visit_of_another_study_cannot_be_acknowledged(app, client, study, raised, create_study, create_staff):
    other = create_study(code="NCT0000002")
    create_staff(email="other@example.org", studies=[other])
    login(client, "other@example.org")
    token = csrf_token(html(client.get(f"/staff/studies/{other.code}/alerts")))
    r = client.post(f"/staff/assessments/{raised.assessment_id}/alerts/acknowledge", data={"csrf_token": token})
    assert r.status_code == 404
    with app.app_context():
        assert db.session.get(Alert, raised.threshold).status == "open"
