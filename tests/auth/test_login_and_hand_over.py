"""Staff side of the tablet: login and lockout, grants, handing the tablet over, patient codes, leaving
patient mode, logout."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, Site, StudyGrant
from pro_app.security import sessions
from tests.support.http import PASSWORD, csrf_token, login
from tests.support.kiosk import (
    answer,
    continue_intro,
    cookie_value,
    copy_cookie,
    enter_code,
    html,
    location,
    responses,
)

LOGIN_REFUSED = "Email or password not accepted. If they were right, wait a minute and try again."
EXIT_REFUSED = "Those staff details were not accepted."


@pytest.fixture
def settings(settings):
    return settings.with_changes(login_attempts=3)


@pytest.fixture
def study(create_study):
    return create_study(terms=[17], instruments=["pro_ctcae"])


def dashboard_rows(page: str) -> list[str]:
    """The participant study codes listed on the dashboard, one per assessment row."""
    body = page[page.find("<tbody>"):page.find("</tbody>")] if "<tbody>" in page else ""
    rows = re.findall(r"<tr\b.*?</tr>", body, flags=re.S)
    cells = [re.findall(r"<td\b[^>]*>(.*?)</td>", row, flags=re.S)[1] for row in rows]
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]  # the code, whether or not it is a link


def row_action(page: str, assessment_id: int, action: str) -> bool:
    return f'action="/staff/assessments/{assessment_id}/{action}"' in page


def hand_over(client, assessment_id: int):
    token = csrf_token(html(client.get("/staff/")))
    return client.post(f"/staff/assessments/{assessment_id}/start-on-tablet", data={"csrf_token": token})


def issue(client, assessment_id: int):
    token = csrf_token(html(client.get("/staff/")))
    return client.post(f"/staff/assessments/{assessment_id}/code", data={"csrf_token": token})


def leave(client, email: str, password: str):
    page = html(client.get("/kiosk/exit"))
    assert "Leave patient mode" in page or "modo paciente" in page
    return client.post("/kiosk/exit", data={"email": email, "password": password, "csrf_token": csrf_token(page)})


def is_staff(client) -> bool:
    r = client.get("/staff/")
    if r.status_code == 302:
        assert "/staff/login" in location(r)
        return False
    assert r.status_code == 200
    return True


def is_patient(client) -> bool:
    r = client.get("/kiosk/a")
    return r.status_code == 302 and "/kiosk/a/" in location(r)


# --- login ----------------------------------------------------------------------------------------------

def test_login_with_the_right_password_opens_the_dashboard(client, study, create_staff, create_participant):
    create_participant(study, code="P-001")
    staff = create_staff(studies=[study])
    r = login(client, staff.email.upper())  # e-mail addresses are not case-sensitive
    assert location(r).endswith("/staff/today")
    page = html(client.get("/staff/"))
    assert dashboard_rows(page) == ["P-001"] * 4
    assert staff.email in page


def test_login_refused(app, study, create_staff):
    create_staff(studies=[study])
    for email, password in (("coordinator@example.org", "wrong password!"), ("nobody@example.org", PASSWORD),
                            ("", ""), ("coordinator@example.org", "x" * 5000), ("not an email", PASSWORD)):
        browser = app.test_client()
        r = login(browser, email, password)
        assert r.status_code == 401, (email, password[:20])
        assert LOGIN_REFUSED in html(r)
        assert not is_staff(browser)


def test_failed_logins_slow_the_account_down_on_every_browser_then_it_opens(app, client, study, create_staff,
                                                                           clock):
    staff = create_staff(studies=[study])
    bystander = create_staff(email="other@example.org", studies=[study])
    for _ in range(3):
        assert login(app.test_client(), staff.email, "wrong password!").status_code == 401
    # The right password at once, from a fresh browser: it must wait (the count is in the database, per account).
    r = login(client, staff.email)
    assert r.status_code == 401 and LOGIN_REFUSED in html(r)
    assert not is_staff(client)
    assert location(login(app.test_client(), bystander.email)).endswith("/staff/today")  # other accounts unaffected
    # A few seconds later, not a whole window: the account opens again.
    clock.ahead(5)
    assert location(login(client, staff.email)).endswith("/staff/today")


def test_successful_login_clears_earlier_failures(app, client, study, create_staff):
    staff = create_staff(studies=[study])
    for _ in range(2):
        login(app.test_client(), staff.email, "wrong password!")
    assert location(login(app.test_client(), staff.email)).endswith("/staff/today")
    for _ in range(2):
        login(app.test_client(), staff.email, "wrong password!")
    assert location(login(client, staff.email)).endswith("/staff/today")  # 2 + 2 failures, never 3 in a row


NUL_BYTE = (
    "PostgreSQL only: security/accounts.py authenticate() puts the typed e-mail into the throttle key "
    "(throttle.is_blocked) and the User query; an e-mail containing a NUL byte makes psycopg raise DataError "
    "('PostgreSQL text fields cannot contain NUL (0x00) bytes'), an unhandled HTTP 500 instead of a 4xx "
    "(LoginForm/ExitForm do not validate the e-mail)")


def test_login_with_a_nul_byte_is_refused_not_a_server_error(app, client, study, create_staff):
    create_staff(studies=[study])
    r = login(client, "coordinator\x00@example.org", PASSWORD)
    assert r.status_code in (400, 401)


def test_login_next_only_leads_to_staff_pages(client, study, create_staff):
    staff = create_staff(studies=[study])
    page = html(client.get("/staff/login"))
    r = client.post("/staff/login?next=https://evil.example/", data={
        "email": staff.email, "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert location(r) == "/staff/today"


def test_logout_ends_the_session_for_every_copy_of_the_cookie(app, client, study, create_staff):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    copy = cookie_value(client)
    assert is_staff(copy_cookie(app, copy))
    token = csrf_token(html(client.get("/staff/")))
    assert location(client.post("/staff/logout", data={"csrf_token": token})).endswith("/staff/login")
    assert not is_staff(client)
    assert not is_staff(copy_cookie(app, copy))


def test_staff_session_ends_when_idle(app, client, study, create_staff, clock):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    clock.ahead(600)
    assert is_staff(client)
    clock.ahead(600 + 900 + sessions.SERVER_GRACE.total_seconds() + 1)
    assert not is_staff(client)


# --- what each user may see -----------------------------------------------------------------------------

def test_user_without_a_grant_sees_nothing_and_gets_404(app, client, study, create_study, create_staff,
                                                        create_participant):
    assessment_id = create_participant(study).assessments["baseline"]
    other_study = create_study(code="NCT0000002")
    create_staff(email="mine@example.org", studies=[other_study])
    login(client, "mine@example.org")
    page = html(client.get("/staff/"))
    assert dashboard_rows(page) == []
    assert "P-001" not in page
    token = csrf_token(page)
    for action in ("start-on-tablet", "code"):
        r = client.post(f"/staff/assessments/{assessment_id}/{action}", data={"csrf_token": token})
        assert r.status_code == 404, action
        assert "P-001" not in html(r)
    assert client.post("/staff/assessments/999999/code", data={"csrf_token": token}).status_code == 404
    assert is_staff(client)  # nothing was started
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action.in_(["assessment.hand_over", "assessment.code"]))) == 0


def test_user_with_no_grant_at_all_is_told_so(client, study, create_staff, create_participant):
    create_participant(study)
    create_staff(email="new@example.org")
    login(client, "new@example.org")
    page = html(client.get("/staff/"))
    assert "You have no access to any study yet." in page and dashboard_rows(page) == []


def test_site_restricted_grant(app, client, study, create_staff, create_participant):
    barcelona = create_participant(study, code="P-BCN", site_code="BCN").assessments["baseline"]
    miami = create_participant(study, code="P-MIA", site_code="MIA").assessments["baseline"]
    staff = create_staff(email="bcn@example.org")
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == "BCN"))
        db.session.add(StudyGrant(user_id=staff.id, study_id=study.id, site_id=site.id))
        db.session.commit()
    login(client, staff.email)
    page = html(client.get("/staff/"))
    assert set(dashboard_rows(page)) == {"P-BCN"}
    assert row_action(page, barcelona, "code") and not row_action(page, miami, "code")
    assert issue(client, miami).status_code == 404
    assert hand_over(client, miami).status_code == 404
    assert issue(client, barcelona).status_code == 200


# --- handing the tablet over ----------------------------------------------------------------------------

def test_hand_over_puts_the_tablet_in_patient_mode_in_the_participants_language(
        app, client, study, create_staff, create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study, language="es").assessments["baseline"]
    login(client, staff.email)
    page = html(client.get("/staff/"))
    assert row_action(page, assessment_id, "start-on-tablet")
    r = hand_over(client, assessment_id)
    first = client.get(location(r), follow_redirects=True)
    assert first.request.path == "/kiosk/a/intro/pro_ctcae"
    assert '<html lang="es">' in html(first) and "Preguntas sobre síntomas" in html(first)
    assert "Staff only: leave patient mode" not in html(first)  # the footer is in Spanish too
    # The staff session is over on this tablet: the patient cannot reach staff pages.
    assert not is_staff(client)
    assert is_patient(client)
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assessment.hand_over")).all()
        assert (event.user_id, event.entity_id) == (staff.id, assessment_id)
    continue_intro(client, "pro_ctcae")
    answer(client, "PROCTCAE_17A_SCL", 1)
    row = responses(app, assessment_id)["PROCTCAE_17A_SCL"]
    assert (row.value, row.language) == (1, "es")


def test_answers_after_a_hand_over_are_self_administered(app, client, study, create_staff, create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    login(client, staff.email)
    client.get(location(hand_over(client, assessment_id)))
    continue_intro(client, "pro_ctcae")
    answer(client, "PROCTCAE_17A_SCL", 1)
    assert responses(app, assessment_id)["PROCTCAE_17A_SCL"].mode == "self"


def test_hand_over_uses_the_participants_language_even_if_staff_chose_another(
        client, study, create_staff, create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study, language="es").assessments["baseline"]
    login(client, staff.email)
    client.get("/staff/?lang=en")  # the coordinator picked English on the staff screens
    first = client.get(location(hand_over(client, assessment_id)), follow_redirects=True)
    assert '<html lang="es">' in html(first)


@pytest.mark.parametrize("timepoint, shift", [("wk12", 0), ("baseline", -30)], ids=["not-open-yet", "missed"])
def test_no_hand_over_or_code_outside_the_window(app, client, study, create_staff, create_participant,
                                                 timepoint, shift):
    from datetime import timedelta

    from pro_app.database import utcnow

    staff = create_staff(studies=[study])
    assessment_id = create_participant(study, anchor=utcnow().date() + timedelta(days=2 + shift)).assessments[timepoint]
    login(client, staff.email)
    page = html(client.get("/staff/"))
    assert not row_action(page, assessment_id, "start-on-tablet")
    assert hand_over(client, assessment_id).status_code == 409
    assert issue(client, assessment_id).status_code == 409
    assert is_staff(client)


def test_no_hand_over_of_a_completed_assessment(app, client, study, create_staff, create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    with app.app_context():
        db.session.get(Assessment, assessment_id).status = "completed"
        db.session.commit()
    login(client, staff.email)
    assert hand_over(client, assessment_id).status_code == 409
    assert issue(client, assessment_id).status_code == 409


def test_hand_over_without_a_form_token_is_refused_cleanly(client, study, create_staff, create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    login(client, staff.email)
    r = client.post(f"/staff/assessments/{assessment_id}/start-on-tablet")
    assert r.status_code == 303  # back to the page, which says nothing was saved
    assert is_staff(client) and not is_patient(client)


# --- leaving patient mode -------------------------------------------------------------------------------

@pytest.fixture
def handed_over(client, study, create_staff, create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    login(client, staff.email)
    client.get(location(hand_over(client, assessment_id)))
    continue_intro(client, "pro_ctcae")
    answer(client, "PROCTCAE_17A_SCL", 2)
    return staff, assessment_id


def test_leaving_patient_mode_with_the_staff_password_returns_to_the_dashboard(app, client, handed_over):
    staff, assessment_id = handed_over
    r = leave(client, staff.email, PASSWORD)
    assert location(r).endswith("/staff/")
    page = html(client.get("/staff/"))
    assert "P-001" in page and row_action(page, assessment_id, "start-on-tablet")
    assert not is_patient(client)
    assert responses(app, assessment_id)["PROCTCAE_17A_SCL"].value == 2  # answers so far are kept
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status == "in_progress"


def test_leaving_patient_mode_refused_without_valid_staff_details(client, handed_over, create_study, create_staff):
    staff, _ = handed_over
    create_staff(email="elsewhere@example.org", studies=[create_study(code="NCT0000009")])
    for who, email, password in (("wrong-password", staff.email, "not the password"),
                                 ("unknown", "x@example.org", PASSWORD),
                                 ("other-study", "elsewhere@example.org", PASSWORD), ("empty", "", "")):
        refused_to_leave(client, who, email, password)


def refused_to_leave(client, who, email, password):
    r = leave(client, email, password)
    assert r.status_code in ((200, 400, 403) if who == "empty" else (403,))  # empty: the browser asks first
    if r.status_code == 403:
        assert EXIT_REFUSED in html(r)
    assert is_patient(client)
    assert client.get("/kiosk/a/item/PROCTCAE_17B_SCL").status_code == 200
    assert not is_staff(client)
    assert is_patient(client)


def test_leaving_patient_mode_with_a_nul_byte_is_refused_not_a_server_error(client, handed_over):
    r = leave(client, "coordinator\x00@example.org", PASSWORD)
    assert r.status_code in (400, 403)
    assert is_patient(client)


def test_leaving_patient_mode_is_throttled_like_login(app, client, handed_over):
    staff, _ = handed_over
    for _ in range(3):
        assert leave(client, staff.email, "not the password").status_code == 403
    assert leave(client, staff.email, PASSWORD).status_code == 403  # locked now, even with the right one
    assert is_patient(client)
    assert login(app.test_client(), staff.email).status_code == 401  # the same account lock


# --- patient codes --------------------------------------------------------------------------------------

def test_issued_code_is_shown_once_and_replaces_the_previous_one(app, client, study, create_staff,
                                                                 create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    login(client, staff.email)
    first_page = issue(client, assessment_id)
    assert first_page.status_code == 200
    first = re.search(r'data-testid="patient-code">([^<]+)<', html(first_page)).group(1)
    second = re.search(r'data-testid="patient-code">([^<]+)<', html(issue(client, assessment_id))).group(1)
    assert first != second and re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", second)
    assert first not in html(client.get("/staff/")) and second not in html(client.get("/staff/"))
    with app.app_context():
        assert second.replace("-", "") not in repr(db.session.execute(select(AuditEvent.new, AuditEvent.old)).all())
    tablet = app.test_client()
    assert enter_code(tablet, first).status_code == 403
    r = enter_code(tablet, second)
    assert location(r).endswith("/kiosk/a")
    assert tablet.get("/kiosk/a", follow_redirects=True).request.path == "/kiosk/a/intro/pro_ctcae"
    assert is_staff(client)  # issuing a code leaves the coordinator logged in

