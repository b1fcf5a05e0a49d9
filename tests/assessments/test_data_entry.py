"""Staff data entry that keeps the record true: no silent overwrite, the real actor and reason, corrections,
not done and reopen, partial assessments."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pro_app.assessments import answers
from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import Assessment, AuditEvent, ItemResponse
from tests.support.kiosk import html, location
from tests.support.staff import CTCAE, c30_paper_answers, paper


def tablet_answers(app, aid: int, given: dict[str, int]) -> None:
    """The patient answers some items on the tablet (the kiosk's own recording path)."""
    with app.app_context():
        a = db.session.get(Assessment, aid)
        for item_id, value in given.items():
            instrument = get_instrument("pro_ctcae" if item_id.startswith("PROCTCAE") else "qlq_c30")
            answers.record(a, instrument, item_id, value=value, option_code=None, state="answered",
                           language="en", mode="self", actor="patient")
        db.session.commit()


def rows_of(app, aid: int) -> dict[str, ItemResponse]:
    with app.app_context():
        return {r.item_id: r for r in db.session.scalars(select(ItemResponse).where(ItemResponse.assessment_id == aid))}


# --- no silent overwrite --------------------------------------------------------------------------------

def test_paper_over_tablet_answers_lists_each_change_and_saves_nothing_without_reasons(
        app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    tablet_answers(app, aid, {"q1": 2, "q2": 3, "q3": 1})
    given = c30_paper_answers() | CTCAE | {"q1": "", "q2": "4", "q3": "2"}
    r = paper(client, aid, given)
    assert r.status_code == 200
    page = html(r)
    assert 'id="change-q2"' in page and 'id="change-q3"' in page and 'name="reason-q2"' in page
    # q1 is blank on the paper: the patient's tablet answer stays, it is no change to give a reason for
    assert 'id="change-q1"' not in page and "Declined" not in page
    rows = rows_of(app, aid)
    assert (rows["q1"].value, rows["q2"].value) == (2, 3) and "q4" not in rows
    with app.app_context():
        assert db.session.get(Assessment, aid).status == "in_progress"
    # one reason missing: still nothing saved
    r = paper(client, aid, given | {"reason-q2": "Paper is the source"})
    assert r.status_code == 200 and 'id="change-q3"' in html(r)
    assert rows_of(app, aid)["q2"].value == 3


def test_paper_over_tablet_answers_with_reasons_audits_the_real_actor_and_each_reason(
        app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    tablet_answers(app, aid, {"q1": 2, "q2": 3})
    given = c30_paper_answers() | CTCAE | {"q1": "", "q2": "4"}
    r = paper(client, aid, given | {"reason-q2": "Paper is the source"})
    assert location(r).endswith(f"/staff/assessments/{aid}")
    rows = rows_of(app, aid)
    assert (rows["q1"].state, rows["q1"].value, rows["q1"].mode) == ("answered", 2, "self")  # blank kept it
    assert (rows["q2"].value, rows["q2"].mode) == (4, "paper")
    with app.app_context():
        events = {e.old["item"]: e for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "item.change"))}
        assert set(events) == {"q2"} and events["q2"].reason == "Paper is the source"
        assert {e.actor for e in events.values()} == {"user"}
        assert {e.user_id for e in events.values()} == {coordinator.id}
        assert not db.session.scalars(select(AuditEvent).where(AuditEvent.reason == "changed by the patient")).all()


def test_paper_matching_the_tablet_needs_no_reason(app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    tablet_answers(app, aid, {"q1": 2, "q2": 3})
    assert paper(client, aid, c30_paper_answers() | CTCAE).status_code == 302  # C30_EXAMPLE starts 2, 3


def test_a_staff_change_without_a_reason_is_refused(app, participant):
    aid = participant.assessments["baseline"]
    tablet_answers(app, aid, {"q1": 2})
    with app.app_context():
        a = db.session.get(Assessment, aid)
        with pytest.raises(ValueError):
            answers.record(a, get_instrument("qlq_c30"), "q1", value=3, option_code=None, state="answered",
                           language="en", mode="paper", actor="user", user_id=None)
        db.session.rollback()
    assert rows_of(app, aid)["q1"].value == 2


def test_a_tablet_answer_the_paper_hides_by_branching_is_audited_with_its_own_reason(
        app, client, participant, coordinator):
    """Each change needs its own reason (Deliver 3): the paper's "Never" for abdominal pain hides the
    patient's tablet severity; the audit row of that severity carries the reason given for it, not the one
    given for the frequency."""
    aid = participant.assessments["baseline"]
    tablet_answers(app, aid, {"PROCTCAE_17A_SCL": 2, "PROCTCAE_17B_SCL": 3})
    given = c30_paper_answers() | CTCAE | {"PROCTCAE_17A_SCL": "0", "PROCTCAE_17B_SCL": "", "PROCTCAE_17C_SCL": ""}
    r = paper(client, aid, given)
    assert 'id="change-PROCTCAE_17A_SCL"' in html(r) and 'id="change-PROCTCAE_17B_SCL"' in html(r)
    reasons = {"reason-PROCTCAE_17A_SCL": "Paper says never",
               "reason-PROCTCAE_17B_SCL": "Severity not asked on paper after never"}
    assert location(paper(client, aid, given | reasons)).endswith(f"/staff/assessments/{aid}")
    rows = rows_of(app, aid)
    assert (rows["PROCTCAE_17A_SCL"].value, rows["PROCTCAE_17B_SCL"].state) == (0, "branched")
    with app.app_context():
        events = {e.old["item"]: e for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.entity == "item_response", AuditEvent.actor == "user"))}
        assert events["PROCTCAE_17A_SCL"].reason == "Paper says never"
        assert events["PROCTCAE_17B_SCL"].reason == "Severity not asked on paper after never"
        assert events["PROCTCAE_17B_SCL"].user_id == coordinator.id
