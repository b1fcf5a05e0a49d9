"""Every route of the app, fuzzed: no input gives a 500, and no invalid answer is ever stored.

Hypothesis draws a route from `app.url_map` (every one, the API included), a role (anonymous, a patient in a
kiosk session, a coordinator, an admin, an analyst with an API token), the route's path arguments (ids that
exist, ids that do not, ids past any column, hostile text), query parameters and form fields (the names the
forms use, hostile values: control characters, very long text, dates at the ends of the calendar, YAML),
with a valid CSRF token or without one. A few hundred examples by default, derandomised so CI is
repeatable; `PRO_APP_FUZZ_EXAMPLES=5000` for a longer, random run.
"""

from __future__ import annotations

import os
import re
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import Alert, ItemResponse, User
from pro_app.tokens import services as tokens
from tests.support.http import csrf_token, login
from tests.support.kiosk import html, issue_code, start_with_code

EXAMPLES = int(os.environ.get("PRO_APP_FUZZ_EXAMPLES", "300"))
RANDOM = "PRO_APP_FUZZ_EXAMPLES" in os.environ

#: Field and parameter names the forms and filters use, and a few they do not.
NAMES = ["reason", "note", "choice", "action", "code", "email", "password", "role", "studies", "language",
         "study_code", "anchor_date", "consent_date", "arm", "title", "code", "sites", "timepoints", "yaml",
         "confirm", "current_password", "new_password", "confirm_password", "status", "site", "timepoint",
         "search", "page", "start", "end", "next", "lang", "alert_rules", "thresholds", "withdrawn_on",
         "death_date", "follow_up_continues", "alert_ids", "assessment_ids", "q1", "q29", "PROCTCAE_17A_SCL",
         "reason-q1", "name", "from", "to", "format", "dataset", "shown", "key", "\x00", "a" * 300]

HOSTILE = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "0", "1", "-1", "7", "99999999999999999999", "1e309", "NaN", "yes", "on",
                     "0001-01-01", "9999-12-31", "2026-02-30", "1990-01-01", "2099-12-31", "NCT0000001",
                     "DEMO", "BCN", "baseline", "wk12", "q1", "PROCTCAE_17A_SCL", "not_answered:declined",
                     "too_ill", "other", "admin", "coordinator", "csv", "xpt", "items", "wide", "America",
                     "Europe/Madrid", "../../etc/passwd", "<img src=x onerror=alert(1)>", "$\\frac{a}{$",
                     "=HYPERLINK(\"x\")", "a: &a [*a, *a]\nb: *a", "{" * 200, "\x00", "a\r\nb", "\u202e",
                     "x" * 5000, "%00", "//evil.example", "/staff/\\evil"]),
)

INT_ARGS = st.one_of(st.sampled_from([1, 2, 3, 4, 5, 10]), st.integers(min_value=0, max_value=2 ** 70))
ROLES = ["anonymous", "patient", "coordinator", "admin", "analyst"]


def _path(rule: str, draw_value) -> str:
    def one(match: re.Match) -> str:
        converter = match.group(1) or ""
        value = draw_value(converter)
        return str(value) if converter.startswith("int") else quote(str(value), safe="")
    return re.sub(r"<(?:([a-z]+):)?[a-z_]+>", one, rule)


@pytest.fixture
def world(app, create_study, create_participant, create_staff):
    study = create_study()
    other = create_study(code="NCT0000002")
    participant = create_participant(study)
    create_participant(study, code="P-002", site_code="MIA")
    create_participant(other, code="Q-001")
    coordinator = create_staff(studies=[study])
    admin = create_staff(email="admin@example.org", role="admin")
    analyst = create_staff(email="analyst@example.org", role="analyst", studies=[study])
    clients = {}
    for role, user in (("coordinator", coordinator), ("admin", admin), ("analyst", analyst)):
        clients[role] = app.test_client()
        assert login(clients[role], user.email).status_code == 302
    clients["anonymous"] = app.test_client()
    clients["patient"] = app.test_client()
    start_with_code(clients["patient"], issue_code(app, participant.assessments["baseline"]))
    with app.app_context():
        _, token = tokens.create(db.session.get(User, analyst.id), "fuzz", [study.id], 30)
        db.session.commit()
    csrf = {role: csrf_token(html(c.get("/staff/login" if role == "anonymous" else
                                          "/kiosk/a/review" if role == "patient" else "/staff/")))
              for role, c in clients.items()}
    rules = [(r.rule, sorted(r.methods - {"HEAD", "OPTIONS"})) for r in app.url_map.iter_rules()
             if r.endpoint != "static"]
    return SimpleNamespace(app=app, clients=clients, csrf=csrf, api_token=token, rules=rules,
                           study=study.code)


def _assert_answers_valid(app) -> None:
    """Every stored answer is one of its item's options (or an extra option of the item)."""
    with app.app_context():
        for row in db.session.scalars(select(ItemResponse)):
            item = get_instrument(row.instrument_id).item(row.item_id)
            if row.state == "answered":
                values = {c.value for c in item.choices("en") if c.value is not None}
                assert row.value in values, (row.item_id, row.value)
            else:
                assert row.value is None, (row.item_id, row.state, row.value)
        for alert in db.session.scalars(select(Alert)):
            assert alert.status in ("open", "acknowledged", "resolved")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_no_input_gives_a_500_and_no_invalid_answer_is_stored(world, data):
    rule, methods = data.draw(st.sampled_from(world.rules), label="rule")
    method = data.draw(st.sampled_from(methods), label="method")
    role = data.draw(st.sampled_from(ROLES), label="role")
    if rule in ("/staff/logout", "/kiosk/exit", "/kiosk/timeout", "/kiosk/a/submit") and role != "anonymous":
        role = "anonymous"  # keep the logged-in clients logged in for the rest of the run
    path = _path(rule, lambda converter: data.draw(INT_ARGS if converter.startswith("int") else HOSTILE))
    query = data.draw(st.dictionaries(st.sampled_from(NAMES), HOSTILE, max_size=3), label="query")
    form = data.draw(st.dictionaries(st.sampled_from(NAMES), HOSTILE, max_size=6), label="form")
    if data.draw(st.booleans(), label="with csrf"):
        form["csrf_token"] = world.csrf[role]
    headers = {}
    if path.startswith("/api/") and data.draw(st.booleans(), label="with token"):
        headers["Authorization"] = f"Bearer {world.api_token}"
    client = world.clients[role]
    if method == "GET":
        response = client.get(path, query_string=query, headers=headers)
    else:
        response = client.post(path, query_string=query, data=form, headers=headers)
    assert response.status_code < 500 or response.status_code == 503, (method, path, query, form,
                                                                        response.status_code)
    response.close()
    _assert_answers_valid(world.app)
