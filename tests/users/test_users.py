"""Administration: creating, editing, disabling and resetting staff accounts, and the audit trail view."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from pro_app import audit
from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.models import AuditEvent, AuthSession, Site, User
from tests.support.http import PASSWORD, csrf_token, login
from tests.support.kiosk import html, location

USERS = "/staff/admin/users"
AUDIT = "/staff/admin/audit"


@pytest.fixture
def admin(create_staff):
    return create_staff(email="admin@example.org", role="admin")


@pytest.fixture
def admin_client(app, admin):
    browser = app.test_client()
    assert location(login(browser, admin.email)).endswith("/staff/today")
    return browser


@pytest.fixture
def study(create_study):
    return create_study(code="STUDY-A", terms=[17], instruments=["pro_ctcae"])


@pytest.fixture
def other_study(create_study):
    return create_study(code="STUDY-B", terms=[17], instruments=["pro_ctcae"])


def is_staff(client) -> bool:
    return client.get("/staff/").status_code == 200


def post_form(client, page_url: str, data: dict, action: str | None = None):
    """Open the page, take its form token, and post the form (to `action`, or back to the page)."""
    token = csrf_token(html(client.get(page_url)))
    return client.post(action or page_url, data={**data, "csrf_token": token})


def create(client, email: str, role: str = "coordinator", password: str = PASSWORD, studies=()):
    return post_form(client, f"{USERS}/new", {"email": email, "role": role, "password": password,
                                              "studies": [s.id for s in studies]})


def edit(client, user_id: int, role: str, active: bool = True, grants=(), reason: str = ""):
    data = {"role": role, "grants": list(grants), "reason": reason}
    if active:
        data["active"] = "y"
    return post_form(client, f"{USERS}/{user_id}", data)


def reset_password(client, user_id: int, reason: str = "") -> str:
    r = post_form(client, f"{USERS}/{user_id}", {"reason": reason},
                  action=f"{USERS}/{user_id}/reset-password")
    assert r.status_code == 200
    return re.search(r'data-testid="new-password">([^<]+)<', html(r)).group(1)


def site_grant(app, study, site_code: str) -> str:
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == site_code))
        return f"{study.id}:{site.id}"


def user_id(app, email: str) -> int | None:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def audit_rows(page: str) -> list[str]:
    return re.findall(r'<tr data-event="\d+">.*?</tr>', page, flags=re.S)


# --- who may use the admin screens ---------------------------------------------------------------------

def test_every_admin_page_renders_for_an_admin(admin_client, admin, study):
    for url in (USERS, f"{USERS}/new", f"{USERS}/{admin.id}", AUDIT):
        r = admin_client.get(url)
        assert r.status_code == 200, url
        assert r.headers["Cache-Control"].startswith("no-store")
    page = html(admin_client.get("/staff/"))
    assert f'href="{USERS}"' in page and f'href="{AUDIT}"' in page  # the menu entries
    assert "admin@example.org" in html(admin_client.get(USERS))


@pytest.mark.parametrize("role", ["coordinator", "analyst"])
def test_other_roles_get_403_on_every_admin_route_and_see_no_menu_entry(app, client, admin, study,
                                                                       create_staff, role):
    someone = create_staff(email=f"{role}@example.org", role=role, studies=[study])
    login(client, someone.email)
    page = html(client.get("/staff/"))
    assert USERS not in page and AUDIT not in page
    token = csrf_token(page)
    for url in (USERS, f"{USERS}/new", f"{USERS}/{admin.id}", f"{USERS}/{someone.id}", AUDIT):
        assert client.get(url).status_code == 403, url
    for url, data in ((f"{USERS}/new", {"email": "x@example.org", "role": "admin", "password": PASSWORD}),
                      (f"{USERS}/{someone.id}", {"role": "admin", "active": "y"}),
                      (f"{USERS}/{admin.id}", {"role": "admin"}),
                      (f"{USERS}/{admin.id}/reset-password", {})):
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403, url
    with app.app_context():
        assert db.session.get(User, someone.id).role == role
        assert db.session.get(User, admin.id).active
        assert db.session.scalar(select(User).where(User.email == "x@example.org")) is None
    assert login(app.test_client(), "admin@example.org").status_code == 302  # password unchanged


def test_admin_pages_need_a_login(client, admin):
    for url in (USERS, AUDIT, f"{USERS}/{admin.id}"):
        assert "/staff/login" in location(client.get(url))


# --- creating users ------------------------------------------------------------------------------------

def test_creating_a_user_who_can_then_log_in(app, admin_client, study, create_participant):
    create_participant(study, code="P-A1")
    r = create(admin_client, "New.Person@Example.org", studies=[study])
    assert location(r).startswith(USERS)
    assert "new.person@example.org" in html(admin_client.get(USERS))
    browser = app.test_client()
    assert location(login(browser, "new.person@example.org")).endswith("/staff/today")
    assert "P-A1" in html(browser.get("/staff/"))


def test_creating_a_user_with_a_generated_password_shows_it_once(app, admin_client):
    r = create(admin_client, "generated@example.org", role="analyst", password="")
    assert r.status_code == 200
    password = re.search(r'data-testid="new-password">([^<]+)<', html(r)).group(1)
    assert len(password) >= 12
    assert password not in html(admin_client.get(USERS))
    assert location(login(app.test_client(), "generated@example.org", password)).endswith("/staff/today")
    with app.app_context():
        assert password not in repr(db.session.execute(select(AuditEvent.old, AuditEvent.new)).all())


def test_duplicate_email_and_short_password_are_refused_with_a_message(app, admin_client, admin):
    r = create(admin_client, "ADMIN@example.org")
    assert r.status_code == 400
    assert "A user with this email address already exists." in html(r)
    r = create(admin_client, "short@example.org", password="too short")
    assert r.status_code == 400
    assert "The password must have at least 12 characters." in html(r)
    r = create(admin_client, "badrole@example.org", role="superuser")
    assert r.status_code == 400
    with app.app_context():
        assert db.session.scalars(select(User.email)).all() == ["admin@example.org"]


# --- roles and grants ----------------------------------------------------------------------------------

def test_grants_and_role_decide_what_the_user_sees(app, client, admin_client, study, other_study,
                                                   create_participant, create_staff):
    create_participant(study, code="P-A-BCN", site_code="BCN")
    create_participant(study, code="P-A-MIA", site_code="MIA")
    create_participant(other_study, code="P-B-BCN", site_code="BCN")
    coordinator = create_staff(email="coord@example.org")
    login(client, coordinator.email)

    def seen() -> set[str]:
        return set(re.findall(r"P-[AB]-[A-Z]{3}", html(client.get("/staff/"))))

    assert seen() == set()
    assert location(edit(admin_client, coordinator.id, "coordinator", grants=[str(study.id)])).endswith(USERS)
    assert seen() == {"P-A-BCN", "P-A-MIA"}
    edit(admin_client, coordinator.id, "coordinator", grants=[site_grant(app, study, "MIA")])
    assert seen() == {"P-A-MIA"}
    edit(admin_client, coordinator.id, "coordinator",
         grants=[site_grant(app, study, "MIA"), str(other_study.id)])
    assert seen() == {"P-A-MIA", "P-B-BCN"}
    edit(admin_client, coordinator.id, "admin", grants=[])
    assert seen() == {"P-A-BCN", "P-A-MIA", "P-B-BCN"}
    assert USERS in html(client.get("/staff/"))  # now an administrator: the menu entry appears


def test_grants_are_never_duplicated(app, admin_client, study, create_staff):
    coordinator = create_staff(email="coord@example.org", studies=[study])
    bcn = site_grant(app, study, "BCN")
    edit(admin_client, coordinator.id, "coordinator", grants=[str(study.id), str(study.id), bcn])
    edit(admin_client, coordinator.id, "coordinator", grants=[bcn, bcn])
    with app.app_context():
        grants = db.session.get(User, coordinator.id).grants
        assert [(g.study_id, g.site_id) for g in grants] == [(study.id, int(bcn.split(":")[1]))]


def test_an_unknown_grant_is_refused(app, admin_client, study, create_staff):
    coordinator = create_staff(email="coord@example.org")
    assert edit(admin_client, coordinator.id, "coordinator", grants=["99999"]).status_code == 400
    assert admin_client.get(f"{USERS}/99999").status_code == 404


# --- disabling and password resets ---------------------------------------------------------------------

def test_disabling_a_user_logs_them_out_at_once_and_they_cannot_log_in(app, client, admin_client, study,
                                                                       create_staff):
    coordinator = create_staff(email="coord@example.org", studies=[study])
    login(client, coordinator.email)
    assert is_staff(client)
    r = edit(admin_client, coordinator.id, "coordinator", active=False, grants=[str(study.id)],
             reason="Left the trial team")
    assert location(r).endswith(USERS)
    assert "/staff/login" in location(client.get("/staff/"))
    assert login(app.test_client(), coordinator.email).status_code == 401
    with app.app_context():
        live = db.session.scalars(select(AuthSession).where(AuthSession.user_id == coordinator.id,
                                                            AuthSession.ended_at.is_(None))).all()
        assert live == []
    assert "Disabled" in html(admin_client.get(USERS))
    # Enabled again: the same password works again.
    edit(admin_client, coordinator.id, "coordinator", active=True, grants=[str(study.id)])
    assert location(login(app.test_client(), coordinator.email)).endswith("/staff/today")


def test_an_admin_cannot_disable_themselves_or_drop_their_own_role(app, admin_client, admin):
    r = edit(admin_client, admin.id, "admin", active=False)
    assert r.status_code == 400 and "You cannot disable your own account." in html(r)
    r = edit(admin_client, admin.id, "analyst", active=True)
    assert r.status_code == 400 and "You cannot remove your own administrator role." in html(r)
    with app.app_context():
        user = db.session.get(User, admin.id)
        assert (user.role, user.active) == ("admin", True)
    assert is_staff(admin_client)


def test_reset_password_ends_sessions_and_only_the_new_password_works(app, client, admin_client, study,
                                                                      create_staff):
    coordinator = create_staff(email="coord@example.org", studies=[study])
    login(client, coordinator.email)
    new_password = reset_password(admin_client, coordinator.id, reason="Forgot it")
    assert new_password != PASSWORD
    assert "/staff/login" in location(client.get("/staff/"))  # the old session is over
    assert login(app.test_client(), coordinator.email, PASSWORD).status_code == 401
    assert location(login(app.test_client(), coordinator.email, new_password)).endswith("/staff/today")


def test_an_admin_resetting_their_own_password_stays_logged_in(app, admin_client, admin):
    new_password = reset_password(admin_client, admin.id)
    assert is_staff(admin_client)
    assert location(login(app.test_client(), admin.email, new_password)).endswith("/staff/today")


def test_reset_password_needs_the_form_token(app, admin_client, create_staff):
    coordinator = create_staff(email="coord@example.org")
    assert admin_client.post(f"{USERS}/{coordinator.id}/reset-password").status_code == 303  # back, unchanged
    assert location(login(app.test_client(), coordinator.email)).endswith("/staff/today")


# --- the audit trail -----------------------------------------------------------------------------------

def test_every_change_appears_in_the_audit_view_with_old_new_reason_and_the_admin(
        app, admin_client, study, create_staff):
    create(admin_client, "made@example.org", studies=[study])
    made = user_id(app, "made@example.org")
    edit(admin_client, made, "analyst", grants=[str(study.id)], reason="Moved to statistics")
    edit(admin_client, made, "analyst", active=False, grants=[str(study.id)], reason="Left")
    reset_password(admin_client, made, reason="Locked out")
    page = html(admin_client.get(AUDIT))
    rows = audit_rows(page)
    actions = [re.search(r"<code>([a-z_.]+)</code>", row).group(1) for row in rows]
    assert actions[:4] == ["user.reset_password", "user.disable", "user.update", "user.create"]  # newest first
    for row in rows[:4]:
        assert "admin@example.org" in row
    update = rows[2]
    assert "&#34;role&#34;: &#34;coordinator&#34;" in update and "&#34;role&#34;: &#34;analyst&#34;" in update
    assert "Moved to statistics" in update
    disable = rows[1]
    assert "&#34;active&#34;: true" in disable and "&#34;active&#34;: false" in disable and "Left" in disable
    assert "Locked out" in rows[0] and PASSWORD not in page
    assert "made@example.org" in rows[3]


def test_audit_filters_and_pages(app, admin_client, admin, study, other_study):
    with app.app_context():
        old = utcnow() - timedelta(days=40)
        for n in range(60):
            audit.record("item.answer", "item_response", n, actor="patient", study_id=study.id)
        audit.record("item.change", "item_response", 1, actor="user", user_id=admin.id, study_id=other_study.id,
                     old={"value": 1}, new={"value": 2}, reason="Keyed wrongly")
        db.session.add(AuditEvent(at=old, actor="system", action="study.create", entity="study",
                                  entity_id=study.id, study_id=study.id))
        db.session.commit()

    def rows(**args):
        r = admin_client.get(AUDIT, query_string=args)
        assert r.status_code == 200
        return html(r), audit_rows(html(r))

    page, first = rows()
    assert len(first) == 50 and "Page 1 of 2" in page
    page, second = rows(page=2)
    assert len(second) == 14  # 60 answers, a change, the old event, the admin's creation and login
    assert set(first).isdisjoint(second)
    _, only_changes = rows(action="item.change")
    assert len(only_changes) == 1 and "Keyed wrongly" in only_changes[0]
    _, study_b = rows(study=str(other_study.id))
    assert len(study_b) == 1
    _, by_admin = rows(user=str(admin.id))
    assert {re.search(r"<code>([a-z_.]+)</code>", r).group(1) for r in by_admin} == {"item.change", "user.login"}
    day = old.date()
    _, that_day = rows(start=day.isoformat(), end=day.isoformat())
    assert len(that_day) == 1 and "study.create" in that_day[0]
    _, recent = rows(start=(day + timedelta(days=1)).isoformat(), action="study.create")
    assert recent == []
    page, filtered_pages = rows(action="item.answer", page=2)
    assert len(filtered_pages) == 10 and "action=item.answer" in page  # page links keep the filter


def test_bad_audit_filters_are_a_400_not_a_500(admin_client):
    for args in ({"start": "yesterday"}, {"study": "abc"}, {"user": "99999"}, {"action": "no.such"}):
        assert admin_client.get(AUDIT, query_string=args).status_code == 400, args
    assert admin_client.get(AUDIT, query_string={"page": "999"}).status_code == 200


def test_the_audit_trail_cannot_be_changed_through_the_orm(app, admin_client):
    with app.app_context():
        event = db.session.scalars(select(AuditEvent)).first()
        event.reason = "rewritten"
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        event = db.session.scalars(select(AuditEvent)).first()
        db.session.delete(event)
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalars(select(AuditEvent)).first().reason is None
