"""Studies: create and edit through the form, clear 400s for a bad definition, YAML export and import
(a round trip into a fresh database gives the same study), and who may do what."""

from __future__ import annotations

import html as htmllib
import io
import re

import pytest
import yaml
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Assessment, AuditEvent, Site, Study, StudyGrant
from tests.support.http import csrf_token, login
from tests.support.kiosk import html
from tests.support.study_form import study_fields

TIMEPOINTS = """
- {code: baseline, label: Baseline, target_day: 0, window_before: 14, window_after: 3,
   instruments: [qlq_c30, pro_ctcae]}
- {code: wk12, label: Week 12, target_day: 84, window_before: 14, window_after: 14, instruments: [qlq_c30]}
"""
SITES = ("- {code: BCN, name: Barcelona, timezone: Europe/Madrid}\n"
         "- {code: MIA, name: Miami, timezone: America/New_York}\n")


@pytest.fixture
def admin(client, create_staff):
    user = create_staff(email="admin@example.org", role="admin")
    assert login(client, user.email).status_code == 302
    return user


def study_form(**changes) -> dict:
    data = {"code": "NCT01234567", "title": "SBRT trial", "anchor_event": "First fraction of SBRT",
            "term_set__pro_ctcae": "", "terms__pro_ctcae": "17, 9, 1", "sites": SITES, "timepoints": TIMEPOINTS,
            "thresholds": "PF2: {below: 83}\nFA: {above: 39}\n", "reason": ""}
    data.update(changes)
    return study_fields(data)


def post(client, url: str, data: dict, **kwargs):
    token = csrf_token(html(client.get(url)))
    return client.post(url, data={**study_fields(data), "csrf_token": token}, **kwargs)


def confirm(client, code: str, preview: str, **changes):
    """Press Confirm on a schedule change's preview page, with the fields it carries (and any changed)."""
    fields = {name: htmllib.unescape(re.search(rf'name="{name}"[^>]*value="([^"]*)"', preview).group(1))
              for name in ("csrf_token", "fingerprint", "reason")}
    fields["definition"] = htmllib.unescape(re.search(r'<textarea name="definition"[^>]*>(.*?)</textarea>', preview,
                                                      re.S).group(1))
    return client.post(f"/staff/studies/{code}/schedule/confirm", data={**fields, **changes})


def errors_of(page: str) -> str:
    return page[page.find('role="alert"'):page.find("</ul>")]


def test_admin_creates_a_study(app, client, admin):
    r = post(client, "/staff/studies/new", study_form(reason="New trial"))
    assert r.status_code == 302, html(r)
    with app.app_context():
        study = db.session.scalar(select(Study).where(Study.code == "NCT01234567"))
        assert [(t.code, t.position, t.target_day, t.window_before, t.window_after, t.instruments)
                for t in study.timepoints] == [("baseline", 1, 0, 14, 3, ["qlq_c30", "pro_ctcae"]),
                                               ("wk12", 2, 84, 14, 14, ["qlq_c30"])]
        assert [(s.code, s.timezone) for s in study.sites] == [("BCN", "Europe/Madrid"), ("MIA", "America/New_York")]
        assert study.selections == {"pro_ctcae": [17, 9, 1]}
        assert study.thresholds == {"PF2": {"below": 83}, "FA": {"above": 39}}
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "study.create"))
        assert event.user_id == admin.id and event.reason == "New trial" and event.new["code"] == "NCT01234567"
    page = html(client.get("/staff/studies"))
    assert "NCT01234567" in page and "SBRT trial" in page


def test_a_term_set_fills_the_terms(app, client, admin):
    form = study_form(term_set__pro_ctcae="breast_rt_endocrine", terms__pro_ctcae="")
    assert post(client, "/staff/studies/new", form).status_code == 302
    with app.app_context():
        study = db.session.scalar(select(Study).where(Study.code == "NCT01234567"))
        terms = study.selections["pro_ctcae"]
        assert terms[:3] == [8, 9, 16] and len(terms) == 25


@pytest.mark.parametrize(("changes", "message"), [
    ({"timepoints": "- {code: baseline, target_day: 0, instruments: [qlq_c99]}"},
     "Timepoint baseline: unknown instrument qlq_c99"),
    ({"timepoints": "- {code: baseline, target_day: 0, instruments: [qlq_c30]}\n"
                    "- {code: baseline, target_day: 84, instruments: [qlq_c30]}"},
     "Timepoint code baseline appears more than once."),
    ({"timepoints": "- {code: baseline, target_day: 0, window_before: -1, instruments: [qlq_c30]}"},
     "Timepoint baseline: a window before or after the target day cannot be negative."),
    ({"timepoints": "- {code: baseline, target_day: soon, instruments: [qlq_c30]}"},
     "Timepoint baseline: target_day must be a whole number of days."),
    ({"terms__pro_ctcae": "17, 81"}, "Unknown term of Symptom items (PRO-CTCAE-style): 81."),
    ({"terms__pro_ctcae": "17, x"}, "Unknown term of Symptom items (PRO-CTCAE-style): x."),
    ({"sites": "- {code: BCN, name: Barcelona, timezone: Europe/Barcelon}"},
     "Site BCN has an unknown time zone: Europe/Barcelon."),
    ({"sites": "[]"}, "At least one site is required"),
    ({"thresholds": "XX: {below: 3}"}, "Thresholds name an unknown scale: XX."),
    ({"thresholds": "PF2: {under: 3}"}, "The threshold for PF2 must be either below or above a number from 0 to 100."),
    ({"thresholds": "PF2: {below"}, "Thresholds for flags (YAML): the text is not valid YAML."),
    ({"code": "NCT 1"}, "The study code is required and may use only letters"),
    ({"alert_rules": "- {kind: grade_at_most, urgency: urgent}"}, "Alert rule 1 has an unknown kind"),
    ({"alert_rules": "- {kind: threshold, urgency: soon}"}, "Alert rule 1 needs an urgency: urgent, review or note."),
    ({"alert_rules": "- {kind: threshold, urgency: note}\n- {kind: item_value, urgency: urgent}"},
     "Alert rule 2 (an answer to an item) needs the value of the answer."),
    ({"alert_rules": "- {kind: grade_at_least, source: XX_COMP, urgency: urgent}"},
     "Alert rule 1 names an unknown scale or item: XX_COMP."),
])
def test_a_bad_definition_is_a_400_with_a_clear_message(app, client, admin, changes, message):
    r = post(client, "/staff/studies/new", study_form(**changes))
    assert r.status_code == 400
    assert message in errors_of(html(r))
    with app.app_context():
        assert db.session.scalar(select(Study)) is None


def test_a_study_code_is_unique(client, admin, create_study):
    create_study(code="NCT01234567")
    r = post(client, "/staff/studies/new", study_form())
    assert r.status_code == 400 and "A study with code NCT01234567 already exists." in html(r)


def test_edit_needs_a_reason_and_moves_assessments_not_started(app, client, admin, create_study, create_participant):
    study = create_study()
    participant = create_participant(study)
    with app.app_context():
        done = db.session.get(Assessment, participant.assessments["wk24"])
        done.status = "completed"
        db.session.commit()
        before = {code: db.session.get(Assessment, i).target_date for code, i in participant.assessments.items()}
    url = f"/staff/studies/{study.code}/edit"
    page = html(client.get(url))
    assert "NCT0000001" in page and "wk12" in page
    definition = yaml.safe_load(client.get(f"/staff/studies/{study.code}/export.yaml").get_data(as_text=True))
    for tp in definition["timepoints"]:
        if tp["code"] in ("wk12", "wk24"):
            tp["target_day"] += 7
    definition["timepoints"].append({"code": "fu365", "label": "One year", "target_day": 365, "window_before": 30,
                                     "window_after": 30, "instruments": ["qlq_c30"]})
    form = study_form(code=study.code, title="Renamed", sites=yaml.safe_dump(definition["sites"]),
                      timepoints=yaml.safe_dump(definition["timepoints"]), terms__pro_ctcae="17, 9")
    r = post(client, url, form)
    assert r.status_code == 400 and "Give a reason for the change." in html(r)
    r = post(client, url, {**form, "reason": "Protocol amendment 2"})
    assert r.status_code == 200 and "Confirm the schedule change" in html(r)  # the preview (test_schedule_change)
    r = confirm(client, study.code, html(r))
    assert r.status_code == 302, errors_of(html(r))
    with app.app_context():
        after = {code: db.session.get(Assessment, i).target_date for code, i in participant.assessments.items()}
        assert (after["wk12"] - before["wk12"]).days == 7  # not started: moved
        assert after["wk24"] == before["wk24"]  # completed: kept
        assert after["baseline"] == before["baseline"]
        stored = db.session.scalar(select(Study).where(Study.code == study.code))
        assert stored.title == "Renamed" and stored.selections == {"pro_ctcae": [17, 9]}
        assert [t.code for t in stored.timepoints][-1] == "fu365"
        # The new timepoint joins the schedule of the enrolled participant.
        assert db.session.scalar(select(Assessment).where(Assessment.participant_id == participant.id,
                                                          Assessment.timepoint_id == stored.timepoints[-1].id))
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "study.update"))
        assert event.reason == "Protocol amendment 2" and event.old["title"] == "Study NCT0000001"
        assert event.new["title"] == "Renamed"


def test_a_timepoint_with_assessments_cannot_be_removed(client, admin, create_study, create_participant):
    study = create_study()
    create_participant(study)
    r = post(client, f"/staff/studies/{study.code}/edit",
             study_form(code=study.code, sites=SITES, reason="Drop visits"))
    assert r.status_code == 400
    assert "Timepoint wk24 has assessments and cannot be removed." in html(r)


def reset_database(app):
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.create_all()


def test_export_then_import_into_a_fresh_database_gives_the_same_study(app, client, admin, create_study,
                                                                       create_staff):
    study = create_study()
    r = client.get(f"/staff/studies/{study.code}/export.yaml")
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    exported = r.get_data(as_text=True)
    assert yaml.safe_load(exported)["timepoints"][1] == {
        "code": "wk12", "label": "wk12", "label_es": None, "anchor": "treatment_start", "target_day": 84,
        "window_before": 14, "window_after": 14, "instruments": ["qlq_c30", "qlq_br45", "pro_ctcae"]}

    reset_database(app)
    fresh = app.test_client()
    staff = create_staff(email="admin@example.org", role="admin")
    assert login(fresh, staff.email).status_code == 302
    r = post(fresh, "/staff/studies/import",
             {"file": (io.BytesIO(exported.encode()), "study.yaml"), "reason": "Set up"},
             content_type="multipart/form-data")
    assert r.status_code == 302, html(r)
    assert fresh.get(f"/staff/studies/{study.code}/export.yaml").get_data(as_text=True) == exported


def test_import_of_an_existing_study_asks_for_confirmation(app, client, admin, create_study):
    study = create_study()
    definition = yaml.safe_load(client.get(f"/staff/studies/{study.code}/export.yaml").get_data(as_text=True))
    definition["title"] = "Imported title"
    text = yaml.safe_dump(definition)
    r = post(client, "/staff/studies/import", {"definition": text})
    assert r.status_code == 409
    assert f"Study {study.code} already exists. Confirm to update it from this file." in html(r)
    with app.app_context():
        assert db.session.get(Study, study.id).title == "Study NCT0000001"
    r = post(client, "/staff/studies/import", {"definition": text, "confirm": "y"})
    assert r.status_code == 400 and "Give a reason for the change." in html(r)
    r = post(client, "/staff/studies/import", {"definition": text, "confirm": "y", "reason": "New protocol"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Study, study.id).title == "Imported title"


@pytest.mark.parametrize(("text", "message"), [
    ("code: [unclosed", "The text is not valid YAML"),
    ("- just a list", "A study definition must be a mapping"),
    ("code: X\ntitle: T\nsites: [{code: A, name: A}]\ntimepoints: [{code: b, target_day: 0, instruments: [qlq_c30]}]\n"
     "colour: blue", "Unknown field in the study definition: colour."),
])
def test_import_of_a_bad_file_is_a_400(client, admin, text, message):
    r = post(client, "/staff/studies/import", {"file": (io.BytesIO(text.encode()), "study.yaml")},
             content_type="multipart/form-data")
    assert r.status_code == 400 and message in html(r)


def make_manager(app, staff, study) -> None:
    with app.app_context():
        db.session.scalar(select(StudyGrant).where(StudyGrant.user_id == staff.id,
                                                   StudyGrant.study_id == study.id)).manager = True
        db.session.commit()


def test_coordinator_of_the_whole_study_without_a_manager_grant_cannot_edit_or_create(client, create_study,
                                                                                        create_staff):
    mine = create_study("NCT-A")
    login(client, create_staff(studies=[mine]).email)
    assert client.get("/staff/studies/NCT-A/edit").status_code == 403
    assert client.get("/staff/studies/new").status_code == 403
    assert client.get("/staff/studies/import").status_code == 403
    assert "/staff/studies/new" not in html(client.get("/staff/studies"))


def test_study_manager_edits_their_study_not_another(app, client, create_study, create_staff):
    mine, other = create_study("NCT-A"), create_study("NCT-B")
    staff = create_staff(studies=[mine])
    make_manager(app, staff, mine)
    login(client, staff.email)
    assert client.get("/staff/studies/NCT-A/edit").status_code == 200
    page = html(client.get("/staff/studies"))
    assert "NCT-A" in page and "NCT-B" not in page
    for url in ("/staff/studies/NCT-B/edit", "/staff/studies/NCT-B/export.yaml", "/staff/studies/NCT-B/participants",
                "/staff/studies/NCT-B/participants/new", "/staff/studies/NOPE/edit"):
        assert client.get(url).status_code == 404, url
    assert other.code == "NCT-B"


def test_analyst_sees_and_exports_but_cannot_edit(client, create_study, create_staff):
    study = create_study()
    staff = create_staff(email="analyst@example.org", role="analyst", studies=[study])
    login(client, staff.email)
    assert study.code in html(client.get("/staff/studies"))
    assert client.get(f"/staff/studies/{study.code}/export.yaml").status_code == 200
    for url in (f"/staff/studies/{study.code}/edit", "/staff/studies/new", "/staff/studies/import",
                f"/staff/studies/{study.code}/participants"):
        assert client.get(url).status_code == 403, url


def test_site_limited_coordinator_cannot_edit_the_study(app, client, create_study, create_staff):
    study = create_study()
    staff = create_staff()
    grant_site(app, staff, study, "BCN")
    login(client, staff.email)
    assert client.get(f"/staff/studies/{study.code}/edit").status_code == 403
    assert client.get(f"/staff/studies/{study.code}/participants").status_code == 200


def grant_site(app, staff, study, site_code: str) -> None:
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == site_code))
        db.session.add(StudyGrant(user_id=staff.id, study_id=study.id, site_id=site.id))
        db.session.commit()



ALERT_RULES = """
- {kind: grade_at_least, source: PROCTCAE_17_COMP, value: 2, urgency: urgent}
- {kind: worsening_grade, urgency: review, exclude_baseline: true}
- {kind: threshold, urgency: note, enabled: false}
"""


def test_alert_rules_are_edited_in_the_study_and_round_trip_through_yaml(app, client, admin, create_staff):
    r = post(client, "/staff/studies/new", study_form(alert_rules=ALERT_RULES))
    assert r.status_code == 302, html(r)
    exported = client.get("/staff/studies/NCT01234567/export.yaml").get_data(as_text=True)
    assert yaml.safe_load(exported)["alert_rules"] == [
        {"kind": "grade_at_least", "source": "PROCTCAE_17_COMP", "value": 2, "urgency": "urgent", "enabled": True,
         "exclude_baseline": False},
        {"kind": "worsening_grade", "value": 2, "urgency": "review", "enabled": True, "exclude_baseline": True},
        {"kind": "threshold", "urgency": "note", "enabled": False, "exclude_baseline": False}]
    assert "worsening_grade" in html(client.get("/staff/studies/NCT01234567/edit"))
    reset_database(app)
    fresh = app.test_client()
    staff = create_staff(email="admin@example.org", role="admin")
    assert login(fresh, staff.email).status_code == 302
    r = post(fresh, "/staff/studies/import", {"definition": exported, "reason": "Set up"})
    assert r.status_code == 302, html(r)
    assert fresh.get("/staff/studies/NCT01234567/export.yaml").get_data(as_text=True) == exported
