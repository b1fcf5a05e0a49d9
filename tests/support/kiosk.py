"""Driving the kiosk like a patient does: one request per tap, page tokens taken from the page itself.

Plain functions (no fixtures) so the coordinator tests can use them too. Database checks open their own
short app context, after the requests they check.
"""

from __future__ import annotations

import re

from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, ItemResponse
from pro_app.security import codes
from tests.support.http import csrf_token

COOKIE = "pro_app"


def issue_code(app, assessment_id: int) -> str:
    """A fresh start code for the assessment (as staff would issue it), e.g. 'ACDE-FGHJ'."""
    with app.app_context():
        code = codes.issue(db.session.get(Assessment, assessment_id), None)
        db.session.commit()
    return code


def html(response) -> str:
    return response.get_data(as_text=True)


def location(response) -> str:
    assert response.status_code in (301, 302, 303), (response.status_code, html(response)[:500])
    return response.headers["Location"]


def enter_code(client, code: str):
    """Type the code on the start screen and press Start (the response is not followed)."""
    start = client.get("/kiosk/")
    return client.post("/kiosk/", data={"code": code, "csrf_token": csrf_token(html(start))})


def start_with_code(client, code: str) -> str:
    """Start and follow to the first page; returns that page's path."""
    r = enter_code(client, code)
    assert r.status_code == 302, html(r)[:500]
    page = client.get(location(r), follow_redirects=True)
    assert page.status_code == 200
    return page.request.path


def continue_intro(client, instrument_id: str):
    page = client.get(f"/kiosk/a/intro/{instrument_id}")
    assert page.status_code == 200, page.status_code
    return client.post(f"/kiosk/a/intro/{instrument_id}", data={"csrf_token": csrf_token(html(page))})


def answer(client, item_id: str, choice, **extra):
    """Open the item's page, choose `choice` and press Next."""
    page = client.get(f"/kiosk/a/item/{item_id}")
    assert page.status_code == 200, (item_id, page.status_code, page.headers.get("Location"))
    data = {"choice": str(choice), "action": "next", "csrf_token": csrf_token(html(page)),
            "shown": shown_stamp(html(page))} | extra
    return client.post(f"/kiosk/a/item/{item_id}", data=data)


def shown_stamp(page_html: str) -> str:
    """The item page's signed note of when it was shown, which the browser sends back with the answer."""
    found = re.search(r'name="shown" value="([^"]*)"', page_html)
    return found.group(1) if found else ""


def skip(client, item_id: str):
    """Press Skip on the item, then 'Yes, skip it'."""
    page = client.get(f"/kiosk/a/item/{item_id}/skip")
    assert page.status_code == 200, page.status_code
    return client.post(f"/kiosk/a/item/{item_id}/skip", data={"csrf_token": csrf_token(html(page))})


def submit(client):
    page = client.get("/kiosk/a/review")
    assert page.status_code == 200, page.status_code
    return client.post("/kiosk/a/submit", data={"csrf_token": csrf_token(html(page))})


def checked_values(page_html: str) -> list[str]:
    """The values of the radio buttons rendered as checked."""
    values = []
    for tag in re.findall(r"<input[^>]*>", page_html):
        if 'type="radio"' in tag and re.search(r"\schecked(?=[\s>=/])", tag):
            values.append(re.search(r'value="([^"]*)"', tag).group(1))
    return values


def radio_values(page_html: str) -> list[str]:
    return [re.search(r'value="([^"]*)"', t).group(1)
            for t in re.findall(r"<input[^>]*>", page_html) if 'type="radio"' in t]


def responses(app, assessment_id: int) -> dict[str, ItemResponse]:
    """item id → the stored row (detached snapshot)."""
    with app.app_context():
        rows = db.session.scalars(select(ItemResponse).where(ItemResponse.assessment_id == assessment_id)).all()
        db.session.expunge_all()
        return {r.item_id: r for r in rows}


def audit_events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return rows


def cookie_value(client) -> str | None:
    cookie = client.get_cookie(COOKIE)
    return cookie.value if cookie else None


def decoded_cookie(app, client) -> dict:
    """What the browser holds: the session cookie decoded with the app's own serializer."""
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    return dict(serializer.loads(cookie_value(client)))


def copy_cookie(app, value: str):
    """A fresh browser (test client) holding a copy of a cookie value."""
    other = app.test_client()
    other.set_cookie(COOKIE, value)
    return other
