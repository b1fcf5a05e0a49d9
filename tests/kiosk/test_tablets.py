"""Codes and tablets (issue 10, item 6): staff register a tablet (a named, revocable device credential, listed
with its last use) and unlock one locked by wrong codes; code entry is throttled per tablet, far more tightly
on an unregistered browser and for every unregistered browser together; an assessment open on one tablet is
refused on a second until staff move it. Counted in the database, audited."""

from __future__ import annotations

import pytest

from pro_app.extensions import db
from pro_app.kiosk import tablets
from pro_app.models import Assessment
from tests.support.http import csrf_token, login
from tests.support.kiosk import (
    answer,
    audit_events,
    continue_intro,
    enter_code,
    html,
    issue_code,
    location,
    responses,
    start_with_code,
)

THROTTLED = "Too many attempts on this tablet. Please ask a member of staff for help."
UNKNOWN = "That code was not recognised. Please check it and try again, or ask a member of staff."
IN_USE = ("This questionnaire is open on another tablet right now. Please carry on there, or ask a member of "
          "staff to move it to this tablet.")
CLOSED = "This questionnaire is not open at the moment. Please ask a member of staff."
WRONG = ["ACDE-FGH3", "ACDE-FGH4", "ACDE-FGH6", "ACDE-FGH7", "ACDE-FGH9", "ACDE-FGHK", "ACDE-FGHM", "ACDE-FGHN",
         "ACDE-FGHP", "ACDE-FGHQ", "ACDE-FGHR", "ACDE-FGHT"]
A = "PROCTCAE_17A_SCL"


@pytest.fixture
def study(create_study):
    return create_study(terms=[17], instruments=["pro_ctcae"])


@pytest.fixture
def assessment(study, create_participant):
    return create_participant(study).assessments["baseline"]


@pytest.fixture
def staff(create_staff, study):
    return create_staff(studies=[study])


def register(app, staff, name="Clinic 2, tablet 1"):
    """A browser that a coordinator registered as a tablet (and logged out of again)."""
    tablet = app.test_client()
    login(tablet, staff.email)
    page = html(tablet.get("/staff/tablets"))
    r = tablet.post("/staff/tablets", data={"name": name, "csrf_token": csrf_token(page)})
    assert r.status_code == 302 and tablet.get_cookie(tablets.COOKIE) is not None
    tablet.post("/staff/logout", data={"csrf_token": csrf_token(html(tablet.get("/staff/tablets")))})
    return tablet


def staff_post(client, path):
    token = csrf_token(html(client.get("/staff/tablets")))
    return client.post(path, data={"csrf_token": token})


def test_a_registered_tablet_is_listed_with_its_last_use_and_can_be_revoked(app, staff, assessment):
    tablet = register(app, staff)
    [event] = audit_events(app, "tablet.register")
    assert event.new == {"name": "Clinic 2, tablet 1"} and event.user_id == staff.id
    office = app.test_client()
    login(office, staff.email)
    listing = html(office.get("/staff/tablets"))
    assert "Clinic 2, tablet 1" in listing and "Active" in listing and "—" in listing  # never used yet
    start_with_code(tablet, issue_code(app, assessment))
    with app.app_context():
        [row] = tablets.listing()
        assert row.tablet.last_used_at is not None
    assert staff_post(office, f"/staff/tablets/{row.tablet.id}/revoke").status_code == 302
    assert "Revoked" in html(office.get("/staff/tablets"))
    assert audit_events(app, "tablet.revoke")[0].entity_id == row.tablet.id
    # Revoked, the browser is an unregistered one again: three wrong codes lock it.
    other = app.test_client()
    other.set_cookie(tablets.COOKIE, tablet.get_cookie(tablets.COOKIE).value)
    for wrong in WRONG[:3]:
        enter_code(other, wrong)
    assert THROTTLED in html(enter_code(other, issue_code(app, assessment)))
    # Registering needs a name and staff; patients and anonymous browsers cannot.
    assert app.test_client().get("/staff/tablets").status_code in (302, 401)
    page = html(office.get("/staff/tablets"))
    assert office.post("/staff/tablets", data={"name": "", "csrf_token": csrf_token(page)}).status_code == 400
    assert office.post("/staff/tablets", data={"name": "x"}).status_code == 400  # no CSRF token


def test_unregistered_browser_is_throttled_far_sooner_than_a_registered_tablet(app, staff, assessment):
    browser = app.test_client()
    for wrong in WRONG[:3]:
        assert UNKNOWN in html(enter_code(browser, wrong))
    code = issue_code(app, assessment)
    r = enter_code(browser, code)
    assert r.status_code == 429 and THROTTLED in html(r)
    tablet = register(app, staff)
    for wrong in WRONG[:9]:  # nine wrong codes: still open on a registered tablet
        assert enter_code(tablet, wrong).status_code == 403
    assert enter_code(tablet, code).status_code == 302


def test_a_locked_tablet_is_audited_and_staff_unlock_it(app, staff, assessment):
    tablet = register(app, staff)
    for wrong in WRONG[:10]:
        enter_code(tablet, wrong)
    code = issue_code(app, assessment)
    assert enter_code(tablet, code).status_code == 429  # locked, the right code too
    [locked] = audit_events(app, "tablet.locked")
    office = app.test_client()
    login(office, staff.email)
    listing = html(office.get("/staff/tablets"))
    assert "Locked by wrong codes until" in listing and ">Unlock<" in listing
    assert staff_post(office, f"/staff/tablets/{locked.entity_id}/unlock").status_code == 302
    assert audit_events(app, "tablet.unlock")[0].user_id == staff.id
    assert "Locked by wrong codes" not in html(office.get("/staff/tablets"))
    assert enter_code(tablet, code).status_code == 302
    assert staff_post(office, "/staff/tablets/999999/unlock").status_code == 404


def test_every_unregistered_browser_together_has_one_small_allowance(app, settings, staff, assessment):
    app.config["SETTINGS"] = settings.with_changes(code_attempts_unregistered_all=4)
    for wrong in WRONG[:4]:  # four browsers (four fresh cookies), one wrong code each
        enter_code(app.test_client(), wrong)
    code = issue_code(app, assessment)
    assert enter_code(app.test_client(), code).status_code == 429  # a fifth, new browser: refused
    assert enter_code(register(app, staff), code).status_code == 302  # a registered tablet is not


def test_an_assessment_open_on_one_tablet_is_refused_on_a_second_until_staff_move_it(app, client, staff, assessment):
    code = issue_code(app, assessment)
    start_with_code(client, code)
    continue_intro(client, "pro_ctcae")
    answer(client, A, 2)
    second = app.test_client()
    second.get("/kiosk/?lang=es")
    r = enter_code(second, code)
    assert r.status_code == 409
    assert "Este cuestionario está abierto en otra tableta en este momento." in html(r)
    english = app.test_client()
    assert IN_USE in html(enter_code(english, code))
    # Staff see where it is open and move it: the first tablet's session ends, the answers stay.
    office = app.test_client()
    login(office, staff.email)
    detail = html(office.get(f"/staff/assessments/{assessment}"))
    assert "Open on a tablet now: an unregistered browser" in detail
    r = office.post(f"/staff/assessments/{assessment}/release-tablet", data={"csrf_token": csrf_token(detail)})
    assert r.status_code == 302
    assert "Open on a tablet now" not in html(office.get(f"/staff/assessments/{assessment}"))
    [moved] = audit_events(app, "assessment.move_tablet")
    assert moved.user_id == staff.id and moved.entity_id == assessment
    assert start_with_code(second, code) == "/kiosk/a/item/PROCTCAE_17B_SCL"  # carries on where it was
    r = client.get("/kiosk/a/item/PROCTCAE_17B_SCL")
    assert r.status_code == 302 and "m=ended" in location(r)
    assert responses(app, assessment)[A].value == 2


def test_staff_hand_over_on_a_second_tablet_moves_it_there(app, client, staff, assessment):
    start_with_code(client, issue_code(app, assessment))
    tablet = app.test_client()
    login(tablet, staff.email)
    page = html(tablet.get(f"/staff/assessments/{assessment}"))
    assert "Open on a tablet now" in page
    r = tablet.post(f"/staff/assessments/{assessment}/start-on-tablet", data={"csrf_token": csrf_token(page)})
    assert r.status_code == 302 and location(r).endswith("/kiosk/a")
    assert "m=ended" in location(client.get("/kiosk/a"))
    assert len(audit_events(app, "assessment.move_tablet")) == 1


def test_code_of_an_assessment_closed_as_partial_says_so_and_is_not_a_guess(app, client, assessment):
    code = issue_code(app, assessment)
    with app.app_context():
        closed = db.session.get(Assessment, assessment)
        closed.status = "partial"
        from pro_app.security import codes

        codes.revoke_all(closed)
        db.session.commit()
    for _ in range(4):
        r = enter_code(client, code)
        assert r.status_code == 409 and CLOSED in html(r)
