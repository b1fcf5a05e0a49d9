"""Staff actions on one assessment: not done with a reason, paper entry, viewing, correcting an answer."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.instruments import get_instrument, score
from pro_app.models import Alert, Assessment, AuditEvent, ItemResponse, Score
from tests.support.http import csrf_token, login
from tests.support.kiosk import enter_code, html, issue_code, location
from tests.support.staff import C30_EXPECTED, CTCAE, c30_paper_answers, correct, not_done, paper


def stored_scores(app, assessment_id: int) -> dict[str, float | None]:
    with app.app_context():
        return {s.scale_code: s.value for s in db.session.scalars(
            select(Score).where(Score.assessment_id == assessment_id))}


# --- not done -------------------------------------------------------------------------------------------

def test_not_done_with_a_reason_is_audited_and_closes_the_kiosk(app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    code = issue_code(app, aid)
    assert not_done(client, aid, "other").status_code == 400  # "other" needs a note
    r = not_done(client, aid, "too_ill", "Admitted to hospital")
    assert location(r).endswith(f"/staff/assessments/{aid}")
    with app.app_context():
        a = db.session.get(Assessment, aid)
        assert (a.status, a.not_done_reason, a.not_done_note) == ("not_done", "too_ill", "Admitted to hospital")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assessment.not_done"))
        assert event.reason == "too_ill" and event.user_id == coordinator.id and event.old == {"status": "scheduled"}
    page = html(client.get(f"/staff/assessments/{aid}"))
    assert "Too ill" in page and "Admitted to hospital" in page
    assert not_done(client, aid, "patient_refused").status_code == 409
    token = csrf_token(page)
    assert client.post(f"/staff/assessments/{aid}/start-on-tablet", data={"csrf_token": token}).status_code == 409
    assert client.get(f"/staff/assessments/{aid}/paper").status_code == 409
    patient = app.test_client()
    r = enter_code(patient, code)
    assert r.status_code != 302 or "/kiosk/a" not in r.headers.get("Location", "")


def test_unknown_not_done_reason_is_refused(app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    assert not_done(client, aid, "bored").status_code == 400
    with app.app_context():
        assert db.session.get(Assessment, aid).status == "scheduled"


# --- paper entry ----------------------------------------------------------------------------------------

def test_paper_entry_scores_like_the_library(app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    page = html(client.get(f"/staff/assessments/{aid}/paper"))
    assert 'name="q30"' in page and 'name="PROCTCAE_17C_SCL"' in page
    r = paper(client, aid, c30_paper_answers() | CTCAE)
    assert location(r).endswith(f"/staff/assessments/{aid}")
    scores = stored_scores(app, aid)
    for code, expected in C30_EXPECTED.items():
        assert scores[code] == pytest.approx(expected, abs=0.01), code
    library = score(get_instrument("qlq_c30"), pd.DataFrame([{k: float(v) for k, v in c30_paper_answers().items()}]))
    for code in C30_EXPECTED:
        assert scores[code] == pytest.approx(float(library.values[code].iloc[0]), abs=1e-9)
    assert scores["PROCTCAE_17_COMP"] == 2
    with app.app_context():
        a = db.session.get(Assessment, aid)
        assert a.status == "completed" and a.mode == "paper"
        assert {r.mode for r in a.responses} == {"paper"}
        assert len(a.responses) == 34
    page = html(client.get(f"/staff/assessments/{aid}"))
    assert "66.7" in page and "Paper" in page
    assert client.get(f"/staff/assessments/{aid}/paper").status_code == 409


def test_paper_entry_blank_is_declined_and_branching_applies(app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    given = c30_paper_answers() | {"q2": "", "q4": ""} | {"PROCTCAE_17A_SCL": "0", "PROCTCAE_17B_SCL": "3",
                                                    "PROCTCAE_1A_SCL": ""}
    assert paper(client, aid, given).status_code == 302
    with app.app_context():
        states = {r.item_id: r.state for r in db.session.scalars(
            select(ItemResponse).where(ItemResponse.assessment_id == aid))}
    assert states["q2"] == states["q4"] == "declined"
    assert states["PROCTCAE_17B_SCL"] == states["PROCTCAE_17C_SCL"] == "branched"  # frequency Never
    assert states["PROCTCAE_1A_SCL"] == "declined"
    scores = stored_scores(app, aid)
    assert scores["PF2"] == pytest.approx(77.78, abs=0.01)
    assert scores["PROCTCAE_17_COMP"] == 0


def test_paper_entry_with_an_invalid_choice_names_the_item_and_stores_nothing(app, client, participant,
                                                                              coordinator):
    aid = participant.assessments["baseline"]
    r = paper(client, aid, c30_paper_answers() | {"q3": "9"})
    assert r.status_code == 400
    page = html(r)
    assert 'href="#row-q3"' in page and "not one of the item" in page
    with app.app_context():
        assert db.session.scalars(select(ItemResponse).where(ItemResponse.assessment_id == aid)).all() == []
        assert db.session.get(Assessment, aid).status == "scheduled"


def test_completed_assessment_cannot_be_paper_entered_again(client, participant, coordinator):
    aid = participant.assessments["baseline"]
    page = html(client.get(f"/staff/assessments/{aid}/paper"))
    assert paper(client, aid, c30_paper_answers() | CTCAE).status_code == 302
    r = client.post(f"/staff/assessments/{aid}/paper", data={"csrf_token": csrf_token(page)} | c30_paper_answers())
    assert r.status_code == 409


# --- corrections ----------------------------------------------------------------------------------------

def test_correction_keeps_the_original_and_rescores(app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    assert paper(client, aid, c30_paper_answers() | CTCAE).status_code == 302
    assert correct(client, aid, "q29", "7", reason="").status_code == 400
    assert correct(client, aid, "q29", "12").status_code == 400
    r = correct(client, aid, "q29", "7", reason="Paper says 7")
    assert r.status_code == 302
    scores = stored_scores(app, aid)
    assert scores["QL2"] == pytest.approx((6 - 1) / 6 * 100)
    with app.app_context():
        row = db.session.scalar(select(ItemResponse).where(ItemResponse.assessment_id == aid,
                                                           ItemResponse.item_id == "q29"))
        assert (row.value, row.mode) == (7, "paper")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "item.change",
                                                           AuditEvent.entity_id == row.id))
        assert event.old["value"] == 5 and event.new["value"] == 7 and event.reason == "Paper says 7"
        assert event.user_id == coordinator.id
        rescore = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assessment.rescore"))
        assert rescore.new["changed"]["QL2"][0] == pytest.approx(200 / 3)
        assert db.session.get(Assessment, aid).status == "completed"
    page = html(client.get(f"/staff/assessments/{aid}"))
    assert "Paper says 7" in page


def test_correction_to_grade_3_raises_one_alert(app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    assert paper(client, aid, c30_paper_answers() | CTCAE).status_code == 302
    with app.app_context():
        before = db.session.scalars(select(Alert).where(Alert.assessment_id == aid)).all()
        assert not [a for a in before if a.kind == "grade_at_least"]
        before_count = len(before)
    assert correct(client, aid, "PROCTCAE_17C_SCL", "3").status_code == 302
    assert stored_scores(app, aid)["PROCTCAE_17_COMP"] == 3
    assert correct(client, aid, "PROCTCAE_17A_SCL", "2").status_code == 302  # still grade 3: no second alert
    assert stored_scores(app, aid)["PROCTCAE_17_COMP"] == 3
    with app.app_context():
        alerts = db.session.scalars(select(Alert).where(Alert.assessment_id == aid)).all()
        grade3 = [a for a in alerts if a.kind == "grade_at_least"]
        assert len(grade3) == 1 and grade3[0].source == "PROCTCAE_17_COMP"
        assert len(alerts) == before_count + 1


def test_correction_only_on_completed_assessments(client, participant, coordinator):
    aid = participant.assessments["baseline"]
    page = html(client.get("/staff/"))
    r = client.post(f"/staff/assessments/{aid}/answers/q1/correct",
                    data={"csrf_token": csrf_token(page), "choice": "2", "reason": "x"})
    assert r.status_code in (404, 409)  # no plan yet: the item is not part of it


# --- access ---------------------------------------------------------------------------------------------

def test_access_matrix(app, client, study, participant, create_study, create_staff, coordinator):
    aid = participant.assessments["baseline"]
    assert paper(client, aid, c30_paper_answers() | CTCAE).status_code == 302
    open_aid = participant.assessments["wk12"]
    other = create_study(code="NCT0000002")
    outsider = create_staff(email="outsider@example.org", studies=[other])
    analyst = create_staff(email="analyst@example.org", role="analyst", studies=[study])

    b = app.test_client()
    assert login(b, analyst.email).status_code == 302
    page = html(b.get(f"/staff/assessments/{aid}"))
    assert "66.7" in page and "/correct" not in page
    token = csrf_token(page)
    assert b.get(f"/staff/assessments/{open_aid}/paper").status_code == 403
    assert b.post(f"/staff/assessments/{open_aid}/paper", data={"csrf_token": token}).status_code == 403
    assert b.post(f"/staff/assessments/{open_aid}/not-done",
                  data={"csrf_token": token, "reason": "too_ill"}).status_code == 403
    assert b.post(f"/staff/assessments/{aid}/answers/q1/correct",
                  data={"csrf_token": token, "choice": "1", "reason": "x"}).status_code == 403

    c = app.test_client()
    assert login(c, outsider.email).status_code == 302
    token = csrf_token(html(c.get("/staff/")))
    assert c.get(f"/staff/assessments/{aid}").status_code == 404
    assert c.get(f"/staff/assessments/{open_aid}/paper").status_code == 404
    assert c.post(f"/staff/assessments/{open_aid}/not-done",
                  data={"csrf_token": token, "reason": "too_ill"}).status_code == 404
    assert c.post(f"/staff/assessments/{aid}/answers/q1/correct",
                  data={"csrf_token": token, "choice": "1", "reason": "x"}).status_code == 404
    assert client.get("/staff/assessments/999999").status_code == 404

    anonymous = app.test_client()
    assert "/staff/login" in location(anonymous.get(f"/staff/assessments/{aid}"))
    with app.app_context():
        assert db.session.get(Assessment, open_aid).status == "scheduled"
        assert not math.isnan(db.session.scalar(select(Score.value).where(Score.assessment_id == aid,
                                                                          Score.scale_code == "QL2")))


def test_site_grant_limits_what_a_coordinator_sees(app, study, create_participant, create_staff):
    from pro_app.models import Site, StudyGrant, User
    miami = create_participant(study, code="P-MIA", site_code="MIA")
    user = create_staff(email="bcn@example.org", studies=[study])
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == "BCN"))
        grant = db.session.scalar(select(StudyGrant).where(StudyGrant.user_id == user.id))
        grant.site_id = site.id
        db.session.commit()
        assert db.session.get(User, user.id)
    b = app.test_client()
    assert login(b, user.email).status_code == 302
    assert b.get(f"/staff/assessments/{miami.assessments['baseline']}").status_code == 404
    assert b.get(f"/staff/assessments/{miami.assessments['baseline']}/paper").status_code == 404
