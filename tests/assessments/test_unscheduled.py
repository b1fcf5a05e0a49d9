"""Unscheduled assessments (issue 13, deliverable 2): staff add one for a participant (any of the study's
instruments and PRO-CTCAE terms, a reason, a date); it opens for the tablet like any other, is exported with its
own visit number (CDISC: 1.01 after visit 1, VISIT "UNSCHEDULED 1.01") and is never expected, so never missed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pro_app.assessments.answers import plan_of
from pro_app.assessments.schedule import site_today
from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, Participant, User
from pro_app.worklist.compliance import compliance_table
from tests.participants.test_participants import post
from tests.support.exports import export_bytes, read_csv
from tests.support.http import login
from tests.support.kiosk import continue_intro, html, issue_code, location, start_with_code, submit


@pytest.fixture
def study(create_study):
    return create_study()


@pytest.fixture
def coordinator(client, study, create_staff):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    return staff


@pytest.fixture
def participant(study, create_participant):
    """Baseline (visit 1) was yesterday, its window still open."""
    return create_participant(study, anchor=utcnow().date() - timedelta(days=1))


def url(participant) -> str:
    return f"/staff/participants/{participant.id}/unscheduled"


def unscheduled(app, participant_id: int) -> list[Assessment]:
    with app.app_context():
        found = db.session.scalars(select(Assessment).where(Assessment.participant_id == participant_id,
                                                            Assessment.timepoint_id.is_(None))
                                   .order_by(Assessment.id)).all()
        for a in found:
            db.session.expunge(a)
        return found


def participant_study_code(app, participant) -> str:
    with app.app_context():
        return db.session.get(Participant, participant.id).study.code


def site_date(app, participant):
    """Today at the participant's site (Barcelona): the date a coordinator there enters, and the form's
    default; from 23:00 UTC it is already tomorrow's UTC date."""
    with app.app_context():
        return site_today(db.session.get(Participant, participant.id), utcnow())


def add(client, participant, **fields):
    today = site_date(client.application, participant)
    data = {"on": today.isoformat(), "instruments": ["pro_ctcae"], "terms__pro_ctcae": ["17"],
            "reason": "Unplanned visit: nausea"} | fields
    return post(client, url(participant), data)


def test_staff_add_an_unscheduled_assessment_with_chosen_terms(app, client, coordinator, participant):
    page = html(client.get(url(participant)))
    assert 'name="terms__pro_ctcae"' in page and 'value="qlq_c30"' in page
    r = add(client, participant)
    assert location(r).endswith(f"/staff/participants/{participant.id}")
    [added] = unscheduled(app, participant.id)
    assert (added.visit_after, added.occurrence, added.unscheduled_reason) == (1, 1, "Unplanned visit: nausea")
    assert added.window_start == added.window_end == added.target_date == site_date(app, participant)
    with app.app_context():
        assessment = db.session.get(Assessment, added.id)
        assert assessment.visit_number == 1.01
        [part] = plan_of(assessment)
        assert part.instrument == "pro_ctcae" and {i.split("_")[1][:2] for i in part.items} == {"17"}
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assessment.add_unscheduled"))
        assert event.reason == "Unplanned visit: nausea" and event.entity_id == added.id
    detail = html(client.get(f"/staff/participants/{participant.id}"))
    assert "Unscheduled 1.01" in detail and "Unplanned visit: nausea" in detail
    # a second one after the same visit is 1.02
    assert add(client, participant, reason="Phone call").status_code == 302
    assert [a.occurrence for a in unscheduled(app, participant.id)] == [1, 2]
    listing = html(client.get("/staff/?timepoint=unscheduled"))
    assert "Unscheduled 1.01" in listing and "Unscheduled 1.02" in listing and "Rows 1 to 2 of 2" in listing
    board = html(client.get(f"/staff/studies/{participant_study_code(app, participant)}/dashboard"))
    assert "Unscheduled 1.01" in board  # open today: in the work to do


@pytest.mark.parametrize(("fields", "message"), [
    ({"reason": ""}, "reason"),
    ({"instruments": []}, "Choose at least one instrument."),
    ({"instruments": ["qlq_xx"]}, "qlq_xx is not one of this study&#39;s instruments."),
    ({"terms__pro_ctcae": ["17", "999"]}, "Unknown terms of"),
    ({"on": "2040-01-01"}, "The date must be within 3650 days before and 365 days after today."),
    ({"on": "99999-01-01"}, ""),
])
def test_an_unscheduled_assessment_with_a_bad_value_is_refused_with_a_message(app, client, coordinator,
                                                                              participant, fields, message):
    r = add(client, participant, **fields)
    assert r.status_code == 400
    assert message in html(r)
    assert unscheduled(app, participant.id) == []


def answer_everything(client, code: str) -> None:
    path = start_with_code(client, code)
    for _ in range(40):
        if path.startswith("/kiosk/a/intro/"):
            r = continue_intro(client, path.rsplit("/", 1)[1])
        elif path.startswith("/kiosk/a/item/"):
            page = client.get(path)
            from tests.support.kiosk import answer, radio_values

            r = answer(client, path.rsplit("/", 1)[1], radio_values(html(page))[1])
        else:
            break
        path = location(r).split("?")[0]
    assert path == "/kiosk/a/review", path
    assert submit(client).status_code in (200, 302)


def test_an_unscheduled_assessment_is_answered_exported_and_never_expected(app, client, coordinator, participant,
                                                                          study):
    assert add(client, participant).status_code == 302
    [added] = unscheduled(app, participant.id)
    answer_everything(app.test_client(), issue_code(app, added.id))
    with app.app_context():
        assert db.session.get(Assessment, added.id).status == "completed"

    items = read_csv(export_bytes(app, study.code, "items"))
    mine = items[items["assessment_id"] == added.id]
    assert not mine.empty and set(mine["visit"]) == {1.01} and set(mine["visit_name"]) == {"UNSCHEDULED 1.01"}
    assert mine["timepoint"].isna().all()
    qs = read_csv(export_bytes(app, study.code, "sdtm_qs"))
    visits = qs[qs["VISIT"] == "UNSCHEDULED 1.01"]
    assert not visits.empty and set(visits["VISITNUM"]) == {1.01}
    adqs = read_csv(export_bytes(app, study.code, "adqs"))
    assert set(adqs.loc[adqs["AVISIT"] == "UNSCHEDULED 1.01", "AVISITN"]) == {1.01}
    wide = read_csv(export_bytes(app, study.code, "wide"))
    assert list(wide.loc[wide["assessment_id"] == added.id, "visit_name"]) == ["UNSCHEDULED 1.01"]

    compliance = read_csv(export_bytes(app, study.code, "compliance"))
    row = compliance[compliance["assessment_id"] == added.id].iloc[0]
    assert (row["expected"], row["not_expected_reason"], row["received"]) == (0, "unscheduled", 1)
    # the study results count the schedule's timepoints only (the unscheduled answers are in no timepoint)
    terms = read_csv(export_bytes(app, study.code, "results_terms"))
    assert set(terms["timepoint"].dropna()) <= {"baseline", "wk12", "wk24", "fu30"}
    with app.app_context():
        table = compliance_table(db.session.get(User, coordinator.id), db.session.get(
            Participant, participant.id).study, utcnow())
        assert "unscheduled" not in set(table["timepoint"])
        assert int(table[(table["timepoint"] == "baseline") & table["site"].isna()]["expected"].iloc[0]) == 1


def test_an_unscheduled_assessment_left_unanswered_is_not_missed(app, client, coordinator, participant, study):
    past = (utcnow().date() - timedelta(days=10)).isoformat()
    assert add(client, participant, on=past).status_code == 302
    [added] = unscheduled(app, participant.id)
    assert added.visit_after == 0 and added.occurrence == 1  # before the baseline visit: 0.01
    compliance = read_csv(export_bytes(app, study.code, "compliance"))
    row = compliance[compliance["assessment_id"] == added.id].iloc[0]
    assert row["visit"] == 0.01 and row["expected"] == 0 and row["not_expected_reason"] == "unscheduled"
