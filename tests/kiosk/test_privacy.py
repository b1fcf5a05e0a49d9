"""Never show one patient's answers to the next: ended sessions show nothing, cookies hold nothing, headers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import AuthSession
from pro_app.security import sessions
from tests.support.http import PASSWORD, csrf_token
from tests.support.kiosk import (
    answer,
    checked_values,
    continue_intro,
    cookie_value,
    copy_cookie,
    decoded_cookie,
    html,
    issue_code,
    location,
    responses,
    start_with_code,
    submit,
)

A, B, C = "PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL"
ITEM_TEXT = "pain in your belly"
#: words of this assessment's pages in either language
MARKERS = (ITEM_TEXT, "el abdomen", "PRO-CTCAE")
QUESTIONNAIRE_URLS = ("/kiosk/a", f"/kiosk/a/item/{A}", f"/kiosk/a/item/{B}", "/kiosk/a/intro/pro_ctcae",
                      "/kiosk/a/review", f"/kiosk/a/item/{A}/skip", "/kiosk/exit")


@pytest.fixture
def study(create_study):
    return create_study(terms=[17], instruments=["pro_ctcae"])


@pytest.fixture
def patient(app, client, study, create_participant):
    """A Spanish-speaking patient who has answered two items (A = 4, B = 3) after starting with a code."""
    assessment_id = create_participant(study, language="es").assessments["baseline"]
    code = issue_code(app, assessment_id)
    start_with_code(client, code)
    continue_intro(client, "pro_ctcae")
    answer(client, A, 4)
    answer(client, B, 3)
    return assessment_id


def shows_nothing_of_the_questionnaire(browser) -> None:
    """Every questionnaire URL (what Back or a restored tab requests) leads to the start screen, which
    shows no question and no answer."""
    for path in QUESTIONNAIRE_URLS:
        r = browser.get(path)
        assert r.status_code == 302, path
        assert "/kiosk/?m=ended" in location(r), path
        landing = browser.get(location(r), follow_redirects=True)
        assert landing.request.path == "/kiosk/", path
        for page in (html(r), html(landing)):
            assert not [m for m in MARKERS if m in page], path
            assert "checked" not in page and 'type="radio"' not in page
        assert 'name="code"' in html(landing)


def ended_answer_post_is_refused(app, client, assessment_id, token) -> None:
    before = {k: (r.value, r.state) for k, r in responses(app, assessment_id).items()}
    r = client.post(f"/kiosk/a/item/{C}", data={"choice": "1", "action": "next", "csrf_token": token})
    assert r.status_code == 302 and "/kiosk/?m=" in location(r)
    assert {k: (r.value, r.state) for k, r in responses(app, assessment_id).items()} == before


def test_after_submit_questionnaire_pages_show_nothing(app, client, patient):
    token = csrf_token(html(client.get(f"/kiosk/a/item/{C}")))
    cookie = cookie_value(client)
    assert location(submit(client)).endswith("/kiosk/thanks")
    thanks = html(client.get("/kiosk/thanks"))
    assert "Muchas gracias" in thanks and not [m for m in MARKERS if m in thanks]
    shows_nothing_of_the_questionnaire(client)
    ended_answer_post_is_refused(app, client, patient, token)
    # A copy of the cookie taken before the submit is no longer a session either.
    shows_nothing_of_the_questionnaire(copy_cookie(app, cookie))
    ended_answer_post_is_refused(app, copy_cookie(app, cookie), patient, token)
    # The next patient's start screen is not in the previous patient's language.
    assert '<html lang="en">' in html(client.get("/kiosk/", headers={"Accept-Language": "en"}))


def test_after_idle_timeout_questionnaire_pages_show_nothing(app, client, patient, monkeypatch, clock):
    token = csrf_token(html(client.get(f"/kiosk/a/item/{C}")))
    cookie = cookie_value(client)
    clock.ahead(301)  # the idle time (300 s) just past: ended on the server too, with no grace period
    shows_nothing_of_the_questionnaire(client)
    monkeypatch.undo()
    shows_nothing_of_the_questionnaire(copy_cookie(app, cookie))
    ended_answer_post_is_refused(app, copy_cookie(app, cookie), patient, token)
    assert '<html lang="en">' in html(client.get("/kiosk/", headers={"Accept-Language": "en"}))


def test_after_staff_leave_patient_mode_questionnaire_pages_show_nothing(app, client, study, create_participant,
                                                                       create_staff):
    from tests.support.http import login

    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    login(client, staff.email)
    dashboard = html(client.get("/staff/"))
    r = client.post(f"/staff/assessments/{assessment_id}/start-on-tablet", data={"csrf_token": csrf_token(dashboard)})
    client.get(location(r))
    continue_intro(client, "pro_ctcae")
    answer(client, A, 2)
    cookie = cookie_value(client)
    exit_page = html(client.get("/kiosk/exit"))
    r = client.post("/kiosk/exit", data={"email": staff.email, "password": PASSWORD,
                                         "csrf_token": csrf_token(exit_page)})
    assert location(r).endswith("/staff/")
    shows_nothing_of_the_questionnaire(client)
    shows_nothing_of_the_questionnaire(copy_cookie(app, cookie))
    assert responses(app, assessment_id)[A].value == 2


def test_every_kiosk_form_has_autocomplete_off(app, client, patient):
    """Chromium refills form fields on Back unless the form says autocomplete="off" (SECURITY.md §1)."""
    pages = ["/kiosk/a/intro/pro_ctcae", f"/kiosk/a/item/{A}", f"/kiosk/a/item/{C}/skip", "/kiosk/a/review",
             "/kiosk/exit"]
    seen = set()
    for path in pages:
        page = html(client.get(path))
        for form in re.findall(r"<form\b[^>]*>", page):
            if 'id="timeout-form"' in form:
                continue  # hidden, holds only a token: see the next test
            assert 'autocomplete="off"' in form, (path, form)
            seen.add(path)  # the review screen has its Finish button at the top and at the end
    assert seen == set(pages)
    start = html(app.test_client().get("/kiosk/"))
    [form] = re.findall(r"<form\b[^>]*>", start)
    assert 'autocomplete="off"' in form
    [code_input] = [t for t in re.findall(r"<input\b[^>]*>", start) if 'name="code"' in t]
    assert 'autocomplete="off"' in code_input


def test_idle_timeout_form_has_autocomplete_off_too(client, patient):
    page = html(client.get(f"/kiosk/a/item/{A}"))
    form = re.search(r'<form\b[^>]*id="timeout-form"[^>]*>', page).group(0)
    assert 'autocomplete="off"' in form


def test_session_cookie_holds_no_health_data_and_only_a_revocable_token(app, client, patient):
    content = decoded_cookie(app, client)
    assert set(content) <= {"sid", "lang", "device", "csrf_token"}
    assert {"sid", "device", "csrf_token"} <= set(content)
    raw = repr(content)
    for leak in ("PROCTCAE", "P-001", "NCT0000001", "pro_ctcae", "assessment", "item", "value"):
        assert leak not in raw
    assert all(isinstance(v, str) for v in content.values())  # no ids, no lists of answers
    assert content["lang"] == "es"
    # The token is random and only its hash is stored: the database row can end it.
    with app.app_context():
        rows = db.session.scalars(select(AuthSession)).all()
        assert content["sid"] not in {r.token_hash for r in rows}
        [live] = [r for r in rows if r.ended_at is None]
        assert live.kind == "patient" and live.assessment_id == patient
    # The cookie does not change while answering (nothing accumulates in it).
    answer(client, C, 1)
    assert decoded_cookie(app, client) == content


def test_a_copied_cookie_stops_working_when_the_session_ends(app, client, patient):
    copy = copy_cookie(app, cookie_value(client))
    assert copy.get(f"/kiosk/a/item/{A}").status_code == 200  # a copy is the same session while it lasts
    with app.app_context():  # staff revoke the session (e.g. the tablet was lost)
        for row in db.session.scalars(select(AuthSession).where(AuthSession.ended_at.is_(None))):
            sessions.end(row, "revoked")
        db.session.commit()
    shows_nothing_of_the_questionnaire(copy)
    shows_nothing_of_the_questionnaire(client)


def test_patient_handed_assessment_a_sees_only_a_and_no_staff_page(app, client, study, create_participant,
                                                                   create_staff):
    from tests.support.http import login

    staff = create_staff(studies=[study])
    first = create_participant(study, code="P-001").assessments
    second = create_participant(study, code="P-002").assessments
    # Another patient has already answered B's first item, elsewhere.
    other = app.test_client()
    start_with_code(other, issue_code(app, second["baseline"]))
    continue_intro(other, "pro_ctcae")
    answer(other, A, 4)

    login(client, staff.email)
    dashboard = html(client.get("/staff/"))
    assert "P-002" in dashboard
    r = client.post(f"/staff/assessments/{first['baseline']}/start-on-tablet",
                    data={"csrf_token": csrf_token(dashboard)})
    client.get(location(r))
    token = csrf_token(html(client.get("/kiosk/a/intro/pro_ctcae")))

    # No staff page, and no staff action on anyone else's assessment.
    for path in ("/staff/", "/staff/?lang=es"):
        r = client.get(path)
        assert r.status_code == 302 and "/staff/login" in location(r)
        assert "P-002" not in html(r)
    for action in ("start-on-tablet", "code"):
        r = client.post(f"/staff/assessments/{second['baseline']}/{action}", data={"csrf_token": token})
        assert r.status_code == 302 and "/staff/login" in location(r)
    for timepoint in ("wk12", "baseline"):
        r = client.post(f"/staff/assessments/{first[timepoint]}/code", data={"csrf_token": token})
        assert r.status_code == 302 and "/staff/login" in location(r)
    # Every questionnaire page is A's: B's answer is nowhere.
    page = html(client.get(f"/kiosk/a/item/{A}"))
    assert checked_values(page) == []
    for path in ("/kiosk/a/item/q1", "/kiosk/a/item/PROCTCAE_1A_SCL"):
        assert location(client.get(path)).endswith("/kiosk/a")
    assert client.get("/kiosk/a/intro/qlq_c30").status_code == 404
    answer(client, A, 1)
    assert {k: r.value for k, r in responses(app, first["baseline"]).items()} == {A: 1}
    assert {k: r.value for k, r in responses(app, second["baseline"]).items()} == {A: 4}
    # The patient session is still there afterwards (trying staff URLs did not end it or become staff).
    assert client.get(f"/kiosk/a/item/{B}").status_code == 200


SOME_PAGES = ("/kiosk/", f"/kiosk/a/item/{A}", f"/kiosk/a/item/{A}/skip", "/kiosk/a/intro/pro_ctcae",
              "/kiosk/a/review", "/kiosk/exit", "/kiosk/a", "/kiosk/thanks", "/kiosk/a/intro/nope", "/staff/login",
              "/staff/", "/nope")


def test_security_headers_on_every_page(client, patient):
    for path in SOME_PAGES:
        check_headers(client, path)


def check_headers(client, path):
    r = client.get(path)
    assert r.status_code in (200, 302, 404), path
    csp = r.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in r.headers["Cache-Control"]
    if r.status_code == 200:
        page = html(r)
        # The policy forbids inline script and style: the pages must not rely on them.
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
        assert not re.search(r"\sstyle=", page) and "<style" not in page
        assert not re.search(r'(src|href)="(https?:)?//', page)  # no CDN: the clinic may be offline


def test_session_cookie_flags(app, client):
    r = client.get("/kiosk/")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
