"""A Wi-Fi drop on the tablet (issue 10, item 4), the server's side: forms sent by the page's own script with an
idempotency key get "go on" as JSON and are stored once however often they are sent; the page's idle clock
and the server's are one clock, so the server ends the session at the idle time, not a grace period later."""

from __future__ import annotations

import re

import pytest

from tests.support.http import csrf_token
from tests.support.kiosk import (
    audit_events,
    continue_intro,
    html,
    issue_code,
    location,
    responses,
    start_with_code,
)

A, B = "PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL"
SCRIPT = {"X-Kiosk-Send": "1"}
KEY = "a3f09c1e5b7d42e8a3f09c1e5b7d42e8"
BANNER = {"en": "Connection lost: your answer is kept and will be sent when the connection returns.",
          "es": "Se perdió la conexión: su respuesta está guardada y se enviará cuando vuelva la conexión."}


@pytest.fixture
def patient(app, client, create_study, create_participant):
    study = create_study(terms=[17], instruments=["pro_ctcae"])
    assessment_id = create_participant(study).assessments["baseline"]
    start_with_code(client, issue_code(app, assessment_id))
    continue_intro(client, "pro_ctcae")
    return assessment_id


def test_an_answer_sent_again_after_a_lost_reply_is_stored_once_and_the_patient_goes_on(app, client, patient, clock):
    page = html(client.get(f"/kiosk/a/item/{A}"))
    data = {"choice": "2", "action": "next", "csrf_token": csrf_token(page), "request_key": KEY}
    first = client.post(f"/kiosk/a/item/{A}", data=data, headers=SCRIPT)
    assert first.status_code == 200 and first.get_json() == {"location": f"/kiosk/a/item/{B}"}
    stored = responses(app, patient)[A]
    assert (stored.value, stored.request_key) == (2, KEY)
    # The reply never reached the tablet (Wi-Fi down); the page sends the same form again, a minute later.
    clock.ahead(60)
    again = client.post(f"/kiosk/a/item/{A}", data=data, headers=SCRIPT)
    assert again.get_json() == {"location": f"/kiosk/a/item/{B}"}
    rows = responses(app, patient)
    assert list(rows) == [A] and rows[A].value == 2
    assert rows[A].answered_at == stored.answered_at  # the time it was given, not the time it was sent again
    assert audit_events(app, "item.change") == []
    # Without the script the same form is a plain form: a redirect, as before.
    plain = client.post(f"/kiosk/a/item/{B}", data={"choice": "1", "action": "next",
                                                    "csrf_token": csrf_token(page)})
    assert plain.status_code == 302


def test_a_form_the_server_does_not_accept_is_answered_as_for_a_plain_form(client, patient):
    """No choice, or an expired token: the question again with its message (the script then sends the form
    the plain way and the browser shows that page)."""
    page = html(client.get(f"/kiosk/a/item/{A}"))
    r = client.post(f"/kiosk/a/item/{A}", data={"action": "next", "csrf_token": csrf_token(page),
                                                "request_key": KEY}, headers=SCRIPT)
    assert r.status_code == 200 and "Please choose an answer, or press Skip." in html(r)
    r = client.post(f"/kiosk/a/item/{A}", data={"choice": "2", "action": "next", "request_key": KEY}, headers=SCRIPT)
    assert r.status_code == 400 and "Please check your answer and press Next again." in html(r)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_patient_pages_carry_the_connection_banner_and_the_scripts_of_the_app(client, patient, lang):
    page = html(client.get(f"/kiosk/a/item/{A}?lang={lang}"))
    assert BANNER[lang] in page
    assert re.search(r'id="connection-banner"[^>]*role="alert"[^>]*hidden', page)
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert "/static/js/send.js" in scripts and all(src.startswith("/static/") for src in scripts)  # no CDN
    served = client.get("/static/js/send.js")
    try:
        assert served.status_code == 200 and "request_key" in html(served)
    finally:
        served.close()


def idle_left_ms(page: str) -> int:
    return int(re.search(r'data-idle-remaining-ms="(\d+)"', page).group(1))


def alive(client, token: str, idle_ms):
    return client.post("/kiosk/alive", data={"idle_ms": str(idle_ms)}, headers={"X-CSRFToken": token})


def test_the_page_and_the_server_keep_one_idle_clock(client, patient, clock):
    page = html(client.get(f"/kiosk/a/item/{A}"))
    token = csrf_token(page)
    assert 299_000 <= idle_left_ms(page) <= 300_000  # the page starts from what the server has left
    clock.ahead(200)
    # The patient last tapped 50 s ago (at 150 s): the server's 300 s run from that tap.
    r = alive(client, token, 50_000)
    assert r.status_code == 200 and 249_000 <= r.get_json()["remaining_ms"] <= 250_000
    clock.ahead(449)  # 299 s after the tap: still the patient's
    assert 0 < alive(client, token, 299_000).get_json()["remaining_ms"] <= 1_500
    clock.ahead(451)  # the idle time is past: ended, at once (no grace period for Back to show the patient)
    r = client.get(f"/kiosk/a/item/{A}")
    assert r.status_code == 302 and location(r).endswith("/kiosk/?m=ended")
    assert alive(client, token, 0).status_code == 401


def test_the_page_cannot_move_the_idle_clock_back_or_past_now(client, patient, clock):
    token = csrf_token(html(client.get(f"/kiosk/a/item/{A}")))
    clock.ahead(100)
    assert alive(client, token, 0).get_json()["remaining_ms"] >= 299_000
    # A report of an older tap than the server already knows of changes nothing; nonsense is refused or bounded.
    assert alive(client, token, 90_000).get_json()["remaining_ms"] >= 298_000
    assert alive(client, token, -5).get_json()["remaining_ms"] >= 298_000
    assert alive(client, token, 10**30).status_code == 200
    assert alive(client, token, "soon").status_code == 400
    assert client.post("/kiosk/alive", data={"idle_ms": "0"}).status_code == 400  # no CSRF token
