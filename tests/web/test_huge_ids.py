"""Ids in URLs beyond what a database column holds are ids that do not exist: a 404 on every route, for an admin
and a coordinator, never a 500 (issue 17: above 2^63 on SQLite, above 2^31 on PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

from tests.support.http import login

HUGE = [2**31, 2**63, 10**20]


def int_routes(app) -> list[tuple[str, str]]:
    """(method, URL pattern) of every route with an `<int:…>` part."""
    found = []
    for rule in app.url_map.iter_rules():
        if not any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule))
    return found


def fill(pattern: str, number: int) -> str:
    return re.sub(r"<(?:int:)?([a-z_]+)>", lambda m: str(number), pattern.replace("<int:", "<"))


@pytest.mark.parametrize("role", ["admin", "coordinator"])
def test_an_id_too_large_for_the_database_is_a_404_on_every_route(app, client, create_study, create_staff, role):
    study = create_study()
    user = create_staff(role=role, studies=[study])
    assert login(client, user.email).status_code == 302
    routes = int_routes(app)
    assert len(routes) > 10  # the participants, assessments, alerts, reports, users, tokens… routes
    for method, pattern in routes:
        for number in HUGE:
            url = fill(pattern, number)
            response = client.open(url, method=method, data={})
            assert response.status_code in (400, 404), (method, url, response.status_code)
            if method == "GET":
                assert response.status_code == 404, (method, url)
