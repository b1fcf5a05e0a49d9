"""The small forms that sit on another page (mark not done, correct an answer, acknowledge, start a visit,
revoke a token, log in or out; on the kiosk: start a questionnaire, skip, submit, the staff exit): when their
CSRF token has expired or is missing, the user lands back on the page they were on with a clear message, and
nothing is saved. Before, each gave the bare 400 error page. (The big forms are re-shown with what was typed:
tests/web/test_expired_form.py.)"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.models import Alert, ApiToken, Assessment, AuditEvent, ItemResponse, User
from pro_app.tokens import services as tokens
from tests.support.http import csrf_token, login
from tests.support.kiosk import html, issue_code, location, start_with_code

EXPIRED = "Your page had expired; nothing was saved. Please try again."
ITEM = "PROCTCAE_17A_SCL"


def snapshot(app) -> tuple:
    """What a form could have changed: every change audited (reads aside), assessments, alerts, tokens, users."""
    with app.app_context():
        return (
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.not_like("read.%"))
                               .order_by(AuditEvent.id)).all(),
            db.session.execute(select(Assessment.id, Assessment.status).order_by(Assessment.id)).all(),
            db.session.execute(select(Alert.id, Alert.status).order_by(Alert.id)).all(),
            db.session.execute(select(ApiToken.id, ApiToken.revoked_at).order_by(ApiToken.id)).all(),
            db.session.execute(select(User.id, User.password_hash).order_by(User.id)).all(),
        )


def sent_back(app, client, url: str, data: dict, page: str) -> str:
    """POST the form without a valid token: back on `page` (303), which shows the message; nothing changed.
    Returns the page landed on."""
    before = snapshot(app)
    r = client.post(url, data=data)
    assert r.status_code == 303, (url, r.status_code)
    assert location(r) == page
    landed = client.get(page)
    assert landed.status_code == 200 and EXPIRED in html(landed), (url, landed.status_code)
    assert EXPIRED not in html(client.get(page))  # said once
    assert snapshot(app) == before
    return html(landed)


@pytest.fixture
def clinic(app, client, create_study, create_participant, create_staff):
    """A coordinator logged in; P-001's baseline open, P-002's baseline completed with a PRO-CTCAE answer and
    an open alert, and its week 12 not yet in its window."""
    study = create_study()
    open_ = create_participant(study)
    done = create_participant(study, code="P-002")
    with app.app_context():
        assessment = db.session.get(Assessment, done.assessments["baseline"])
        assessment.status, assessment.completed_at = "completed", utcnow()
        db.session.add(ItemResponse(assessment=assessment, instrument_id="pro_ctcae", instrument_version="1",
                                    item_id=ITEM, value=4, state="answered", language="en", mode="self"))
        alert = Alert(assessment_id=assessment.id, study_id=study.id, kind="item_value", urgency=1, source=ITEM,
                      value=4.0, created_at=utcnow() - timedelta(hours=3))
        db.session.add(alert)
        db.session.commit()
        alert_id = alert.id
    coordinator = create_staff(studies=[study])
    assert login(client, coordinator.email).status_code == 302
    return dict(study=study, open=open_.assessments["baseline"], done=done.assessments["baseline"],
                early=open_.assessments["wk12"], alert=alert_id)


def detail(assessment_id: int) -> str:
    return f"/staff/assessments/{assessment_id}"


def test_mark_not_done_goes_back_to_the_assessment_and_works_when_sent_again(app, client, clinic):
    page = sent_back(app, client, f"{detail(clinic['open'])}/not-done",
                     {"reason": "too_ill", "note": "", "confirm": "yes"}, detail(clinic["open"]))
    r = client.post(f"{detail(clinic['open'])}/not-done",
                    data={"reason": "too_ill", "note": "", "confirm": "yes", "csrf_token": csrf_token(page)})
    assert location(r).endswith(detail(clinic["open"]))
    with app.app_context():
        assert db.session.get(Assessment, clinic["open"]).status == "not_done"


def test_an_expired_token_on_mark_not_done_is_sent_back_the_same_way(app, client, clinic):
    token = csrf_token(html(client.get(detail(clinic["open"]))))
    app.config["WTF_CSRF_TIME_LIMIT"] = 1  # the coordinator left the page open longer than the token lives
    time.sleep(2.1)
    sent_back(app, client, f"{detail(clinic['open'])}/not-done",
              {"reason": "too_ill", "confirm": "yes", "csrf_token": token}, detail(clinic["open"]))


@pytest.mark.parametrize("action, which", [("close", "open"), ("early", "early"), ("reopen", "done")])
def test_the_actions_with_a_reason_go_back_to_the_assessment(app, client, clinic, action, which):
    sent_back(app, client, f"{detail(clinic[which])}/{action}", {"reason": "Asked by the patient"},
              detail(clinic[which]))


def test_correcting_an_answer_goes_back_to_the_answer(app, client, clinic):
    sent_back(app, client, f"{detail(clinic['done'])}/answers/{ITEM}/correct",
              {"choice": "2", "reason": "Keyed wrongly"}, f"{detail(clinic['done'])}#item-{ITEM}")


def test_acknowledging_goes_back_to_the_triage_page_it_was_sent_from(app, client, clinic):
    here = f"/staff/studies/{clinic['study'].code}/alerts?site=BCN"
    assert client.get(here).status_code == 200
    sent_back(app, client, f"{detail(clinic['done'])}/alerts/acknowledge",
              {"note": "Called the patient", "action": "", "next": here}, here)
    sent_back(app, client, "/staff/alerts/acknowledge",
              {"note": "Called", "visit": [str(clinic["done"])], "next": here}, here)
    sent_back(app, client, f"/staff/alerts/{clinic['alert']}/acknowledge", {"note": "Called"}, "/staff/alerts")


def test_acknowledging_never_goes_back_to_another_site(app, client, clinic):
    sent_back(app, client, "/staff/alerts/acknowledge",
              {"visit": [str(clinic["done"])], "next": "//evil.example/staff/"}, "/staff/alerts")


@pytest.mark.parametrize("action", ["start-on-tablet", "code"])
def test_the_start_buttons_go_back_to_the_page_they_are_on(app, client, clinic, action):
    here = "/staff/?site=BCN"
    page = html(client.get(here))
    assert f'action="{detail(clinic["open"])}/{action}"' in page and f'name="back" value="{here}"' in page
    sent_back(app, client, f"{detail(clinic['open'])}/{action}", {"back": here}, here)


def test_logging_out_goes_back_and_keeps_the_user_logged_in_until_pressed_again(app, client, clinic):
    here = detail(clinic["done"])
    assert f'name="back" value="{here}"' in html(client.get(here))
    sent_back(app, client, "/staff/logout", {"back": here}, here)


def test_the_login_page_comes_back_with_the_message_and_nothing_counted(app, create_staff):
    create_staff(email="someone@example.org")
    client = app.test_client()
    client.get("/staff/login")
    sent_back(app, client, "/staff/login?next=/staff/alerts",
              {"email": "someone@example.org", "password": "whatever it was"}, "/staff/login?next=/staff/alerts")


def test_resetting_a_password_goes_back_to_the_account(app, client, create_staff):
    admin = create_staff(email="admin@example.org", role="admin")
    other = create_staff(email="other@example.org")
    login(client, admin.email)
    sent_back(app, client, f"/staff/admin/users/{other.id}/reset-password", {"reason": "Forgot it"},
              f"/staff/admin/users/{other.id}")


def test_revoking_a_token_goes_back_to_the_tokens_and_creating_one_keeps_what_was_typed(app, client, create_study,
                                                                                          create_staff):
    study = create_study()
    analyst = create_staff(email="analyst@example.org", role="analyst", studies=[study])
    with app.app_context():
        token, _ = tokens.create(db.session.get(User, analyst.id), "laptop", [study.id], 30)
        db.session.commit()
        token_id = token.id
    login(client, analyst.email)
    sent_back(app, client, f"/staff/tokens/{token_id}/revoke", {}, "/staff/tokens")
    before = snapshot(app)
    r = client.post("/staff/tokens", data={"name": "R on the server", "studies": [str(study.id)], "days": "30"})
    assert r.status_code == 400 and 'value="R on the server"' in html(r)
    assert "This page had been open too long, so nothing was saved." in html(r)
    assert snapshot(app) == before


# --- the kiosk --------------------------------------------------------------------------------------------

@pytest.fixture
def patient(app, create_study, create_participant):
    """A patient on the tablet, at the start of the baseline questionnaires."""
    participant = create_participant(create_study())
    client = app.test_client()
    start_with_code(client, issue_code(app, participant.assessments["baseline"]))
    return client


def test_the_kiosk_small_forms_go_back_to_their_page(app, patient):
    sent_back(app, patient, "/kiosk/a/intro/qlq_c30", {}, "/kiosk/a/intro/qlq_c30")
    sent_back(app, patient, "/kiosk/a/item/q1/skip", {"from": "review"}, "/kiosk/a/item/q1/skip?from=review")
    sent_back(app, patient, "/kiosk/a/submit", {}, "/kiosk/a/review")
    sent_back(app, patient, "/kiosk/exit", {"email": "coordinator@example.org", "password": "x"}, "/kiosk/exit")
