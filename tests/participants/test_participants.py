"""Participants: enrol (the schedule follows from the study), change the anchor date (only what has not
started moves), withdraw, the detail page, and who may see whom (grants per study and site)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, Participant, Site, StudyGrant, Timepoint
from tests.support.http import csrf_token, login
from tests.support.kiosk import html, location


def post(client, url: str, data: dict):
    token = csrf_token(html(client.get(url)))
    return client.post(url, data={**data, "csrf_token": token})


def site_id(app, study, code: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Site.id).where(Site.study_id == study.id, Site.code == code))


def schedule(app, participant_id: int) -> dict[str, tuple[date, date, date, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Timepoint.code, Assessment.target_date, Assessment.window_start, Assessment.window_end,
                   Assessment.status).join(Timepoint).where(Assessment.participant_id == participant_id)).all()
        return {code: (target, start, end, status) for code, target, start, end, status in rows}


@pytest.fixture
def study(create_study):
    return create_study()


@pytest.fixture
def coordinator(client, study, create_staff):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    return staff


def test_enrolment_creates_one_assessment_per_timepoint(app, client, study, coordinator):
    r = post(client, f"/staff/studies/{study.code}/participants/new",
             {"study_code": "P-101", "site": site_id(app, study, "MIA"), "language": "es",
              "anchor_date": "2026-03-08"})
    assert r.status_code == 302, html(r)
    with app.app_context():
        participant = db.session.scalar(select(Participant).where(Participant.study_code == "P-101"))
        assert (participant.site.code, participant.language, participant.anchor_date) == ("MIA", "es",
                                                                                            date(2026, 3, 8))
        pid = participant.id
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.enrol"))
        assert event.user_id == coordinator.id and event.new["anchor_date"] == "2026-03-08"
    assert location(r).endswith(f"/staff/participants/{pid}")
    assert schedule(app, pid) == {
        "baseline": (date(2026, 3, 8), date(2026, 2, 22), date(2026, 3, 11), "scheduled"),
        "wk12": (date(2026, 5, 31), date(2026, 5, 17), date(2026, 6, 14), "scheduled"),
        "wk24": (date(2026, 8, 23), date(2026, 8, 9), date(2026, 9, 6), "scheduled"),
        "fu30": (date(2026, 9, 22), date(2026, 9, 15), date(2026, 10, 6), "scheduled"),
    }


@pytest.mark.parametrize(("data", "message"), [
    ({"study_code": "P-001"}, "Participant P-001 is already enrolled in this study."),
    ({"study_code": "Jane Doe"}, "Use letters, digits, dots, dashes and underscores only."),
    ({"anchor_date": "2026-02-30"}, "Anchor date"),
    ({"language": "fr"}, "Preferred language"),
])
def test_bad_enrolment_is_a_400(app, client, study, coordinator, create_participant, data, message):
    create_participant(study, code="P-001")
    form = {"study_code": "P-102", "site": site_id(app, study, "BCN"), "language": "en", "anchor_date": "2026-03-08"}
    r = post(client, f"/staff/studies/{study.code}/participants/new", {**form, **data})
    assert r.status_code == 400 and message in html(r)


def test_new_anchor_date_moves_only_assessments_not_started(app, client, study, coordinator, create_participant):
    participant = create_participant(study, anchor=date(2026, 1, 10))
    with app.app_context():
        for code, status in (("baseline", "completed"), ("wk12", "in_progress"), ("wk24", "not_done")):
            assessment = db.session.get(Assessment, participant.assessments[code])
            assessment.status = status
        db.session.commit()
    before = schedule(app, participant.id)
    url = f"/staff/participants/{participant.id}/edit"
    form = {"site": site_id(app, study, "BCN"), "language": "en", "anchor_date": "2026-01-24"}
    r = post(client, url, form)
    assert r.status_code == 400 and "Reason for the change" in html(r)
    assert schedule(app, participant.id) == before
    r = post(client, url, {**form, "reason": "Radiotherapy started two weeks late"})
    assert r.status_code == 200  # the page says what moved and what kept its date
    assert "Moved (not yet started)" in html(r) and "Kept their dates (already started or done)" in html(r)
    after = schedule(app, participant.id)
    assert after["baseline"] == before["baseline"] and after["wk12"] == before["wk12"]
    assert after["wk24"] == before["wk24"]
    assert after["fu30"] == (date(2026, 8, 10), date(2026, 8, 3), date(2026, 8, 24), "scheduled")
    with app.app_context():
        assert db.session.get(Participant, participant.id).anchor_date == date(2026, 1, 24)
        moves = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.reschedule")).all()
        assert [(m.entity_id, m.old["target_date"], m.new["target_date"], m.reason) for m in moves] == [
            (participant.assessments["fu30"], "2026-07-27", "2026-08-10", "Radiotherapy started two weeks late")]
        change = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.update"))
        assert change.old["anchor_date"] == "2026-01-10" and change.new["anchor_date"] == "2026-01-24"


def test_site_and_language_change_is_audited(app, client, study, coordinator, create_participant):
    participant = create_participant(study)
    with app.app_context():
        anchor = db.session.get(Participant, participant.id).anchor_date.isoformat()
    r = post(client, f"/staff/participants/{participant.id}/edit",
             {"site": site_id(app, study, "MIA"), "language": "es", "anchor_date": anchor, "reason": "Moved"})
    assert r.status_code == 302
    with app.app_context():
        stored = db.session.get(Participant, participant.id)
        assert (stored.site.code, stored.language) == ("MIA", "es")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.update"))
        assert (event.old["site"], event.new["site"], event.reason) == ("BCN", "MIA", "Moved")


def test_withdraw_keeps_data_and_needs_a_reason(app, client, study, coordinator, create_participant):
    participant = create_participant(study)
    url = f"/staff/participants/{participant.id}/withdraw"
    assert post(client, url, {"reason": "  "}).status_code == 400
    page = html(client.get(f"/staff/participants/{participant.id}"))
    assert f'action="/staff/assessments/{participant.assessments["baseline"]}/start-on-tablet"' in page
    r = post(client, url, {"reason": "Withdrew consent"})
    assert r.status_code == 302
    with app.app_context():
        stored = db.session.get(Participant, participant.id)
        assert (stored.status, stored.withdrawn_reason) == ("withdrawn", "Withdrew consent")
        assert {a.status for a in db.session.scalars(select(Assessment).where(
            Assessment.participant_id == participant.id))} == {"scheduled"}
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.withdraw"))
        assert event.reason == "Withdrew consent" and event.user_id == coordinator.id
    page = html(client.get(f"/staff/participants/{participant.id}"))
    assert "Withdrawn: Withdrew consent" in page and "start-on-tablet" not in page
    assert post(client, url, {"reason": "Again"}).status_code == 409


def test_detail_shows_windows_statuses_and_the_hand_over_buttons(app, client, study, coordinator,
                                                                 create_participant):
    participant = create_participant(study, code="P-007")
    page = html(client.get(f"/staff/participants/{participant.id}"))
    baseline = participant.assessments["baseline"]
    assert "P-007" in page and "Window open" in page and "Scheduled" in page
    assert f'action="/staff/assessments/{baseline}/start-on-tablet"' in page
    assert f'action="/staff/assessments/{baseline}/code"' in page
    assert f'action="/staff/assessments/{participant.assessments["wk12"]}/code"' not in page
    r = client.post(f"/staff/assessments/{baseline}/code", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 200 and 'data-testid="patient-code"' in html(r)


def test_coordinator_of_another_study_gets_404(app, client, create_study, create_staff, create_participant):
    mine, other = create_study("NCT-A"), create_study("NCT-B")
    theirs = create_participant(other, code="B-001")
    staff = create_staff(studies=[mine])
    login(client, staff.email)
    for url in (f"/staff/participants/{theirs.id}", f"/staff/participants/{theirs.id}/edit",
                f"/staff/participants/{theirs.id}/withdraw", "/staff/studies/NCT-B/participants",
                "/staff/studies/NCT-B/participants/new"):
        assert client.get(url).status_code == 404, url
    page = html(client.get("/staff/studies/NCT-A/participants"))
    token = csrf_token(page)
    assert client.post(f"/staff/participants/{theirs.id}/withdraw",
                       data={"reason": "x", "csrf_token": token}).status_code == 404
    with app.app_context():
        assert db.session.get(Participant, theirs.id).status == "active"


def test_site_limited_coordinator_sees_only_their_site(app, client, study, create_staff, create_participant):
    bcn = create_participant(study, code="BCN-001", site_code="BCN")
    mia = create_participant(study, code="MIA-001", site_code="MIA")
    staff = create_staff()
    with app.app_context():
        db.session.add(StudyGrant(user_id=staff.id, study_id=study.id, site_id=site_id(app, study, "MIA")))
        db.session.commit()
    login(client, staff.email)
    page = html(client.get(f"/staff/studies/{study.code}/participants"))
    assert "MIA-001" in page and "BCN-001" not in page
    assert client.get(f"/staff/studies/{study.code}/participants?site=BCN").status_code == 404
    assert client.get(f"/staff/participants/{bcn.id}").status_code == 404
    assert client.get(f"/staff/participants/{mia.id}").status_code == 200
    # Enrolment and site changes offer only the granted site.
    form = html(client.get(f"/staff/studies/{study.code}/participants/new"))
    assert "MIA · Miami" in form and "BCN · Barcelona" not in form
    r = post(client, f"/staff/studies/{study.code}/participants/new",
             {"study_code": "X-1", "site": site_id(app, study, "BCN"), "language": "en", "anchor_date": "2026-03-08"})
    assert r.status_code == 400


def test_site_filter(app, client, study, coordinator, create_participant):
    create_participant(study, code="BCN-001", site_code="BCN")
    create_participant(study, code="MIA-001", site_code="MIA")
    page = html(client.get(f"/staff/studies/{study.code}/participants?site=BCN"))
    assert "BCN-001" in page and "MIA-001" not in page
    page = html(client.get(f"/staff/studies/{study.code}/participants"))
    assert "BCN-001" in page and "MIA-001" in page


def test_analyst_cannot_see_or_change_participants(client, study, create_staff, create_participant):
    participant = create_participant(study)
    staff = create_staff(email="analyst@example.org", role="analyst", studies=[study])
    login(client, staff.email)
    for url in (f"/staff/participants/{participant.id}", f"/staff/participants/{participant.id}/edit",
                f"/staff/participants/{participant.id}/withdraw", f"/staff/studies/{study.code}/participants/new"):
        assert client.get(url).status_code == 403, url


