"""A patient completes a short assessment with a code: every answer stored, scores and alerts on submit."""

from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Alert, Assessment, ItemResponse, Score
from pro_app.security import codes
from tests.support.http import csrf_token


def test_complete_an_assessment_with_a_code(app, client, create_study, create_participant):
    study = create_study(terms=[17], instruments=["pro_ctcae"])
    participant = create_participant(study, language="es")
    assessment_id = participant.assessments["baseline"]
    with app.app_context():
        code = codes.issue(db.session.get(Assessment, assessment_id), None)
        db.session.commit()

    start = client.get("/kiosk/")
    r = client.post("/kiosk/", data={"code": code.lower(), "csrf_token": csrf_token(start.get_data(as_text=True))})
    assert r.status_code == 302
    page = client.get(r.headers["Location"], follow_redirects=True)
    html = page.get_data(as_text=True)
    assert '<html lang="es">' in html  # preselected from the participant
    r = client.post(page.request.path, data={"csrf_token": csrf_token(html)})
    assert r.headers["Location"].endswith("/kiosk/a/item/PROCTCAE_17A_SCL")
    for item_id, value in [("PROCTCAE_17A_SCL", "3"), ("PROCTCAE_17B_SCL", "3"), ("PROCTCAE_17C_SCL", "4")]:
        html = client.get(f"/kiosk/a/item/{item_id}").get_data(as_text=True)
        r = client.post(f"/kiosk/a/item/{item_id}", data={"choice": value, "action": "next",
                                                           "csrf_token": csrf_token(html)})
        assert r.status_code == 302
    assert r.headers["Location"].endswith("/kiosk/a/review")
    html = client.get("/kiosk/a/review").get_data(as_text=True)
    r = client.post("/kiosk/a/submit", data={"csrf_token": csrf_token(html)})
    assert r.headers["Location"].endswith("/kiosk/thanks")

    with app.app_context():
        assert db.session.get(Assessment, assessment_id).status == "completed"
        rows = db.session.scalars(select(ItemResponse).where(ItemResponse.assessment_id == assessment_id)).all()
        assert {(r.item_id, r.value, r.state, r.language) for r in rows} == {
            ("PROCTCAE_17A_SCL", 3, "answered", "es"), ("PROCTCAE_17B_SCL", 3, "answered", "es"),
            ("PROCTCAE_17C_SCL", 4, "answered", "es")}
        score = db.session.scalar(select(Score).where(Score.assessment_id == assessment_id))
        assert (score.scale_code, score.value, score.status) == ("PROCTCAE_17_COMP", 3.0, "scored")
        kinds = {(a.kind, a.source) for a in db.session.scalars(select(Alert)).all()}
        assert kinds == {("grade_at_least", "PROCTCAE_17_COMP"), ("item_value", "PROCTCAE_17C_SCL")}
    # After submit the questionnaire pages show nothing: back to the start screen.
    after = client.get("/kiosk/a/item/PROCTCAE_17A_SCL")
    assert after.status_code == 302 and "/kiosk/?m=ended" in after.headers["Location"]
