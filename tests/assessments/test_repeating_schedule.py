"""Repeating timepoints (issue 13, deliverable 2): every N days or weeks from the timepoint's target day until
an end event's date or for a count; each occurrence is an assessment of its own, on site-local calendar days
(across daylight-saving changes too); the occurrences after an end event entered later leave the schedule and
are never expected."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from pro_app.assessments.schedule import create_assessments, reschedule, site_today
from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, Participant, PatientCode, Site, Study, Timepoint
from pro_app.studies.limits import MAX_REPEATS


@pytest.fixture
def q4w(app, create_study):
    """The demo-like study plus "every 4 weeks from the start of SBRT until the end of study treatment"."""
    made = create_study()
    with app.app_context():
        db.session.add(Timepoint(study_id=made.id, code="q4w", label="Every 4 weeks", position=5,
                                 anchor="treatment_start", target_day=28, window_before=3, window_after=3,
                                 instruments=["qlq_c30"], repeat_every=4, repeat_unit="weeks",
                                 repeat_until="treatment_end"))
        db.session.commit()
    return made


def enrol(app, study, *, site: str = "BCN", anchor: date = date(2027, 1, 4), code: str = "P-1",
          **dates) -> int:
    with app.app_context():
        site_row = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == site))
        participant = Participant(study_id=study.id, site=site_row, study_code=code, anchor_date=anchor, **dates)
        db.session.add(participant)
        db.session.flush()
        create_assessments(participant)
        db.session.commit()
        return participant.id


def occurrences(app, participant_id: int, code: str = "q4w") -> list[tuple[int, date, date, date]]:
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            select(Assessment.occurrence, Assessment.target_date, Assessment.window_start, Assessment.window_end)
            .join(Timepoint).where(Assessment.participant_id == participant_id, Timepoint.code == code)
            .order_by(Assessment.occurrence))]


def test_a_repeating_timepoint_with_a_count_has_that_many_occurrences_every_interval(app, create_study):
    study = create_study()
    with app.app_context():
        db.session.add(Timepoint(study_id=study.id, code="weekly", label="Weekly", position=5, target_day=7,
                                 window_before=0, window_after=2, instruments=["pro_ctcae"], repeat_every=10,
                                 repeat_unit="days", repeat_count=3))
        db.session.commit()
    participant = enrol(app, study, anchor=date(2027, 1, 4))
    assert occurrences(app, participant, "weekly") == [
        (1, date(2027, 1, 11), date(2027, 1, 11), date(2027, 1, 13)),
        (2, date(2027, 1, 21), date(2027, 1, 21), date(2027, 1, 23)),
        (3, date(2027, 1, 31), date(2027, 1, 31), date(2027, 2, 2))]
    assert [o[0] for o in occurrences(app, participant, "baseline")] == [1]  # one-off timepoints: once


def test_repeats_until_a_known_end_event_stop_on_its_date(app, q4w):
    participant = enrol(app, q4w, anchor=date(2027, 1, 4), treatment_end=date(2027, 4, 26))
    # 4 weeks from day 28: Feb 1, Mar 1, Mar 29, Apr 26 (the end day itself is included), none after
    assert [o[1] for o in occurrences(app, participant)] == [date(2027, 2, 1), date(2027, 3, 1), date(2027, 3, 29),
                                                             date(2027, 4, 26)]


def test_weekly_repeats_keep_site_local_calendar_days_across_daylight_saving(app, create_study):
    """Miami (America/New_York) springs forward on 14 March 2027: the weekly occurrences stay on the same
    weekday, and each opens on its site-local day even while the UTC date is already the next one."""
    study = create_study()
    with app.app_context():
        db.session.add(Timepoint(study_id=study.id, code="weekly", label="Weekly", position=5, anchor="enrolment",
                                 target_day=0, window_before=0, window_after=0, instruments=["qlq_c30"],
                                 repeat_every=1, repeat_unit="weeks", repeat_count=4))
        db.session.commit()
    # Enrolled at 21:30 in Miami on Saturday 6 March (02:30 UTC on the 7th): enrolment is the site's day, the 6th.
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == "MIA"))
        participant = Participant(study_id=study.id, site=site, study_code="P-DST", anchor_date=date(2027, 3, 8),
                                  created_at=datetime(2027, 3, 7, 2, 30, tzinfo=UTC))
        db.session.add(participant)
        db.session.flush()
        create_assessments(participant)
        db.session.commit()
        pid = participant.id
    assert [o[1] for o in occurrences(app, pid, "weekly")] == [date(2027, 3, 6), date(2027, 3, 13),
                                                                date(2027, 3, 20), date(2027, 3, 27)]
    # 23:30 on Saturday 13 March in Miami (EST, UTC-5) is 04:30 UTC on the 14th; 23:30 on the 20th (EDT,
    # UTC-4) is 03:30 UTC on the 21st: both times the second and third occurrences are open, not missed.
    with app.app_context():
        participant = db.session.get(Participant, pid)
        by_occurrence = {a.occurrence: a for a in db.session.scalars(
            select(Assessment).join(Timepoint).where(Assessment.participant_id == pid, Timepoint.code == "weekly"))}
        for now, occurrence in ((datetime(2027, 3, 14, 4, 30, tzinfo=UTC), 2),
                                (datetime(2027, 3, 21, 3, 30, tzinfo=UTC), 3)):
            today = site_today(participant, now)
            assert by_occurrence[occurrence].effective_status(today) == "open", (now, occurrence)
            assert by_occurrence[occurrence + 1].effective_status(today) == "scheduled"


def test_an_end_event_entered_later_takes_the_occurrences_after_it_off_the_schedule(app, q4w):
    participant = enrol(app, q4w, anchor=date(2027, 1, 4))
    planned = occurrences(app, participant)
    # While the end of treatment is not known, every occurrence the bounds allow is scheduled (10 years at most).
    assert len(planned) == MAX_REPEATS and planned[-1][1] == date(2027, 1, 4) + timedelta(days=28 * 99)
    with app.app_context():
        second = db.session.scalar(select(Assessment).join(Timepoint).where(
            Assessment.participant_id == participant, Timepoint.code == "q4w", Assessment.occurrence == 5))
        second.status, second.started_at = "in_progress", datetime(2027, 5, 24, 9, tzinfo=UTC)  # started: stays
        db.session.commit()
    with app.app_context():
        changes = reschedule(db.session.get(Participant, participant), treatment_end=date(2027, 3, 29))
        db.session.commit()
    assert [o[1] for o in occurrences(app, participant)] == [date(2027, 2, 1), date(2027, 3, 1), date(2027, 3, 29),
                                                             date(2027, 5, 24)]
    assert len(changes["removed"]) == MAX_REPEATS - 4
    assert [k["occurrence"] for k in changes["kept"]] == [5]


def test_an_occurrence_with_a_code_handed_out_is_kept_when_the_end_event_comes(app, q4w):
    participant = enrol(app, q4w, anchor=date(2027, 1, 4))
    with app.app_context():
        sixth = db.session.scalar(select(Assessment).join(Timepoint).where(
            Assessment.participant_id == participant, Timepoint.code == "q4w", Assessment.occurrence == 6))
        db.session.add(PatientCode(code_hash="x" * 64, assessment_id=sixth.id,
                                   expires_at=datetime(2027, 6, 30, tzinfo=UTC)))
        db.session.commit()
        changes = reschedule(db.session.get(Participant, participant), treatment_end=date(2027, 3, 29))
        db.session.commit()
    assert [o[0] for o in occurrences(app, participant)] == [1, 2, 3, 6]
    assert [k["occurrence"] for k in changes["kept"]] == [6]


def test_the_edit_page_reports_and_audits_the_occurrences_taken_off(app, client, q4w, create_staff):
    from tests.participants.test_participants import post, site_id
    from tests.support.http import login
    from tests.support.kiosk import html

    login(client, create_staff(studies=[q4w]).email)
    participant = enrol(app, q4w, anchor=date(2027, 1, 4))
    r = post(client, f"/staff/participants/{participant}/edit",
             {"site": site_id(app, q4w, "BCN"), "language": "en", "anchor_date": "2027-01-04",
              "treatment_end": "2027-03-29", "reason": "Last fraction given"})
    page = html(r)
    assert r.status_code == 200 and "No longer scheduled" in page and "Every 4 weeks 4:" in page
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.unschedule")).all()
        assert len(events) == MAX_REPEATS - 3
        assert {e.reason for e in events} == {"Last fraction given"}


def test_changing_a_live_repeat_moves_untouched_occurrences_and_adds_or_removes(app, q4w, create_staff):
    staff = create_staff(email="admin@example.org", role="admin")
    participant = enrol(app, q4w, anchor=date(2027, 1, 4), treatment_end=date(2027, 4, 26))
    with app.app_context():
        from pro_app.models import User
        from pro_app.studies.definition import definition_of
        from pro_app.studies.services import schedule_change_of, update_study

        study = db.session.get(Study, q4w.id)
        definition = definition_of(study)
        for entry in definition["timepoints"]:
            if entry["code"] == "q4w":
                entry["repeat_every"], entry["repeat_unit"] = 2, "weeks"
        user = db.session.get(User, staff.id)
        shown = schedule_change_of(study, definition).preview  # a live schedule changes only once confirmed
        assert (len(shown.moves), len(shown.additions), len(shown.removals)) == (3, 3, 0)  # 2-4 move, 5-7 new
        assert [m.occurrence for m in shown.additions] == [5, 6, 7]
        update_study(study, definition, user, reason="Every two weeks now", confirmation=shown.fingerprint)
        db.session.commit()
    assert [o[1] for o in occurrences(app, participant)] == [
        date(2027, 2, 1) + timedelta(days=14 * k) for k in range(7)]  # the last on Apr 26, the end
