"""Help for patients who need it (issue 10, item 7): a hand-over recorded as assisted, a text size kept for the
patient's own session, and "welcome back" when a patient resumes."""

from __future__ import annotations

import re

import pytest

from pro_app.extensions import db
from pro_app.models import Assessment
from tests.support.exports import frame
from tests.support.http import csrf_token, login
from tests.support.kiosk import (
    answer,
    audit_events,
    continue_intro,
    html,
    issue_code,
    location,
    responses,
    start_with_code,
)

A, B = "PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL"
WELCOME = "Welcome back. Your earlier answers are saved"


@pytest.fixture
def study(create_study):
    return create_study(terms=[17], instruments=["pro_ctcae"])


def hand_over(client, assessment_id: int, **mode):
    token = csrf_token(html(client.get("/staff/")))
    return client.post(f"/staff/assessments/{assessment_id}/start-on-tablet", data={"csrf_token": token, **mode})


def end_by_timeout(client):
    token = csrf_token(html(client.get("/kiosk/a/item/" + B)))
    assert client.post("/kiosk/timeout", data={"csrf_token": token}).status_code == 302


def html_class(page: str) -> str:
    return re.search(r"<html\b[^>]*>", page).group(0)


# --- self or assisted -------------------------------------------------------------------------------------

def test_staff_offer_a_hand_over_with_assistance(client, study, create_staff, create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    login(client, staff.email)
    page = html(client.get("/staff/"))
    form = page[page.find(f'action="/staff/assessments/{assessment_id}/start-on-tablet"'):]
    form = form[:form.find("</form>")]
    assert 'name="mode" value="self"' in form and 'name="mode" value="assisted"' in form
    assert "Start with assistance" in form


def test_an_assisted_hand_over_is_stored_per_answer_per_assessment_audited_and_exported(
        app, client, study, create_staff, create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    login(client, staff.email)
    client.get(location(hand_over(client, assessment_id, mode="assisted")))
    continue_intro(client, "pro_ctcae")
    answer(client, A, 2)
    assert responses(app, assessment_id)[A].mode == "assisted"
    with app.app_context():
        assert db.session.get(Assessment, assessment_id).mode == "assisted"
    [event] = audit_events(app, "assessment.hand_over")
    assert event.new == {"mode": "assisted"}
    items = frame(app, study.code, "items")
    assert items.loc[items["item"] == A, "mode"].tolist() == ["assisted"]


def test_the_patient_typing_a_code_later_answers_by_themselves(app, client, study, create_staff,
                                                              create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    login(client, staff.email)
    client.get(location(hand_over(client, assessment_id, mode="assisted")))
    continue_intro(client, "pro_ctcae")
    answer(client, A, 2)
    end_by_timeout(client)
    start_with_code(client, issue_code(app, assessment_id))
    answer(client, B, 1)
    rows = responses(app, assessment_id)
    assert (rows[A].mode, rows[B].mode) == ("assisted", "self")


def test_a_hand_over_with_an_unknown_mode_is_refused(app, client, study, create_staff, create_participant):
    staff = create_staff(studies=[study])
    assessment_id = create_participant(study).assessments["baseline"]
    login(client, staff.email)
    assert hand_over(client, assessment_id, mode="paper").status_code == 400
    assert client.get("/kiosk/a").status_code == 302 and "m=ended" in location(client.get("/kiosk/a"))
    assert audit_events(app, "assessment.hand_over") == []


# --- text size --------------------------------------------------------------------------------------------

@pytest.fixture
def patient(app, client, study, create_participant):
    assessment_id = create_participant(study).assessments["baseline"]
    start_with_code(client, issue_code(app, assessment_id))
    continue_intro(client, "pro_ctcae")
    return assessment_id


def set_text_size(client, size: str, **headers):
    page = html(client.get(f"/kiosk/a/item/{A}"))
    form = page[page.find('id="text-size-form"'):]
    return client.post("/kiosk/a/text-size", headers=headers,
                       data={"csrf_token": csrf_token(form), "size": size, "next": f"/kiosk/a/item/{A}"})


def test_the_text_size_is_kept_for_the_patient_s_session(client, patient):
    page = html(client.get(f"/kiosk/a/item/{A}"))
    assert 'class="text-' not in html_class(page)
    assert page.count('name="size"') == 3 and 'aria-pressed="true"' in page
    r = set_text_size(client, "larger")
    assert location(r).endswith(f"/kiosk/a/item/{A}")
    for path in (f"/kiosk/a/item/{A}", f"/kiosk/a/item/{B}", "/kiosk/a/review"):
        assert 'class="text-larger"' in html_class(html(client.get(path)))
    assert set_text_size(client, "large", **{"X-Requested-With": "fetch"}).status_code == 204
    assert 'class="text-large"' in html_class(html(client.get(f"/kiosk/a/item/{B}")))


def test_the_next_patient_starts_with_normal_text(app, client, study, create_participant, patient):
    set_text_size(client, "larger")
    end_by_timeout(client)
    assert 'class="text-' not in html_class(html(client.get("/kiosk/")))
    other = create_participant(study, code="P-002").assessments["baseline"]
    start_with_code(client, issue_code(app, other))
    assert 'class="text-' not in html_class(html(client.get("/kiosk/a/intro/pro_ctcae")))


@pytest.mark.parametrize("size", ["huge", "", "normal\nlarge"])
def test_an_unknown_text_size_is_refused(client, patient, size):
    assert set_text_size(client, size).status_code == 400


def test_the_text_size_needs_a_patient_session(client):
    start = html(client.get("/kiosk/"))
    r = client.post("/kiosk/a/text-size", data={"csrf_token": csrf_token(start), "size": "large"})
    assert r.status_code == 302 and "m=ended" in location(r)


def test_the_text_size_goes_back_only_to_a_questionnaire_page(client, patient):
    page = html(client.get(f"/kiosk/a/item/{A}"))
    r = client.post("/kiosk/a/text-size", data={"csrf_token": csrf_token(page), "size": "large",
                                                "next": "//evil.example/kiosk/a"})
    assert location(r).endswith("/kiosk/a")


# --- welcome back -----------------------------------------------------------------------------------------

def test_a_resuming_patient_is_welcomed_back_once(app, client, study, create_participant):
    assessment_id = create_participant(study).assessments["baseline"]
    first = client.get(location(client.post("/kiosk/", data={"code": issue_code(app, assessment_id),
                                                               "csrf_token": csrf_token(html(client.get("/kiosk/")))})),
                       follow_redirects=True)
    assert WELCOME not in html(first)  # a first visit: nothing to welcome back to
    continue_intro(client, "pro_ctcae")
    answer(client, A, 3)
    end_by_timeout(client)

    r = client.post("/kiosk/", data={"code": issue_code(app, assessment_id),
                                     "csrf_token": csrf_token(html(client.get("/kiosk/")))})
    resumed = client.get(location(r), follow_redirects=True)
    assert resumed.request.path == f"/kiosk/a/item/{B}" and WELCOME in html(resumed)
    assert WELCOME not in html(client.get(f"/kiosk/a/item/{B}"))  # said once


def test_the_welcome_back_is_in_spanish_for_a_spanish_speaker(app, client, study, create_participant):
    assessment_id = create_participant(study, language="es").assessments["baseline"]
    start_with_code(client, issue_code(app, assessment_id))
    continue_intro(client, "pro_ctcae")
    answer(client, A, 3)
    end_by_timeout(client)
    r = client.post("/kiosk/", data={"code": issue_code(app, assessment_id),
                                     "csrf_token": csrf_token(html(client.get("/kiosk/")))})
    assert "Le damos la bienvenida de nuevo" in html(client.get(location(r), follow_redirects=True))
