"""Schedules anchored to treatment dates (issue 13, deliverable 2): each timepoint counts from enrolment, the
start or the end of treatment; a timepoint whose anchor date is not known yet awaits it (no assessment, not
expected); entering or moving a date re-targets only what has not started, and the page says so."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, Participant, Site, Study, Timepoint
from tests.participants.test_participants import coordinator, post, schedule, site_id  # noqa: F401
from tests.support.kiosk import html


@pytest.fixture
def study(app, create_study):
    """The demo-like study with its last timepoint (fu30) 30 days after the end of treatment, and a
    reminder call-back counted from enrolment (day 7)."""
    made = create_study()
    with app.app_context():
        fu30 = db.session.scalar(select(Timepoint).where(Timepoint.study_id == made.id, Timepoint.code == "fu30"))
        fu30.anchor, fu30.target_day, fu30.window_before, fu30.window_after = "treatment_end", 30, 7, 14
        db.session.add(Timepoint(study_id=made.id, code="enr7", label="Day 7 after enrolment", label_es="Día 7",
                                 position=5, anchor="enrolment", target_day=7, window_before=0, window_after=3,
                                 instruments=["qlq_c30"]))
        db.session.commit()
    return made


def enrol(client, app, study, anchor: str) -> int:
    r = post(client, f"/staff/studies/{study.code}/participants/new",
              {"study_code": "P-100", "site": site_id(app, study, "BCN"), "language": "es", "anchor_date": anchor})
    assert r.status_code == 302, html(r)
    with app.app_context():
        return db.session.scalar(select(Participant.id).where(Participant.study_code == "P-100"))


def test_a_follow_up_from_the_end_of_treatment_awaits_its_date_then_appears(app, client, study, coordinator):  # noqa: F811
    today = utcnow().date()
    participant = enrol(client, app, study, (today + timedelta(days=2)).isoformat())
    planned = schedule(app, participant)
    assert "fu30" not in planned and set(planned) == {"baseline", "wk12", "wk24", "enr7"}
    with app.app_context():
        enrolled = db.session.get(Participant, participant).enrolled_on
    assert planned["enr7"][0] == enrolled + timedelta(days=7)
    page = html(client.get(f"/staff/participants/{participant}"))
    assert "Awaiting the date of: End of treatment" in page
    end = date(2026, 6, 30)
    url = f"/staff/participants/{participant}/edit"
    r = post(client, url, {"site": site_id(app, study, "BCN"), "language": "es",
                           "anchor_date": (today + timedelta(days=2)).isoformat(), "treatment_end": end.isoformat(),
                           "reason": "Last fraction given"})
    assert r.status_code == 200 and "Now scheduled" in html(r)
    assert schedule(app, participant)["fu30"] == (date(2026, 7, 30), date(2026, 7, 23), date(2026, 8, 13), "scheduled")
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assessment.schedule"))
        assert event.new["target_date"] == "2026-07-30" and event.reason == "Last fraction given"
        change = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.update"))
        assert change.old == {"treatment_end": None} and change.new == {"treatment_end": "2026-06-30"}
    assert "Awaiting the date of" not in html(client.get(f"/staff/participants/{participant}"))


def test_moving_the_end_of_treatment_moves_the_follow_up_but_a_completed_one_keeps_its_date(app, client, study,
                                                                                           coordinator):  # noqa: F811
    participant = enrol(client, app, study, "2026-01-10")
    url = f"/staff/participants/{participant}/edit"
    form = {"site": site_id(app, study, "BCN"), "language": "es", "anchor_date": "2026-01-10",
            "treatment_end": "2026-03-01", "reason": "End of treatment"}
    post(client, url, form)
    with app.app_context():
        baseline = db.session.scalar(select(Assessment).join(Timepoint).where(
            Assessment.participant_id == participant, Timepoint.code == "baseline"))
        baseline.status = "completed"
        db.session.commit()
    r = post(client, url, {**form, "anchor_date": "2026-01-17", "treatment_end": "2026-03-08",
                           "reason": "Dates corrected"})
    page = html(r)
    assert r.status_code == 200
    assert "Moved (not yet started)" in page and "Kept their dates (already started or done)" in page
    kept = page[page.find("Kept their dates"):]
    assert "baseline" in kept and "wk12" not in kept
    after = schedule(app, participant)
    assert after["baseline"][0] == date(2026, 1, 10)  # completed: stays on its old target date
    assert after["wk12"][0] == date(2026, 1, 17) + timedelta(days=84)
    assert after["fu30"][0] == date(2026, 4, 7)


def test_the_schedule_counts_calendar_days_at_the_site_across_dst(app, client, study, coordinator):  # noqa: F811
    """Europe/Madrid moves its clocks on 29 March and 25 October 2026: every anchor still counts whole days."""
    participant = enrol(client, app, study, "2026-03-28")
    post(client, f"/staff/participants/{participant}/edit",
         {"site": site_id(app, study, "BCN"), "language": "es", "anchor_date": "2026-03-28",
          "treatment_end": "2026-10-24", "reason": "End"})
    planned = schedule(app, participant)
    assert planned["baseline"][:3] == (date(2026, 3, 28), date(2026, 3, 14), date(2026, 3, 31))
    assert planned["wk12"][0] == date(2026, 6, 20)
    assert planned["fu30"][:3] == (date(2026, 11, 23), date(2026, 11, 16), date(2026, 12, 7))
    with app.app_context():
        assert db.session.scalar(select(Site.timezone).join(Participant, Participant.site_id == Site.id)
                                 .where(Participant.id == participant)) == "Europe/Madrid"
        assert db.session.get(Study, study.id).code == study.code
