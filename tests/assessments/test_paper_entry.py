"""A paper form keyed in records the truth: the date on the paper (bounded, outside the window only when
confirmed), the mode and who administered it; completed_at and the answers' times follow the paper, the
keying time and the staff member who keyed it are kept beside them, and the exports carry all of it."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, ItemResponse, Participant
from tests.support.exports import export_bytes, read_csv
from tests.support.http import login
from tests.support.kiosk import html, location
from tests.support.staff import CTCAE, c30_paper_answers, paper, site_today


def week12_missed(create_participant, study):
    """DEMO-008's case: its week-12 window (target day 84, 14 days either side) closed 8 days ago, and the paper
    form dated inside it is keyed in only now."""
    anchor = site_today() - timedelta(days=84 + 14 + 8)
    return create_participant(study, code="DEMO-008", anchor=anchor)


def test_the_paper_date_drives_completed_at_the_answer_times_and_the_in_window_flags(
        app, client, study, create_participant, coordinator):
    p = week12_missed(create_participant, study)
    aid = p.assessments["wk12"]
    with app.app_context():
        a = db.session.get(Assessment, aid)
        target, start, end = a.target_date, a.window_start, a.window_end
    on_paper = end - timedelta(days=2)  # Nov 21 in a window of Oct 26 - Nov 23, keyed on Dec 1
    r = paper(client, aid, c30_paper_answers() | CTCAE, completed_on=on_paper, mode="assisted",
              administered_by="Nurse J. Ruiz")
    assert location(r).endswith(f"/staff/assessments/{aid}")
    with app.app_context():
        a = db.session.get(Assessment, aid)
        zone = a.participant.site.timezone
        assert a.status == "completed" and a.completed_at.astimezone(ZoneInfo(zone)).date() == on_paper
        assert a.keyed_at.astimezone(ZoneInfo(zone)).date() == site_today()
        assert (a.mode, a.administered_by, a.entered_by_id) == ("assisted", "Nurse J. Ruiz", coordinator.id)
        times = {r.answered_at.astimezone(ZoneInfo(zone)).date() for r in db.session.scalars(
            select(ItemResponse).where(ItemResponse.assessment_id == aid))}
        modes = set(db.session.scalars(select(ItemResponse.mode).where(ItemResponse.assessment_id == aid)))
        assert times == {on_paper} and modes == {"assisted"}
        entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assessment.paper_entry"))
        assert entry.user_id == coordinator.id and entry.new["completed_on"] == on_paper.isoformat()
    scores = read_csv(export_bytes(app, study.code, "scores"))
    wk12 = scores[scores["timepoint"] == "wk12"]
    assert set(wk12["days_from_target"]) == {(on_paper - target).days} == {12}  # not 22 (the keying day)
    assert set(wk12["in_window"]) == {1}
    assert start <= on_paper <= end
    wide = read_csv(export_bytes(app, study.code, "wide")).set_index("timepoint").loc["wk12"]
    assert wide["mode"] == "assisted" and wide["administered_by"] == "Nurse J. Ruiz"
    assert wide["entered_by"] == coordinator.email and str(wide["keyed_at"]).startswith(str(site_today())[:4])
    assert str(wide["completed_at"]).startswith(on_paper.isoformat()[:10])


def test_a_paper_date_in_the_future_or_before_enrolment_is_refused_and_nothing_is_stored(
        app, client, participant, coordinator):
    aid = participant.assessments["baseline"]
    given = c30_paper_answers() | CTCAE
    r = paper(client, aid, given, completed_on=site_today() + timedelta(days=1))
    assert r.status_code == 400 and "cannot be later than today" in html(r)
    with app.app_context():
        p = db.session.get(Participant, participant.id)
        p.consent_date = site_today() - timedelta(days=3)
        db.session.commit()
    r = paper(client, aid, given, completed_on=site_today() - timedelta(days=4), confirm_outside=True)
    assert r.status_code == 400 and "before the participant" in html(r)
    r = paper(client, aid, given | {"completed_on": ""})
    assert r.status_code == 400 and "date written on the paper" in html(r)
    r = paper(client, aid, given, administered_by="")
    assert r.status_code == 400 and "who gave the patient the form" in html(r)
    with app.app_context():
        assert db.session.get(Assessment, aid).status == "scheduled"
        assert not db.session.scalars(select(ItemResponse)).all()


def test_a_paper_date_outside_the_window_is_saved_only_once_confirmed_and_flagged_out_of_window(
        app, client, study, create_participant, coordinator):
    p = week12_missed(create_participant, study)
    aid = p.assessments["wk12"]
    late = site_today() - timedelta(days=1)  # after the window closed
    r = paper(client, aid, c30_paper_answers() | CTCAE, completed_on=late)
    assert r.status_code == 200 and 'data-testid="outside-window"' in html(r)
    with app.app_context():
        assert db.session.get(Assessment, aid).status == "scheduled"
    r = paper(client, aid, c30_paper_answers() | CTCAE, completed_on=late, confirm_outside=True)
    assert r.status_code == 302
    scores = read_csv(export_bytes(app, study.code, "scores"))
    assert set(scores.loc[scores["timepoint"] == "wk12", "in_window"]) == {0}
    with app.app_context():
        entry = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "assessment.paper_entry"))
        assert entry.new["outside_window_confirmed"] is True and entry.new["in_window"] is False


def test_the_paper_form_is_radio_rows_with_the_numbers_of_the_paper_and_proctcae_by_term_and_attribute(
        app, client, participant, coordinator):
    page = html(client.get(f"/staff/assessments/{participant.assessments['baseline']}/paper"))
    assert "<select" not in page.split('name="language"')[1].split("</select>")[1]  # items are not dropdowns
    q1 = re.findall(r'<input type="radio" class="paper-radio" name="q1"[^>]*data-key="(\w)"', page)
    assert q1 == ["1", "2", "3", "4"]
    q29 = re.findall(r'name="q29"[^>]*data-key="(\w)"', page)
    assert q29 == [str(n) for n in range(1, 8)]
    nums = re.findall(r'<span class="paper-num">([^<]+)</span>\s*<span class="paper-heading">([^<]+)</span>', page)
    ctcae = [(n, h) for n, h in nums if n[0].isdigit() and n[-1].isalpha()]
    assert ("17a", "Abdominal pain: frequency") in ctcae and ("17b", "Abdominal pain: severity") in ctcae
    assert ("17c", "Abdominal pain: interference") in ctcae
    assert not any(h.startswith("17.") or h == "17" for _n, h in ctcae)  # not the term number twice
    assert re.search(r'data-item="PROCTCAE_17B_SCL" data-skip=\'\[\["PROCTCAE_17A_SCL", \[0\]\]\]\'', page)
    assert 'type="date"' in page and 'name="administered_by"' in page and 'name="mode"' in page


def test_a_blank_item_its_gate_rules_out_is_not_applicable_as_on_the_tablet_not_declined(
        app, client, create_study, create_participant, create_staff):
    """q34 "Not at all" (no hair loss) makes q35 not applicable; q45 "Not at all" (no sexual activity) makes
    q46, q72 and q73 so. Left blank on the paper as it tells the patient, they are not refusals."""
    study = create_study(code="NCT0000002", instruments=["qlq_br45"])
    p = create_participant(study)
    user = create_staff(email="gate@example.org", studies=[study])
    assert login(client, user.email).status_code == 302
    br45 = {f"q{n}": "2" for n in range(31, 76)} | {"q34": "1", "q45": "1"}
    for gated in ("q35", "q46", "q72", "q73"):
        del br45[gated]
    aid = p.assessments["baseline"]
    assert paper(client, aid, br45).status_code == 302
    with app.app_context():
        states = {r.item_id: r.state for r in db.session.scalars(
            select(ItemResponse).where(ItemResponse.assessment_id == aid))}
    assert {i: states[i] for i in ("q35", "q46", "q72", "q73")} == dict.fromkeys(
        ("q35", "q46", "q72", "q73"), "not_applicable")
    assert states["q36"] == "answered"
    items = read_csv(export_bytes(app, study.code, "items")).set_index("item")
    assert items.loc["q35", "state"] == "not_applicable"
