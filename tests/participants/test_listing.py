"""The participants list scales: search by code, filters (site, arm, state) and paging; after issuing a code,
Back returns to the page the code was issued from (the participant), not the global list."""

from __future__ import annotations

import re

from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Participant, Study
from tests.participants.test_participants import coordinator, study  # noqa: F401
from tests.support.http import csrf_token
from tests.support.kiosk import html


def codes_on(page: str) -> list[str]:
    return re.findall(r'/staff/participants/\d+(?:\?back=[^"]*)?">([^<]+)</a>', page)


def test_search_filters_and_paging(app, client, study, coordinator, create_participant):  # noqa: F811
    for n in range(1, 61):
        create_participant(study, code=f"P-{n:03d}", site_code="BCN" if n % 2 else "MIA")
    with app.app_context():
        db.session.get(Study, study.id).arms = ["A", "B"]
        for p in db.session.scalars(select(Participant)):
            p.arm = "A" if int(p.study_code[2:]) <= 10 else "B"
            if p.study_code == "P-007":
                p.status = "withdrawn"
        db.session.commit()
    url = f"/staff/studies/{study.code}/participants"
    first = html(client.get(url))
    assert len(codes_on(first)) == 50 and "Rows 1 to 50 of 60" in first
    second = html(client.get(url + "?page=2"))
    assert codes_on(second) == [f"P-{n:03d}" for n in range(51, 61)]
    assert codes_on(html(client.get(url + "?q=p-05"))) == [f"P-{n:03d}" for n in range(50, 60)]
    assert codes_on(html(client.get(url + "?q=%25"))) == []  # a wildcard typed is text, not "everything"
    assert codes_on(html(client.get(url + "?arm=A&site=BCN"))) == ["P-001", "P-003", "P-005", "P-007", "P-009"]
    assert codes_on(html(client.get(url + "?status=withdrawn"))) == ["P-007"]
    assert client.get(url + "?page=x").status_code == 200
    assert "Rows 51 to 60 of 60" in html(client.get(url + "?page=99"))
    assert "No participant matches these filters." in html(client.get(url + "?q=nobody"))


def test_back_after_issuing_a_code_returns_to_the_participant(app, client, study, coordinator,  # noqa: F811
                                                              create_participant):
    participant = create_participant(study)
    detail = f"/staff/participants/{participant.id}"
    page = html(client.get(detail))
    assert 'name="back"' in page
    r = client.post(f"/staff/assessments/{participant.assessments['baseline']}/code",
                    data={"csrf_token": csrf_token(page), "back": detail})
    assert r.status_code == 200
    assert f'href="{detail}">Back<' in html(r)
    r = client.post(f"/staff/assessments/{participant.assessments['baseline']}/code",
                    data={"csrf_token": csrf_token(page), "back": "https://evil.example/staff/"})
    assert f'href="{detail}">Back<' in html(r)  # never another site
