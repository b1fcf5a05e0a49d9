"""Corrections keep the record true: they start from the current answer, can set an answer back to blank,
keep the time it was given, show in the exports, and re-evaluate the assessment's alerts."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Alert, AuditEvent, ItemResponse, Score, Study
from tests.support.exports import export_bytes, read_csv
from tests.support.kiosk import html
from tests.support.staff import CTCAE, c30_paper_answers, correct, paper, site_today


def row_of(app, aid: int, item_id: str) -> ItemResponse:
    with app.app_context():
        row = db.session.scalar(select(ItemResponse).where(ItemResponse.assessment_id == aid,
                                                           ItemResponse.item_id == item_id))
        db.session.expunge(row)
        return row


def alerts_of(app, aid: int) -> dict[str, Alert]:
    with app.app_context():
        alerts = db.session.scalars(select(Alert).where(Alert.assessment_id == aid)).all()
        for a in alerts:
            db.session.expunge(a)
        return {a.source: a for a in alerts}


def composite(app, aid: int, code: str):
    with app.app_context():
        return db.session.scalar(select(Score.value).where(Score.assessment_id == aid, Score.scale_code == code))


def test_the_correction_form_starts_on_the_current_answer(app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    assert paper(client, aid, c30_paper_answers() | CTCAE).status_code == 302  # q29 = 5 on the paper
    page = html(client.get(f"/staff/assessments/{aid}"))
    select_html = re.search(r'<select name="choice" id="choice-q29".*?</select>', page, re.S).group(0)
    selected = re.findall(r'<option value="([^"]*)" selected>', select_html)
    assert selected == ["5"]
    assert 'value="not_answered:declined"' in select_html


def test_a_correction_can_set_an_answer_back_to_blank_and_keeps_the_answer_time(app, client, study, participant,
                                                                               coordinator):
    aid = participant.assessments["baseline"]
    assert paper(client, aid, c30_paper_answers() | CTCAE).status_code == 302
    given = row_of(app, aid, "q29")
    assert correct(client, aid, "q29", "not_answered:entered_in_error",
                   reason="q29 keyed from the wrong patient's form").status_code == 302
    row = row_of(app, aid, "q29")
    assert (row.value, row.state) == (None, "not_reached")
    assert row.answered_at == given.answered_at  # the time it was given stays
    assert row.corrected_at is not None and row.correction_reason == "q29 keyed from the wrong patient's form"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "item.change",
                                                           AuditEvent.entity_id == row.id))
        assert event.old["value"] == 5 and event.new == {"value": None, "option_code": None, "state": "not_reached"}
    # QL2 has two items: one left is half, so it is still scored, from q30 alone
    assert composite(app, aid, "QL2") == (5 - 1) / 6 * 100
    assert correct(client, aid, "q30", "not_answered:declined", reason="Patient left it blank").status_code == 302
    assert row_of(app, aid, "q30").state == "declined"
    assert composite(app, aid, "QL2") is None

    items = read_csv(export_bytes(app, study.code, "items")).set_index("item")
    assert items.at["q29", "corrected"] == 1 and items.at["q1", "corrected"] == 0
    assert items.at["q29", "correction_reason"] == "q29 keyed from the wrong patient's form"
    assert str(items.at["q29", "corrected_at"]).startswith(str(row.corrected_at.year))
    wide = read_csv(export_bytes(app, study.code, "wide")).set_index("timepoint")
    assert wide.at["baseline", "corrected_items"] == "q29 q30"
    page = html(client.get(f"/staff/assessments/{aid}"))
    assert "Corrected" in page and "Patient left it blank" in page


def test_alerts_follow_the_corrected_values(app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    assert paper(client, aid, c30_paper_answers() | CTCAE | {"PROCTCAE_17C_SCL": "3"}).status_code == 302
    assert composite(app, aid, "PROCTCAE_17_COMP") == 3
    grade3 = alerts_of(app, aid)["PROCTCAE_17_COMP"]
    assert (grade3.status, grade3.value) == ("open", 3)
    # corrected to frequency 0: the composite becomes 0, and the grade-3 alert is closed by the correction
    assert correct(client, aid, "PROCTCAE_17A_SCL", "0", reason="Paper says never").status_code == 302
    assert composite(app, aid, "PROCTCAE_17_COMP") == 0
    after = alerts_of(app, aid)["PROCTCAE_17_COMP"]
    assert after.id == grade3.id and after.status == "resolved"
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "alert.resolved_by_correction"))
        assert event.entity_id == grade3.id and event.reason == "Paper says never"
        assert event.user_id == coordinator.id
    assert "resolved by a correction" in html(client.get(f"/staff/assessments/{aid}"))
    # corrected back: frequency "never" had hidden severity and interference (branched), so they are keyed
    # again too; at grade 3 again the same alert is open again, not a second one
    assert correct(client, aid, "PROCTCAE_17A_SCL", "1", reason="Misread: it was rarely").status_code == 302
    assert row_of(app, aid, "PROCTCAE_17B_SCL").state == "not_reached"
    assert alerts_of(app, aid)["PROCTCAE_17_COMP"].status == "resolved"
    for item in ("PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL"):
        assert correct(client, aid, item, "3", reason="Misread: as on the paper").status_code == 302
    assert composite(app, aid, "PROCTCAE_17_COMP") == 3
    alerts = alerts_of(app, aid)
    assert alerts["PROCTCAE_17_COMP"].status == "open" and alerts["PROCTCAE_17_COMP"].id == grade3.id


def test_a_still_open_alert_shows_the_current_value(app, client, study, participant, coordinator):
    with app.app_context():
        db.session.get(Study, study.id).thresholds = {"PA": {"above": 30}}
        db.session.commit()
    aid = participant.assessments["baseline"]
    pain = {"q9": "4", "q19": "4"}  # PA = 100
    assert paper(client, aid, c30_paper_answers() | CTCAE | pain).status_code == 302
    alert = alerts_of(app, aid)["PA"]
    assert (alert.kind, alert.value, alert.status) == ("threshold", 100, "open")
    assert correct(client, aid, "q19", "3", reason="Paper says 3").status_code == 302
    now = alerts_of(app, aid)["PA"]
    assert now.id == alert.id and now.status == "open"
    assert now.value == composite(app, aid, "PA") == ((4 + 3) / 2 - 1) / 3 * 100


def test_a_correction_to_another_value_keeps_the_time_it_was_answered_and_adds_its_own(
        app, client, study, participant, coordinator):
    """The issue's "a correction overwrites answered_at": the paper's date stays the answer's time (exports'
    answered_at), the correction has its own time and reason."""
    aid = participant.assessments["baseline"]
    on_paper = site_today() - timedelta(days=2)
    assert paper(client, aid, c30_paper_answers() | CTCAE, completed_on=on_paper).status_code == 302
    given = row_of(app, aid, "q29")
    assert correct(client, aid, "q29", "6", reason="Paper says 6").status_code == 302
    row = row_of(app, aid, "q29")
    assert (row.value, row.state) == (6, "answered")
    assert row.answered_at == given.answered_at and row.corrected_at > row.answered_at
    items = read_csv(export_bytes(app, study.code, "items")).set_index("item")
    assert str(items.at["q29", "answered_at"])[:10] == str(on_paper)
    assert items.at["q29", "corrected"] == 1 and items.at["q29", "correction_reason"] == "Paper says 6"
