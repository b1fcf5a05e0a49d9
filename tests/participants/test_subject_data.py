"""Subject data: consent date, arm (from the study's list, editable in the study form and YAML), withdrawal
(date, reason, follow-up), death; each change audited with its reason."""

from __future__ import annotations

from datetime import timedelta

import yaml
from sqlalchemy import select

from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.models import AuditEvent, Participant, Study
from tests.participants.test_participants import coordinator, post, study  # noqa: F401
from tests.support.kiosk import html


def set_arms(app, study_id: int, arms: list[str]) -> None:
    with app.app_context():
        db.session.get(Study, study_id).arms = arms
        db.session.commit()


def test_subject_data_is_entered_with_a_reason_and_audited(app, client, study, coordinator,  # noqa: F811
                                                           create_participant):
    set_arms(app, study.id, ["A", "B"])
    participant = create_participant(study)
    url = f"/staff/participants/{participant.id}/subject"
    page = html(client.get(url))
    assert 'value="A"' in page and 'value="B"' in page
    today = utcnow().date() - timedelta(days=1)
    form = {"consent_date": (today - timedelta(days=20)).isoformat(), "arm": "B", "death_date": ""}
    r = post(client, url, form)
    assert r.status_code == 400 and "Reason for the change: This field is required." in html(r)
    r = post(client, url, {**form, "reason": "Randomised"})
    assert r.status_code == 302
    r = post(client, url, {**form, "arm": "C", "reason": "x"})
    assert r.status_code == 400
    r = post(client, url, {**form, "death_date": (today + timedelta(days=5)).isoformat(), "reason": "x"})
    assert r.status_code == 400 and "The date of death cannot be in the future." in html(r)
    with app.app_context():
        stored = db.session.get(Participant, participant.id)
        assert (stored.arm, stored.consent_date) == ("B", today - timedelta(days=20))
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.subject_data"))
        assert event.reason == "Randomised" and event.old == {"arm": None, "consent_date": None}
        assert event.new == {"arm": "B", "consent_date": (today - timedelta(days=20)).isoformat()}
    detail = html(client.get(f"/staff/participants/{participant.id}"))
    assert "Arm or cohort" in detail and ">B<" in detail


def test_withdrawal_records_its_date_and_follow_up_and_can_be_corrected(app, client, study, coordinator,  # noqa: F811
                                                                      create_participant):
    participant = create_participant(study)
    on = utcnow().date() - timedelta(days=3)
    r = post(client, f"/staff/participants/{participant.id}/withdraw",
             {"withdrawn_on": on.isoformat(), "follow_up_continues": "y", "reason": "Stopped treatment"})
    assert r.status_code == 302
    with app.app_context():
        stored = db.session.get(Participant, participant.id)
        assert (stored.status, stored.withdrawn_on, stored.follow_up_continues) == ("withdrawn", on, True)
        assert stored.questionnaires_continue
    r = post(client, f"/staff/participants/{participant.id}/subject",
             {"withdrawn_on": (on - timedelta(days=1)).isoformat(), "withdrawn_reason": "Stopped treatment",
              "reason": "Date corrected from the clinic note"})
    assert r.status_code == 302
    with app.app_context():
        stored = db.session.get(Participant, participant.id)
        assert (stored.withdrawn_on, stored.follow_up_continues) == (on - timedelta(days=1), False)
        assert not stored.questionnaires_continue
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "participant.subject_data"))
        assert event.new == {"withdrawn_on": (on - timedelta(days=1)).isoformat(), "follow_up_continues": False}


def test_a_death_stops_questionnaires(app, client, study, coordinator, create_participant):  # noqa: F811
    participant = create_participant(study)
    r = post(client, f"/staff/participants/{participant.id}/subject",
             {"death_date": (utcnow().date() - timedelta(days=1)).isoformat(), "reason": "Reported by family"})
    assert r.status_code == 302
    with app.app_context():
        assert not db.session.get(Participant, participant.id).questionnaires_continue
    board = html(client.get(f"/staff/studies/{study.code}/dashboard"))
    assert participant.study_code not in board[board.find("Due"):]


def test_arms_are_edited_in_the_study_form_and_round_trip_in_yaml(app, client, create_study, create_staff,
                                                                  create_participant):
    from tests.studies.test_studies import study_form
    from tests.support.http import login
    made = create_study()
    admin = create_staff(email="admin@example.org", role="admin")
    login(client, admin.email)
    definition = yaml.safe_load(client.get(f"/staff/studies/{made.code}/export.yaml").get_data(as_text=True))
    assert definition["arms"] == []
    form = study_form(code=made.code, sites=yaml.safe_dump(definition["sites"]),
                      timepoints=yaml.safe_dump(definition["timepoints"]), terms__pro_ctcae="17, 9, 1, 36, 53",
                      arms="SBRT, SBRT-plus", reason="Arms added")
    url = f"/staff/studies/{made.code}/edit"
    assert post(client, url, form).status_code == 302
    exported = client.get(f"/staff/studies/{made.code}/export.yaml").get_data(as_text=True)
    assert yaml.safe_load(exported)["arms"] == ["SBRT", "SBRT-plus"]
    assert 'value="SBRT, SBRT-plus"' in html(client.get(url))
    r = post(client, url, {**form, "arms": "A, A"})
    assert r.status_code == 400 and "Arm code A appears more than once." in html(r)
    participant = create_participant(made)
    with app.app_context():
        db.session.get(Participant, participant.id).arm = "SBRT-plus"
        db.session.commit()
    r = post(client, url, {**form, "arms": "SBRT"})
    assert r.status_code == 400 and "Arm SBRT-plus has participants and cannot be removed." in html(r)
