"""A staff form whose CSRF token has expired (or is missing) is shown again with what was typed and a clear
message, not a bare 400 page that loses a whole paper questionnaire; nothing is saved until it is sent again."""

from __future__ import annotations

import re
import time

from sqlalchemy import func, select

from pro_app.extensions import db
from pro_app.models import ItemResponse, Participant, User
from tests.support.http import csrf_token, login
from tests.support.kiosk import html, location
from tests.support.staff import c30_paper_answers, site_today

EXPIRED = "This page had been open too long, so nothing was saved."


def selected(page: str, field: str) -> str | None:
    """The value chosen for `field`: its checked radio button (the paper form's rows), or its selected option."""
    for radio in re.findall(rf'<input\b[^>]*name="{re.escape(field)}"[^>]*>', page):
        if re.search(r"\bchecked\b", radio) and 'type="radio"' in radio:
            return re.search(r'value="([^"]*)"', radio).group(1)
    found = re.search(rf'<select[^>]*name="{re.escape(field)}"[^>]*>(.*?)</select>', page, flags=re.S)
    if found is None:
        return None
    match = re.search(r'<option selected value="([^"]*)"', found.group(1)) or re.search(
        r'<option value="([^"]*)" selected', found.group(1))
    return match.group(1) if match else None


def answers_stored(app, assessment_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ItemResponse)
                                 .where(ItemResponse.assessment_id == assessment_id))


def test_an_expired_token_on_the_paper_form_keeps_every_answer_typed(app, client, logged_in_coordinator,
                                                                     create_participant):
    _, study = logged_in_coordinator
    assessment_id = create_participant(study, code="P-PAPER").assessments["baseline"]
    url = f"/staff/assessments/{assessment_id}/paper"
    token = csrf_token(html(client.get(url)))
    typed = c30_paper_answers()
    app.config["WTF_CSRF_TIME_LIMIT"] = 1  # the coordinator took longer than the token lives
    time.sleep(2.1)
    header = {"completed_on": site_today().isoformat(), "mode": "paper", "administered_by": "Nurse A. Ruiz"}
    r = client.post(url, data={"csrf_token": token, "language": "en"} | header | typed)
    assert r.status_code == 400
    page = html(r)
    assert EXPIRED in page
    assert all(selected(page, item) == value for item, value in typed.items())
    assert answers_stored(app, assessment_id) == 0

    # Sent again from the page shown (a fresh token), it is saved.
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    assert selected(page, "mode") == "paper" and 'value="Nurse A. Ruiz"' in page
    r = client.post(url, data={"csrf_token": csrf_token(page), "language": "en"} | header | typed)
    assert location(r).endswith(f"/staff/assessments/{assessment_id}")
    assert answers_stored(app, assessment_id) > 0


def test_a_missing_token_on_the_enrolment_form_keeps_what_was_typed_and_enrols_no_one(app, client,
                                                                                      logged_in_coordinator):
    _, study = logged_in_coordinator
    url = f"/staff/studies/{study.code}/participants/new"
    client.get(url)
    r = client.post(url, data={"study_code": "P-TYPED-42", "language": "es", "anchor_date": "2026-12-24"})
    assert r.status_code == 400
    page = html(r)
    assert EXPIRED in page
    assert 'value="P-TYPED-42"' in page and 'value="2026-12-24"' in page
    assert 'name="csrf_token"' in page  # a fresh token, so sending it again works
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 0


def test_the_admin_forms_are_refused_the_same_way_without_creating_anything(app, client, create_staff):
    admin = create_staff(email="admin@example.org", role="admin")
    login(client, admin.email)
    client.get("/staff/admin/users/new")
    r = client.post("/staff/admin/users/new", data={"email": "typed@example.org", "role": "analyst",
                                                    "password": "quiet violet harbour lamp"})
    assert r.status_code == 400 and EXPIRED in html(r) and 'value="typed@example.org"' in html(r)
    with app.app_context():
        assert db.session.scalars(select(User.email)).all() == ["admin@example.org"]


def test_without_a_staff_session_an_expired_form_still_goes_to_the_login(app, client, create_study):
    study = create_study()
    r = client.post(f"/staff/studies/{study.code}/participants/new", data={"study_code": "P-1"})
    assert "/staff/login" in location(r)


def test_an_expired_token_on_a_page_the_user_may_not_see_is_a_404_not_a_500(app, client, create_study,
                                                                            create_participant, create_staff):
    """Found by tests/security/test_fuzz.py: the form shown again after a bad token is the view run again,
    and a view that refuses (another study's participant) must answer as it always does."""
    mine, other = create_study(), create_study(code="NCT0000002")
    create_participant(mine)
    theirs = create_participant(other, code="Q-001")
    assert login(client, create_staff(studies=[mine]).email).status_code == 302
    assert client.post(f"/staff/participants/{theirs.id}/edit", data={}).status_code == 404
