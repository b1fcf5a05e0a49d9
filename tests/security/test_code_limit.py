"""The installation-wide limit on wrong patient codes: a new cookie is a new tablet, but not a new allowance.

Once the installation has seen the limit of wrong codes in the window, every tablet refuses code entry with a
clear message (in the patient's language), even for a right code; admins see it on the users page, and it is
in the audit trail once per window.
"""

from __future__ import annotations

import pytest

from tests.support.http import csrf_token, login
from tests.support.kiosk import audit_events, enter_code, html, issue_code, location

PAUSED = ("Code entry is paused on every tablet after too many wrong codes. Please ask a member of staff: they can "
          "start your questionnaire for you.")
PAUSED_ES = "La entrada de códigos está pausada en todas las tabletas"
WRONG = ["ACDE-FGH" + c for c in "JKMNP"]


@pytest.fixture
def settings(settings):
    """Per-tablet and per-code limits out of the way: only the installation's limit (4 in 10 minutes) counts."""
    return settings.with_changes(code_attempts_per_code=100, code_attempts_per_tablet=100,
                                 code_attempts_installation=4, code_limit_window_seconds=600)


@pytest.fixture
def open_code(app, create_study, create_participant):
    study = create_study("NCT0000002", terms=[17], instruments=["pro_ctcae"])
    return issue_code(app, create_participant(study).assessments["baseline"])


def guess_from_new_tablets(app, count: int) -> list:
    """Each guess from a fresh client: a new cookie, a new tablet id."""
    return [enter_code(app.test_client(), WRONG[n % len(WRONG)]) for n in range(count)]


def test_wrong_codes_from_many_tablets_pause_code_entry_everywhere_even_for_a_right_code(app, open_code):
    responses = guess_from_new_tablets(app, 4)
    assert [r.status_code for r in responses] == [403] * 4  # each one just "not recognised"
    tablet = app.test_client()
    refused = enter_code(tablet, open_code)
    assert refused.status_code == 429
    assert PAUSED in html(refused)
    assert location(tablet.get("/kiosk/a")).startswith("/kiosk/")  # nothing started
    spanish = app.test_client()
    start = spanish.get("/kiosk/", headers={"Accept-Language": "es"})
    response = spanish.post("/kiosk/", data={"code": open_code, "csrf_token": csrf_token(html(start))},
                            headers={"Accept-Language": "es"})
    assert response.status_code == 429 and PAUSED_ES in html(response)


def test_code_entry_opens_again_when_the_window_has_moved_on(app, open_code, clock):
    guess_from_new_tablets(app, 4)
    assert enter_code(app.test_client(), open_code).status_code == 429
    clock.ahead(601)
    tablet = app.test_client()
    assert enter_code(tablet, open_code).status_code == 302


def test_below_the_limit_a_right_code_starts(app, open_code):
    guess_from_new_tablets(app, 3)
    assert enter_code(app.test_client(), open_code).status_code == 302


def test_reaching_the_limit_is_audited_once_per_window_and_shown_to_admins(app, client, open_code, create_staff):
    admin = create_staff(email="admin@example.org", role="admin")
    login(client, admin.email)
    quiet = html(client.get("/staff/admin/users"))
    assert "0 wrong codes in the last 10 minutes" in quiet and "code-limit-reached" not in quiet
    guess_from_new_tablets(app, 7)  # 4 reach the limit; 3 more while paused are refused before any lookup
    events = audit_events(app, "security.code_limit_reached")
    assert len(events) == 1
    assert events[0].actor == "system" and events[0].new == {"failures": 4, "limit": 4, "window_seconds": 600}
    page = html(client.get("/staff/admin/users"))
    assert "Code entry is paused on every tablet." in page
    assert "4 wrong codes were entered in the last 10 minutes (limit 4)" in page
    assert "the limit on wrong codes was reached (4 in 10 minutes)" in page


def test_a_coordinator_does_not_see_the_admin_alert(app, client, logged_in_coordinator, open_code):
    guess_from_new_tablets(app, 4)
    assert client.get("/staff/admin/users").status_code == 403
