"""Study setup by forms (issue 13, deliverable 1): a study-manager grant lets a coordinator create and edit
a study; sites, timepoints (labels in both languages, an anchor event each) and the terms asked are rows
and ticks, changed with submit buttons (no JavaScript), never YAML text; the YAML export still round-trips."""

from __future__ import annotations

import yaml
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import AuditEvent, Study, StudyGrant
from tests.studies.test_studies import admin, errors_of, make_manager, post, study_form  # noqa: F401
from tests.support.http import csrf_token, login
from tests.support.kiosk import html

#: NCT06260033's schedule: baseline, weeks 12 and 24 from the start of SBRT, 30 days after the end of treatment.
NCT06260033 = [
    {"code": "baseline", "label": "Baseline", "label_es": "Basal", "anchor": "treatment_start", "target_day": 0,
     "window_before": 14, "window_after": 3, "instruments": ["qlq_c30", "pro_ctcae"]},
    {"code": "wk12", "label": "Week 12", "label_es": "Semana 12", "anchor": "treatment_start", "target_day": 84,
     "window_before": 14, "window_after": 14, "instruments": ["qlq_c30", "pro_ctcae"]},
    {"code": "wk24", "label": "Week 24", "label_es": "Semana 24", "anchor": "treatment_start", "target_day": 168,
     "window_before": 14, "window_after": 14, "instruments": ["qlq_c30"]},
    {"code": "fu30", "label": "30 days after treatment", "label_es": "30 días después del tratamiento",
     "anchor": "treatment_end", "target_day": 30, "window_before": 7, "window_after": 14,
     "instruments": ["qlq_c30", "pro_ctcae"]},
]
CITY_OF_HOPE = [{"code": "DUARTE", "name": "City of Hope Duarte", "timezone": "America/Los_Angeles"},
                {"code": "PHX", "name": "City of Hope Phoenix", "timezone": "America/Phoenix"}]


def manager(app, client, create_study, create_staff):
    """A coordinator with a study-manager grant for another study, logged in."""
    first = create_study("NCT-FIRST")
    staff = create_staff(studies=[first])
    make_manager(app, staff, first)
    assert login(client, staff.email).status_code == 302
    return staff


def test_a_study_manager_sets_up_nct06260033_by_rows_and_then_manages_it(app, client, create_study, create_staff):
    staff = manager(app, client, create_study, create_staff)
    page = html(client.get("/staff/studies/new"))
    assert 'name="sites-0-code"' in page and 'name="timepoints-0-anchor"' in page
    assert "Sites (YAML)" not in page and "Timepoints (YAML)" not in page
    assert '<option value="America/Phoenix">' in page  # the time zone is picked from the list
    form = study_form(code="NCT06260033", title="SBRT QoL", sites=CITY_OF_HOPE, timepoints=NCT06260033,
                      reason="Set up")
    r = post(client, "/staff/studies/new", form)
    assert r.status_code == 302, errors_of(html(r))
    with app.app_context():
        study = db.session.scalar(select(Study).where(Study.code == "NCT06260033"))
        assert [(t.code, t.anchor, t.target_day, t.label_es) for t in study.timepoints] == [
            ("baseline", "treatment_start", 0, "Basal"), ("wk12", "treatment_start", 84, "Semana 12"),
            ("wk24", "treatment_start", 168, "Semana 24"),
            ("fu30", "treatment_end", 30, "30 días después del tratamiento")]
        assert [(s.code, s.timezone) for s in study.sites] == [("DUARTE", "America/Los_Angeles"),
                                                                ("PHX", "America/Phoenix")]
        grant = db.session.scalar(select(StudyGrant).where(StudyGrant.user_id == staff.id,
                                                           StudyGrant.study_id == study.id))
        assert grant.manager and grant.site_id is None
    assert client.get("/staff/studies/NCT06260033/edit").status_code == 200
    exported = yaml.safe_load(client.get("/staff/studies/NCT06260033/export.yaml").get_data(as_text=True))
    assert exported["timepoints"][3] == NCT06260033[3]


def test_row_buttons_add_remove_and_move_rows_without_saving(app, client, admin):  # noqa: F811
    form = study_form(sites=CITY_OF_HOPE, timepoints=NCT06260033)
    r = post(client, "/staff/studies/new", {**form, "add_site": "1"})
    assert r.status_code == 200 and 'name="sites-2-code"' in html(r)
    r = post(client, "/staff/studies/new", {**form, "remove_timepoint": "1"})
    page = html(r)
    assert 'value="wk12"' not in page and 'value="wk24"' in page and 'name="timepoints-3-code"' not in page
    r = post(client, "/staff/studies/new", {**form, "up_timepoint": "3"})
    page = html(r)
    assert page.index('value="fu30"') < page.index('value="wk24"')
    assert 'value="30 días después del tratamiento"' in page  # what was typed comes back
    with app.app_context():
        assert db.session.scalar(select(Study)) is None


def test_terms_are_searched_and_a_term_set_is_a_starting_point(app, client, admin):  # noqa: F811
    form = study_form(sites=CITY_OF_HOPE, timepoints=NCT06260033, terms__pro_ctcae="17, 9")
    r = post(client, "/staff/studies/new", {**form, "term_search__pro_ctcae": "nausea", "search_terms": "pro_ctcae"})
    page = html(r)
    assert r.status_code == 200 and "Nausea" in page and "Dry mouth" not in page
    assert '<input type="hidden" name="terms__pro_ctcae" value="17">' in page  # ticked, not shown, kept
    r = post(client, "/staff/studies/new", {**form, "term_set__pro_ctcae": "breast_rt_endocrine",
                                            "apply_set": "pro_ctcae"})
    page = html(r)
    assert 'value="8" checked' in page and 'value="17" checked' not in page
    ticked = [n for n in range(1, 100) if f'name="terms__pro_ctcae" value="{n}" checked' in page]
    assert len(ticked) == 25
    r = post(client, "/staff/studies/new", {**form, "terms__pro_ctcae": [str(n) for n in ticked] + ["17"],
                                            "reason": "Set up"})
    assert r.status_code == 302, errors_of(html(r))
    with app.app_context():
        assert sorted(db.session.scalar(select(Study)).selections["pro_ctcae"]) == sorted(ticked + [17])


def test_every_row_value_is_checked_with_a_message_naming_the_row(app, client, admin):  # noqa: F811
    bad = [dict(NCT06260033[0], target_day="3000000"), dict(NCT06260033[1], anchor="surgery"),
           dict(NCT06260033[2], label_es="L" * 121)]
    r = post(client, "/staff/studies/new", study_form(sites=[dict(CITY_OF_HOPE[0], timezone="Mars/Base")],
                                                      timepoints=bad))
    errors = errors_of(html(r))
    assert r.status_code == 400
    assert "Timepoint baseline: target_day must be between -3650 and 3650 days." in errors
    assert "Timepoint wk12: the anchor must be one of enrolment, treatment_start, treatment_end." in errors
    assert "Timepoint wk24: the label may have at most 120 characters." in errors
    assert "Site DUARTE has an unknown time zone: Mars/Base." in errors
    with app.app_context():
        assert db.session.scalar(select(Study)) is None


def test_an_admin_gives_a_study_manager_grant(app, client, admin, create_study, create_staff):  # noqa: F811
    study = create_study()
    staff = create_staff(studies=[study])
    url = f"/staff/admin/users/{staff.id}"
    page = html(client.get(url))
    assert "manages the study" in page
    r = client.post(url, data={"csrf_token": csrf_token(page), "role": "coordinator", "active": "y",
                               "grants": [f"{study.id}:m"], "reason": "Runs the study"})
    assert r.status_code == 302, html(r)
    with app.app_context():
        grants = db.session.scalars(select(StudyGrant).where(StudyGrant.user_id == staff.id)).all()
        assert [(g.study_id, g.site_id, g.manager) for g in grants] == [(study.id, None, True)]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
        assert event.new["grants"] == [f"{study.code} (manager)"]


def test_a_study_manager_cannot_import_over_a_study_they_do_not_manage(app, client, create_study, create_staff):
    manager(app, client, create_study, create_staff)
    create_study("NCT-OTHER")
    text = ("code: NCT-OTHER\ntitle: Taken over\nsites: [{code: A, name: A, timezone: UTC}]\n"
            "timepoints: [{code: b, target_day: 0, instruments: [qlq_c30]}]\n")
    token = csrf_token(html(client.get("/staff/studies/import")))
    r = client.post("/staff/studies/import", data={"csrf_token": token, "definition": text, "confirm": "y",
                                                   "reason": "x"})
    assert r.status_code == 400 and "needs a study-manager grant" in html(r)
    with app.app_context():
        assert db.session.scalar(select(Study.title).where(Study.code == "NCT-OTHER")) == "Study NCT-OTHER"
