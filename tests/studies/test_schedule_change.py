"""A changed schedule of a live study goes through a preview: which participants' not-yet-started
assessments move (from which date to which), how many keep their dates or are added; a reason and a
confirmation are required, nothing moves before, and the audit record keeps the reason and the counts.
The same holds for a YAML import over a live study."""

from __future__ import annotations

import re
from datetime import timedelta

import yaml
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, Participant, Study
from tests.studies.test_studies import admin, confirm, errors_of, post, study_form  # noqa: F401
from tests.support.http import csrf_token, login
from tests.support.kiosk import html


def _dates(app, participant) -> dict:
    with app.app_context():
        return {code: db.session.get(Assessment, i).target_date for code, i in participant.assessments.items()}


def _shifted_form(client, code: str, days: int = 7, timepoints=("wk12",), add: bool = False, **changes) -> dict:
    definition = yaml.safe_load(client.get(f"/staff/studies/{code}/export.yaml").get_data(as_text=True))
    for tp in definition["timepoints"]:
        if tp["code"] in timepoints:
            tp["target_day"] += days
    if add:
        definition["timepoints"].append({"code": "fu365", "label": "One year", "target_day": 365,
                                         "window_before": 30, "window_after": 30, "instruments": ["qlq_c30"]})
    return study_form(code=code, title=definition["title"], sites=yaml.safe_dump(definition["sites"]),
                      timepoints=yaml.safe_dump(definition["timepoints"]), terms__pro_ctcae="17, 9, 1, 36, 53",
                      **changes)


def test_saving_a_changed_schedule_shows_what_moves_and_changes_nothing_until_confirmed(
        app, client, admin, create_study, create_participant):  # noqa: F811
    study = create_study()
    moving = create_participant(study, code="P-001")
    started = create_participant(study, code="P-002", site_code="MIA")
    with app.app_context():
        db.session.get(Assessment, started.assessments["wk12"]).status = "in_progress"
        db.session.commit()
    before = _dates(app, moving)
    kept_before = _dates(app, started)

    r = post(client, f"/staff/studies/{study.code}/edit", _shifted_form(client, study.code, add=True,
                                                                        reason="Amendment 3"))
    page = html(r)
    assert r.status_code == 200 and "Confirm the schedule change of NCT0000001" in page
    # who moves, from which date to which; the started one keeps its date; the new timepoint is added for both
    moves = re.sub(r' data-label="[^"]*"', "", page[page.find('data-testid="schedule-moves"'):])
    row = moves[moves.find("<td>P-001</td>"):]
    row = row[:row.find("</tr>")]
    assert "wk12" in row and before["wk12"].strftime("%Y") in row
    assert "P-002</td><td>MIA</td><td>wk12" not in moves
    assert "1 assessment not yet started moves" in page and "2 assessments are added" in page
    assert "2 participants concerned" in page and "1 started or finished assessment keeps its dates" in page
    with app.app_context():  # nothing changed yet
        assert db.session.scalar(select(Study.title).where(Study.id == study.id)) == "Study NCT0000001"
        assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "study.update")).all()
    assert _dates(app, moving) == before

    r = confirm(client, study.code, page, reason="  ")
    assert r.status_code == 400 and "Reason for the change: This field is required." in html(r)
    assert "1 assessment not yet started moves" in html(r)  # the preview is shown again
    assert _dates(app, moving) == before

    r = confirm(client, study.code, page)
    assert r.status_code == 302, errors_of(html(r))
    after = _dates(app, moving)
    assert after["wk12"] - before["wk12"] == timedelta(days=7) and after["baseline"] == before["baseline"]
    assert _dates(app, started) == kept_before
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "study.update"))
        assert event.reason == "Amendment 3"
        assert event.new["schedule_change"] == {
            "participants": 2, "assessments_moved": 1, "assessments_kept": 1, "assessments_added": 2,
            "assessments_removed": 0,
            "by_timepoint": {"wk12": {"moved": 1, "kept": 1, "added": 0, "removed": 0},
                             "fu365": {"moved": 0, "kept": 0, "added": 2, "removed": 0}}}
        assert len(db.session.scalars(select(Assessment).join(Participant)
                                      .where(Participant.study_id == study.id)).all()) == 10


def test_a_stale_preview_is_shown_again_and_moves_nothing(app, client, admin, create_study, create_participant):  # noqa: F811
    study = create_study()
    first = create_participant(study, code="P-001")
    before = _dates(app, first)
    page = html(post(client, f"/staff/studies/{study.code}/edit", _shifted_form(client, study.code, reason="Amend")))
    create_participant(study, code="P-003")  # enrolled after the preview: it would move too
    r = confirm(client, study.code, page)
    assert r.status_code == 409 and "changed since the preview" in html(r)
    assert "P-003" in html(r)
    assert _dates(app, first) == before
    with app.app_context():
        assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "study.update")).all()
    assert confirm(client, study.code, html(r)).status_code == 302
    assert _dates(app, first)["wk12"] - before["wk12"] == timedelta(days=7)


def test_bad_confirmations_are_4xx_never_500(app, client, admin, create_study, create_participant, create_staff):  # noqa: F811
    study = create_study()
    create_participant(study)
    page = html(post(client, f"/staff/studies/{study.code}/edit", _shifted_form(client, study.code, reason="Amend")))
    assert confirm(client, study.code, page, definition="code: [unclosed").status_code == 400
    assert confirm(client, study.code, page, definition="- a list").status_code == 400
    other = yaml.safe_load(client.get(f"/staff/studies/{study.code}/export.yaml").get_data(as_text=True))
    other["code"] = "NCT-OTHER"
    r = confirm(client, study.code, page, definition=yaml.safe_dump(other))
    assert r.status_code == 400 and "The study code cannot change" in html(r)
    assert confirm(client, study.code, page, fingerprint="x" * 32).status_code == 409
    r = confirm(client, study.code, page, csrf_token="forged")
    assert r.status_code == 400
    assert client.post("/staff/studies/NOPE/schedule/confirm", data={}).status_code in (400, 404)
    with app.app_context():
        assert db.session.get(Study, study.id).timepoints[1].target_day == 84
    # a coordinator without a manager grant for the study may not confirm it
    login(client, create_staff(email="c@example.org", studies=[study]).email)
    assert confirm(client, study.code, page, csrf_token=csrf_token(html(client.get("/staff/")))).status_code == 403


def test_a_schedule_change_of_a_study_without_participants_saves_directly(app, client, admin, create_study):  # noqa: F811
    study = create_study()
    r = post(client, f"/staff/studies/{study.code}/edit", _shifted_form(client, study.code, reason="Before go-live"))
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Study, study.id).timepoints[1].target_day == 91


def test_a_yaml_import_over_a_live_study_goes_through_the_preview(app, client, admin,  # noqa: F811
                                                                    create_study, create_participant):
    study = create_study()
    participant = create_participant(study)
    before = _dates(app, participant)
    definition = yaml.safe_load(client.get(f"/staff/studies/{study.code}/export.yaml").get_data(as_text=True))
    definition["timepoints"][1]["window_after"] = 21
    definition["timepoints"][2]["target_day"] = 175
    r = post(client, "/staff/studies/import", {"definition": yaml.safe_dump(definition), "confirm": "y",
                                               "reason": "Amendment from file"})
    page = html(r)
    assert r.status_code == 200 and "2 assessments not yet started move" in page
    assert _dates(app, participant) == before
    assert confirm(client, study.code, page).status_code == 302
    assert (_dates(app, participant)["wk24"] - before["wk24"]).days == 7
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "study.update"))
        assert event.reason == "Amendment from file" and event.new["schedule_change"]["assessments_moved"] == 2


def test_the_preview_is_in_spanish(app, client, admin, create_study, create_participant):  # noqa: F811
    study = create_study()
    create_participant(study)
    client.get("/staff/?lang=es")
    page = html(post(client, f"/staff/studies/{study.code}/edit", _shifted_form(client, study.code, reason="Enmienda")))
    assert "Confirmar el cambio de calendario de NCT0000001" in page
    assert "1 evaluación aún no iniciada se mueve" in page
