"""Passwords: one policy (length and zxcvbn's guessability score) wherever a password is set, the admin's
forms, the command line (tests/cli/test_commands.py) and the self-service change, which ends the user's other
sessions and is audited."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import AuditEvent, AuthSession, User
from pro_app.security.passwords import password_problem
from tests.support.http import PASSWORD, csrf_token, login
from tests.support.kiosk import html, location

USERS = "/staff/admin/users"
CHANGE = "/staff/password"
STRONG = "quiet violet harbour lamp"

#: Passwords the issue found accepted, and others of their kind: common, repeated, keyboard walks, the email.
GUESSABLE = ["password1234", " " * 12, "qwertyuiop12", "aaaaaaaaaaaa", "123456789012", "Password1234!",
             "coordinator@example.org", "coordinator2024"]


@pytest.mark.parametrize("password", GUESSABLE)
def test_guessable_passwords_are_refused(app, password):
    with app.app_context():
        assert password_problem(password, email="coordinator@example.org") is not None


@pytest.mark.parametrize("password", ["short", "x" * 11, "a long pass phrase " * 11])  # 11 and 209 characters
def test_too_short_and_longer_than_the_login_form_takes_are_refused(app, password):
    with app.app_context():
        problem = password_problem(password)
    assert problem is not None and ("at least 12" in problem or "at most 200" in problem)


def test_control_characters_are_refused_because_no_form_could_send_them(app):
    with app.app_context():
        assert "control characters" in password_problem(STRONG + "\t")
        assert "control characters" in password_problem(STRONG + "\x00x")


@pytest.mark.parametrize("password", [PASSWORD, STRONG, "Tr0ub4dor&3-horse", "contraseña de la abuela María"])
def test_passwords_hard_to_guess_are_accepted(app, password):
    with app.app_context():
        assert password_problem(password, email="coordinator@example.org") is None


# --- the admin's forms -----------------------------------------------------------------------------------

@pytest.fixture
def admin(create_staff):
    return create_staff(email="admin@example.org", role="admin")


@pytest.fixture
def admin_client(app, admin):
    browser = app.test_client()
    assert location(login(browser, admin.email)).endswith("/staff/today")
    return browser


def post_form(client, page_url: str, data: dict, action: str | None = None):
    token = csrf_token(html(client.get(page_url)))
    return client.post(action or page_url, data={**data, "csrf_token": token})


def users(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(User.email).order_by(User.email)).all()


@pytest.mark.parametrize("password", ["password1234", " " * 12])
def test_the_new_user_form_refuses_a_guessable_password_and_keeps_what_was_typed(app, admin_client, password):
    r = post_form(admin_client, f"{USERS}/new", {"email": "weak@example.org", "role": "coordinator",
                                                 "password": password})
    assert r.status_code == 400
    page = unescape(html(r))
    assert "too easy to guess" in page or "only spaces" in page
    assert 'value="weak@example.org"' in page
    assert users(app) == ["admin@example.org"]


def test_the_refusal_is_in_spanish_for_a_spanish_admin(app, admin_client):
    admin_client.get("/staff/?lang=es")
    r = post_form(admin_client, f"{USERS}/new", {"email": "weak@example.org", "role": "coordinator",
                                                 "password": "password1234"})
    assert r.status_code == 400
    assert "Esta contraseña es demasiado fácil de adivinar." in unescape(html(r))


def test_a_reset_to_a_chosen_password_goes_through_the_same_policy(app, admin_client, create_staff):
    coordinator = create_staff(email="coord@example.org")
    page = f"{USERS}/{coordinator.id}"
    action = f"{page}/reset-password"
    r = post_form(admin_client, page, {"password": "password1234", "reason": "Forgot it"}, action=action)
    assert r.status_code == 400 and "too easy to guess" in unescape(html(r))
    assert location(login(app.test_client(), coordinator.email)).endswith("/staff/today")  # unchanged

    r = post_form(admin_client, page, {"password": STRONG, "reason": "Forgot it"}, action=action)
    assert r.status_code == 200 and 'data-testid="password-set"' in html(r)
    assert STRONG not in html(r)
    assert login(app.test_client(), coordinator.email, PASSWORD).status_code == 401
    assert location(login(app.test_client(), coordinator.email, STRONG)).endswith("/staff/today")
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.reset_password"))
        assert event.new == {"password": "chosen by the admin"} and event.reason == "Forgot it"


# --- changing one's own password -------------------------------------------------------------------------

def change(client, current: str, new: str, confirm: str | None = None):
    token = csrf_token(html(client.get(CHANGE)))
    return client.post(CHANGE, data={"current": current, "new": new, "confirm": new if confirm is None else confirm,
                                     "csrf_token": token})


@pytest.mark.parametrize("role", ["admin", "coordinator", "analyst"])
def test_every_staff_member_can_change_their_own_password(app, create_staff, role):
    person = create_staff(email=f"{role}@example.org", role=role)
    here, elsewhere = app.test_client(), app.test_client()
    login(here, person.email)
    login(elsewhere, person.email)
    assert f'href="{CHANGE}"' in html(here.get("/staff/"))  # linked from every staff page's header

    r = change(here, PASSWORD, STRONG)
    assert r.status_code == 200 and 'data-testid="password-changed"' in html(r)
    assert here.get("/staff/").status_code == 200  # this browser stays in
    assert "/staff/login" in location(elsewhere.get("/staff/"))  # the other session is ended on the server
    assert login(app.test_client(), person.email, PASSWORD).status_code == 401
    assert location(login(app.test_client(), person.email, STRONG)).endswith("/staff/today")
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.change_password")).all()
        assert [(e.user_id, e.entity_id) for e in events] == [(person.id, person.id)]
        assert STRONG not in repr(events[0].new) and PASSWORD not in repr(events[0].new)
        ended = db.session.scalars(select(AuthSession.end_reason).where(AuthSession.user_id == person.id)).all()
        assert "password_changed" in ended


@pytest.mark.parametrize(("current", "new", "confirm", "message"), [
    ("not my password", STRONG, None, "Current password not accepted."),
    (PASSWORD, "password1234", None, "too easy to guess"),
    (PASSWORD, " " * 12, None, "only spaces"),
    (PASSWORD, STRONG, STRONG + "!", "The two new passwords differ."),
    (PASSWORD, PASSWORD, None, "must differ from the current one"),
])
def test_a_refused_change_says_why_and_changes_nothing(app, create_staff, current, new, confirm, message):
    person = create_staff()
    browser = app.test_client()
    login(browser, person.email)
    r = change(browser, current, new, confirm)
    assert r.status_code == 400
    assert message in unescape(html(r))
    assert browser.get("/staff/").status_code == 200
    assert location(login(app.test_client(), person.email, PASSWORD)).endswith("/staff/today")


def test_wrong_current_passwords_are_audited_and_slowed_down_like_failed_logins(app, create_staff, clock):
    person = create_staff()
    browser = app.test_client()
    login(browser, person.email)
    attempts = app.config["SETTINGS"].login_attempts + 1
    for _ in range(attempts):
        assert change(browser, "a guess at it", STRONG).status_code == 400
    # Now even the right current password must wait for the account's delay...
    assert change(browser, PASSWORD, STRONG).status_code == 400
    clock.advance(app.config["SETTINGS"].login_delay_cap_seconds + 1)
    # ...and works once it has passed.
    assert change(browser, PASSWORD, STRONG).status_code == 200
    with app.app_context():
        failed = db.session.scalars(select(AuditEvent.user_id).where(
            AuditEvent.action == "user.change_password_failed")).all()
        assert failed == [person.id] * (attempts + 1)


def test_the_change_page_needs_a_staff_login(client):
    assert "/staff/login" in location(client.get(CHANGE))
    token = csrf_token(html(client.get("/staff/login")))
    r = client.post(CHANGE, data={"current": PASSWORD, "new": STRONG, "confirm": STRONG, "csrf_token": token})
    assert "/staff/login" in location(r)
