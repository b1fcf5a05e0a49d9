"""A study's actions taken on an alert, who is emailed about its alerts and the digest option: edited in the
study form and in its YAML export / import (a round trip), validated (addresses, bounded lists, a 400 with a
clear message), offered when acknowledging, and the notice that email is off."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import AuditEvent, Study
from tests.studies.test_studies import errors_of, post, reset_database, study_form
from tests.support.http import login
from tests.support.kiosk import html

ACTIONS = "Called the patient\nBooked a clinic visit\nno_action\n"
RECIPIENTS = "Nurse.Barcelona@Hospital.example es\noncall@hospital.example\n"


@pytest.fixture
def admin(client, create_staff):
    user = create_staff(email="admin@example.org", role="admin")
    assert login(client, user.email).status_code == 302
    return user


def _stored(app) -> tuple:
    with app.app_context():
        study = db.session.scalar(select(Study).where(Study.code == "NCT01234567"))
        return study.alert_actions, study.alert_recipients, study.alert_digest


def test_actions_recipients_and_digest_are_set_in_the_form_and_round_trip_through_yaml(app, client, admin,
                                                                                      create_staff):
    r = post(client, "/staff/studies/new", study_form(alert_actions=ACTIONS, alert_recipients=RECIPIENTS,
                                                     alert_digest="y"))
    assert r.status_code == 302, html(r)
    assert _stored(app) == (["Called the patient", "Booked a clinic visit", "no_action"],
                            [{"email": "nurse.barcelona@hospital.example", "language": "es"},
                             {"email": "oncall@hospital.example"}], True)
    exported = client.get("/staff/studies/NCT01234567/export.yaml").get_data(as_text=True)
    definition = yaml.safe_load(exported)
    assert definition["alert_actions"] == ["Called the patient", "Booked a clinic visit", "no_action"]
    assert definition["alert_recipients"] == [{"email": "nurse.barcelona@hospital.example", "language": "es"},
                                              {"email": "oncall@hospital.example"}]
    assert definition["alert_digest"] is True
    # The form shows them back as typed (addresses lower-cased), and the digest checked.
    page = html(client.get("/staff/studies/NCT01234567/edit"))
    assert "nurse.barcelona@hospital.example es\noncall@hospital.example" in page
    assert "Booked a clinic visit" in page and 'name="alert_digest" value="y" checked' in page
    # Neither address has an account yet: the form says nobody is emailed there.
    assert page.count('data-testid="unreachable"') == 2

    reset_database(app)
    fresh = app.test_client()
    staff = create_staff(email="admin@example.org", role="admin")
    assert login(fresh, staff.email).status_code == 302
    r = post(fresh, "/staff/studies/import", {"definition": exported, "reason": "Set up"})
    assert r.status_code == 302, html(r)
    assert fresh.get("/staff/studies/NCT01234567/export.yaml").get_data(as_text=True) == exported


def test_an_edit_changes_them_audited(app, client, admin, create_staff):
    assert post(client, "/staff/studies/new", study_form()).status_code == 302
    assert _stored(app)[2] is False
    nurse = create_staff("nurse@hospital.example", studies=[SimpleNamespace(code="NCT01234567")])
    edit = study_form(alert_actions="Phoned\nSeen today", alert_recipients=nurse.email, reason="Nurses asked")
    r = post(client, "/staff/studies/NCT01234567/edit", edit)
    assert r.status_code == 302, html(r)
    assert _stored(app) == (["Phoned", "Seen today"], [{"email": "nurse@hospital.example"}], False)
    page = html(client.get("/staff/studies/NCT01234567/edit"))
    assert 'data-testid="unreachable"' not in page  # the nurse has an account with access
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "study.update"))
        assert event.reason == "Nurses asked"
        assert event.old["alert_recipients"] == [] and event.new["alert_recipients"] == [
            {"email": "nurse@hospital.example"}]


def test_an_empty_list_of_actions_is_the_standard_one(app, client, admin):
    assert post(client, "/staff/studies/new", study_form(alert_actions="")).status_code == 302
    assert _stored(app)[0] == ["called_patient", "seen_in_clinic", "referred", "no_action", "other"]


@pytest.mark.parametrize("changes, message", [
    ({"alert_recipients": "not-an-address"}, "Alert recipient 1 is not a valid email address."),
    ({"alert_recipients": "a@hospital.example\nb@hospital.example, c@hospital.example"},
     "Alert recipient 2 is not a valid email address."),
    ({"alert_recipients": "a@hospital.example fr"}, "Alert recipient a@hospital.example: the language is en or es"),
    ({"alert_recipients": "a@hospital.example\nA@hospital.example"},
     "The alert recipient a@hospital.example appears more than once."),
    ({"alert_recipients": "\n".join(f"n{i}@hospital.example" for i in range(51))},
     "A study may name at most 50 alert recipients."),
    ({"alert_actions": "Phoned\nPhoned"}, "The action Phoned appears more than once."),
    ({"alert_actions": "x" * 121}, "Each action taken on an alert is a text of 1 to 120 characters on one line."),
    ({"alert_actions": "\n".join(f"Action {i}" for i in range(31))},
     "A study may list at most 30 actions taken on an alert."),
])
def test_bad_actions_or_recipients_are_a_400_with_a_clear_message(app, client, admin, changes, message):
    r = post(client, "/staff/studies/new", study_form(**changes))
    assert r.status_code == 400
    assert message in errors_of(html(r))
    with app.app_context():
        assert db.session.scalar(select(Study).where(Study.code == "NCT01234567")) is None


@pytest.mark.parametrize("extra, message", [
    ("alert_recipients: nurse@hospital.example\n", "The alert recipients must be a list of email addresses"),
    ("alert_recipients:\n- {email: nurse@hospital.example, phone: '123'}\n",
     "Alert recipient 1 must be an email address, or a mapping of email and language."),
    ("alert_recipients:\n- \"nurse@hospital.example\\nBcc: x@evil.example\"\n",
     "Alert recipient 1 is not a valid email address."),
    ("alert_digest: daily\n", "alert_digest is true or false."),
    ("alert_actions: Phoned\n", "The actions taken on an alert must be a list of short texts."),
])
def test_a_bad_yaml_import_is_a_400(app, client, admin, create_study, extra, message):
    assert post(client, "/staff/studies/new", study_form()).status_code == 302
    exported = client.get("/staff/studies/NCT01234567/export.yaml").get_data(as_text=True)
    definition = yaml.safe_load(exported)
    for field in ("alert_recipients", "alert_digest", "alert_actions"):
        definition.pop(field)
    text = yaml.safe_dump(definition, sort_keys=False) + extra
    r = post(client, "/staff/studies/import", {"definition": text, "confirm": "y", "reason": "Try"})
    assert r.status_code == 400, html(r)[:300]
    assert message in html(r)


def test_a_definition_without_the_new_fields_still_imports(app, client, admin):
    assert post(client, "/staff/studies/new", study_form()).status_code == 302
    definition = yaml.safe_load(client.get("/staff/studies/NCT01234567/export.yaml").get_data(as_text=True))
    for field in ("alert_recipients", "alert_digest", "alert_actions"):
        definition.pop(field)
    text = yaml.safe_dump(definition | {"code": "NCT-OLD"}, sort_keys=False)
    assert post(client, "/staff/studies/import", {"definition": text, "reason": "Old file"}).status_code == 302
    old = yaml.safe_load(client.get("/staff/studies/NCT-OLD/export.yaml").get_data(as_text=True))
    assert old["alert_recipients"] == [] and old["alert_digest"] is False


def test_without_smtp_the_alert_and_study_pages_say_email_is_off(client, admin):
    assert post(client, "/staff/studies/new", study_form()).status_code == 302
    for url in ("/staff/alerts", "/staff/studies/NCT01234567/alerts", "/staff/studies/NCT01234567/edit"):
        page = html(client.get(url + "?lang=en"))
        assert 'data-testid="email-off"' in page and "Email is off" in page, url
