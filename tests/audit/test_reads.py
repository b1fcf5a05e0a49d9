"""Reads of patient data are audited: opening a participant's report, an assessment or a study's alerts is
recorded (who, what, when), filterable in the audit view; the record is written after the read-only page, and
a page still renders when that write fails."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pro_app.audit import services as audit_services
from pro_app.extensions import db
from pro_app.models import AuditEvent
from tests.support.http import login
from tests.support.kiosk import html


def reads(app) -> list[tuple[str, str, int, int, int]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(AuditEvent.action, AuditEvent.entity, AuditEvent.entity_id, AuditEvent.user_id, AuditEvent.study_id)
            .where(AuditEvent.action.like("read.%")).order_by(AuditEvent.id))]


@pytest.fixture
def opened(app, client, logged_in_coordinator, create_participant):
    user, study = logged_in_coordinator
    participant = create_participant(study, code="P-READ")
    assessment_id = participant.assessments["baseline"]
    for url in (f"/staff/participants/{participant.id}/report", f"/staff/assessments/{assessment_id}",
                f"/staff/studies/{study.code}/alerts"):
        assert client.get(url).status_code == 200, url
    return user, study, participant, assessment_id


def test_opening_a_report_an_assessment_and_alerts_is_recorded(app, opened):
    user, study, participant, assessment_id = opened
    assert reads(app) == [("read.report", "participant", participant.id, user.id, study.id),
                          ("read.assessment", "assessment", assessment_id, user.id, study.id),
                          ("read.alerts", "study", study.id, user.id, study.id)]


def test_reads_are_filterable_in_the_audit_view(app, opened, create_staff):
    admin = create_staff(email="admin@example.org", role="admin")
    browser = app.test_client()
    login(browser, admin.email)
    page = html(browser.get("/staff/admin/audit", query_string={"action": "read.report"}))
    assert page.count('<tr data-event="') == 1 and "coordinator@example.org" in page
    assert '<option value="read.assessment">' in html(browser.get("/staff/admin/audit"))


def test_a_read_page_renders_even_when_its_audit_record_cannot_be_written(app, client, logged_in_coordinator,
                                                                          create_participant, monkeypatch):
    _, study = logged_in_coordinator
    participant = create_participant(study, code="P-FULL")

    def disk_full(*args, **kwargs):
        raise OSError("database or disk is full")

    monkeypatch.setattr(audit_services, "insert", disk_full)
    assert client.get(f"/staff/participants/{participant.id}/report").status_code == 200
    assert reads(app) == []
