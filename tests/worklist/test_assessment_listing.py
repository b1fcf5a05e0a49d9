"""The assessments list scales: search, filters (site, timepoint, status) and paging; the landing page after
login is today's work, not every assessment."""

from __future__ import annotations

import re
from datetime import timedelta

from pro_app.clock import utcnow
from tests.support.http import login
from tests.support.kiosk import html


def rows_on(page: str) -> list[str]:
    return re.findall(r'/staff/participants/\d+(?:\?back=[^"]*)?">([^<]+)</a>', page)


def test_assessments_are_searched_filtered_and_paged(client, logged_in_coordinator, create_participant):
    _, study = logged_in_coordinator
    for n in range(1, 16):  # 15 participants x 4 timepoints = 60 assessments
        anchor = utcnow().date() + timedelta(days=2 if n <= 5 else -60)
        create_participant(study, code=f"P-{n:02d}", site_code="BCN" if n % 3 else "MIA", anchor=anchor)
    first = html(client.get("/staff/"))
    assert len(rows_on(first)) == 50 and "Rows 1 to 50 of 60" in first
    assert len(rows_on(html(client.get("/staff/?page=2")))) == 10
    assert rows_on(html(client.get("/staff/?q=P-1"))) == [f"P-1{n}" for n in range(0, 6) for _ in range(4)]
    assert rows_on(html(client.get("/staff/?site=MIA&timepoint=wk12"))) == ["P-03", "P-06", "P-09", "P-12", "P-15"]
    assert rows_on(html(client.get("/staff/?status=open&timepoint=baseline"))) == [f"P-0{n}" for n in range(1, 6)]
    assert rows_on(html(client.get("/staff/?status=missed"))) == [f"P-{n:02d}" for n in range(6, 16)]
    assert client.get("/staff/?status=bogus&page=-3").status_code == 200


def test_login_lands_on_todays_work(client, create_study, create_staff):
    study = create_study()
    staff = create_staff(studies=[study])
    r = login(client, staff.email)
    assert r.headers["Location"].endswith("/staff/today")
