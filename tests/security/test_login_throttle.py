"""Login that cannot be turned against its owner: growing delays instead of a lock, the same answer and cost
for every failure, failures and logouts audited and kept, admins see accounts under attack."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import AuditEvent
from pro_app.security import passwords
from tests.support.http import PASSWORD, csrf_token, login
from tests.support.kiosk import html, location

ATTACKER = {"REMOTE_ADDR": "203.0.113.66"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}


def login_from(app, env, email, password=PASSWORD):
    browser = app.test_client()
    page = browser.get("/staff/login", environ_base=env)
    return browser.post("/staff/login", environ_base=env, data={
        "email": email, "password": password, "csrf_token": csrf_token(html(page))})


@pytest.fixture
def staff(create_study, create_staff):
    return create_staff(studies=[create_study()])


def test_right_password_within_a_minute_of_many_wrong_attempts_by_someone_else(app, staff, clock):
    # Someone else hammers the account for an hour, as fast as the server answers and then every few seconds.
    for _ in range(60):
        assert login_from(app, ATTACKER, staff.email, "guess!").status_code == 401
    for step in range(200):
        clock.advance(17)
        assert login_from(app, {"REMOTE_ADDR": f"203.0.113.{step % 200}"}, staff.email, "guess!").status_code == 401
    # The owner, within a minute of the last guess, gets in with the right password.
    clock.advance(app.config["SETTINGS"].login_delay_cap_seconds + 1)
    assert location(login_from(app, OWNER, staff.email)).endswith("/staff/today")


def test_the_attackers_own_client_waits_longer_and_longer(app, staff, clock):
    settings = app.config["SETTINGS"]
    for n in range(settings.login_client_attempts + 3):
        clock.advance(settings.login_delay_cap_seconds + 1)  # the account's own delay has passed each time
        login_from(app, ATTACKER, f"victim{n}@example.org", "guess!")
    clock.advance(5)  # its own delay has grown to 16 s by now (2, 4, 8, 16 after the free failures)
    # Even the right password is refused from that client for now; from another it works.
    assert login_from(app, ATTACKER, staff.email).status_code == 401
    assert location(login_from(app, OWNER, staff.email)).endswith("/staff/today")


def test_every_failure_costs_one_argon2_verification_and_answers_the_same(app, staff, monkeypatch):
    calls = []

    class Counting(PasswordHasher):
        def verify(self, hash, password):
            calls.append(hash)
            return super().verify(hash, password)

    monkeypatch.setattr(passwords, "_hasher", Counting(time_cost=1, memory_cost=1024, parallelism=1))
    answers = []
    for email, password in ((staff.email, "wrong password!"), ("nobody@example.org", PASSWORD),
                            ("x" * 120 + "@example.org", PASSWORD)):
        calls.clear()
        r = login_from(app, OWNER, email, password)
        answers.append((r.status_code, html(r).replace(csrf_token(html(r)), "").replace(email, "")))
        assert len(calls) == 1, email
    assert len({a for a in answers}) == 1  # the same status and the same page, whatever failed


def test_failed_logins_and_logouts_are_audited_and_kept(app, client, staff):
    for _ in range(2):
        login(app.test_client(), staff.email, "wrong password!")
    login(app.test_client(), "nobody@example.org", "wrong password!")
    assert location(login(client, staff.email)).endswith("/staff/today")
    client.post("/staff/logout", data={"csrf_token": csrf_token(html(client.get("/staff/")))})
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        failed = [e for e in events if e.action == "user.login_failed"]
        assert [(e.entity_id, e.new["reason"]) for e in failed] == [(staff.id, "password")] * 2 + [(None, "unknown")]
        assert [e.action for e in events if e.action in ("user.login", "user.logout")] == ["user.login", "user.logout"]
        assert [e.user_id for e in events if e.action == "user.logout"] == [staff.id]


def test_admins_see_accounts_under_attack(app, client, staff, create_staff):
    admin = create_staff(email="admin@example.org", role="admin")
    for n in range(6):
        login_from(app, {"REMOTE_ADDR": f"203.0.113.{n}"}, staff.email, "guess!")
    login(client, admin.email)
    page = html(client.get("/staff/admin/users"))
    table = page[page.find('data-testid="under-attack"'):]
    assert f'data-attacked="{staff.email}"' in table and "admin@example.org" not in table
    row = table[table.find(f'data-attacked="{staff.email}"'):].split("</tr>")[0]
    assert ">6<" in row


def test_a_115_character_email_is_refused_and_still_slowed_down(app, clock):
    email = "a" * 115 + "@example.org"
    for _ in range(app.config["SETTINGS"].login_attempts):
        assert login_from(app, {"REMOTE_ADDR": "203.0.113.9"}, email, "guess!").status_code == 401
    with app.app_context():
        from pro_app.security.accounts import account_state
        assert account_state(email).delay > 0
