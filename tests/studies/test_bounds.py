"""Slice 1 defects: unbounded schedule numbers (a study saved that then broke every enrolment), removing a
site that a grant names (500), typed PRO-CTCAE term numbers silently dropped when a term set is chosen."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Site, Study, StudyGrant
from tests.studies.test_studies import SITES, admin, errors_of, post, study_form  # noqa: F401
from tests.support.kiosk import html


def timepoint(**fields) -> str:
    entry = {"code": "baseline", "label": "Baseline", "target_day": 0, "window_before": 0, "window_after": 0,
             "instruments": ["qlq_c30"], **fields}
    return yaml.safe_dump([entry])


@pytest.mark.parametrize(("fields", "message"), [
    ({"target_day": 3000000}, "Timepoint baseline: target_day must be between -3650 and 3650 days."),
    ({"target_day": -3651}, "Timepoint baseline: target_day must be between -3650 and 3650 days."),
    ({"window_before": 3651}, "Timepoint baseline: window_before must be between 0 and 3650 days."),
    ({"window_after": 10**12}, "Timepoint baseline: window_after must be between 0 and 3650 days."),
    ({"label": "L" * 121}, "Timepoint baseline: the label may have at most 120 characters."),
])
def test_every_schedule_number_is_bounded_in_the_form(app, client, admin, fields, message):  # noqa: F811
    r = post(client, "/staff/studies/new", study_form(timepoints=timepoint(**fields)))
    assert r.status_code == 400
    assert message in errors_of(html(r))
    with app.app_context():
        assert db.session.scalar(select(Study)) is None


def test_the_bounds_themselves_are_accepted(app, client, admin):  # noqa: F811
    entries = yaml.safe_dump([
        {"code": "pre", "label": "L" * 120, "target_day": -3650, "window_before": 0, "window_after": 3650,
         "instruments": ["qlq_c30"]},
        {"code": "late", "label": "Late", "target_day": 3650, "window_before": 3650, "window_after": 0,
         "instruments": ["qlq_c30"]}])
    r = post(client, "/staff/studies/new", study_form(timepoints=entries))
    assert r.status_code == 302, errors_of(html(r))


def test_an_oversized_target_day_in_an_imported_file_is_refused(app, client, admin):  # noqa: F811
    text = ("code: NCT9\ntitle: T\nsites: [{code: A, name: A, timezone: UTC}]\n"
            "timepoints: [{code: b, target_day: 3000000, instruments: [qlq_c30]}]\n")
    r = post(client, "/staff/studies/import", {"definition": text})
    assert r.status_code == 400
    assert "Timepoint b: target_day must be between -3650 and 3650 days." in html(r)


def test_a_site_name_too_long_is_an_error_not_cut(app, client, admin):  # noqa: F811
    r = post(client, "/staff/studies/new", study_form(
        sites="- {code: BCN, name: " + "N" * 201 + ", timezone: Europe/Madrid}\n"))
    assert r.status_code == 400
    assert "Site BCN: the name may have at most 200 characters." in errors_of(html(r))


def test_an_imported_anchor_event_too_long_is_an_error_not_cut(app, client, admin):  # noqa: F811
    text = ("code: NCT9\ntitle: T\nanchor_event: " + "A" * 121 + "\nsites: [{code: A, name: A, timezone: UTC}]\n"
            "timepoints: [{code: b, target_day: 0, instruments: [qlq_c30]}]\n")
    r = post(client, "/staff/studies/import", {"definition": text})
    assert r.status_code == 400
    assert "The anchor event may have at most 120 characters." in html(r)


def test_an_anchor_date_past_the_calendar_is_refused_not_a_500(app, client, create_study, create_staff):
    study = create_study()
    staff = create_staff(studies=[study])
    from tests.support.http import login
    login(client, staff.email)
    url = f"/staff/studies/{study.code}/participants/new"
    with app.app_context():
        site_id = db.session.scalar(select(Site.id).where(Site.study_id == study.id, Site.code == "BCN"))
    r = post(client, url, {"study_code": "P-9", "site": site_id, "language": "en", "anchor_date": "9999-12-30"})
    assert r.status_code == 400
    assert "Anchor date: Give a date between 1990-01-01 and 2099-12-31." in html(r)


def test_removing_a_site_a_grant_names_is_a_clear_error(app, client, admin, create_study, create_staff):  # noqa: F811
    study = create_study()
    staff = create_staff(email="miami@example.org")
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == "MIA"))
        db.session.add(StudyGrant(user_id=staff.id, study_id=study.id, site_id=site.id))
        db.session.commit()
    definition = yaml.safe_load(client.get(f"/staff/studies/{study.code}/export.yaml").get_data(as_text=True))
    r = post(client, f"/staff/studies/{study.code}/edit", study_form(
        code=study.code, sites="- {code: BCN, name: Barcelona, timezone: Europe/Madrid}\n",
        timepoints=yaml.safe_dump(definition["timepoints"]), terms__pro_ctcae="17, 9, 1, 36, 53",
        reason="Miami closed"))
    assert r.status_code == 400
    assert "Site MIA is named in the grant of miami@example.org and cannot be removed." in errors_of(html(r))
    with app.app_context():
        assert {s.code for s in db.session.scalars(select(Site).where(Site.study_id == study.id))} == {"BCN", "MIA"}


def test_typed_terms_with_a_term_set_are_not_dropped_silently(app, client, admin):  # noqa: F811
    r = post(client, "/staff/studies/new", study_form(term_set__pro_ctcae="breast_rt_endocrine",
                                                      terms__pro_ctcae="17, 9, 1"))
    assert r.status_code == 400
    assert ("Symptom items (PRO-CTCAE-style): a term set is chosen but the terms ticked differ from it."
            ) in errors_of(html(r))
    with app.app_context():
        assert db.session.scalar(select(Study)) is None


def test_a_term_set_with_its_own_numbers_shown_is_accepted(app, client, admin):  # noqa: F811
    """The edit form shows the chosen set's terms ticked; saving it with the set still chosen keeps it."""
    r = post(client, "/staff/studies/new", study_form(term_set__pro_ctcae="breast_rt_endocrine",
                                                      terms__pro_ctcae=""))
    assert r.status_code == 302
    page = html(client.get("/staff/studies/NCT01234567/edit"))
    with app.app_context():
        terms = db.session.scalar(select(Study)).selections["pro_ctcae"]
    shown = ", ".join(map(str, terms))
    assert all(f'value="{n}" checked' in page for n in terms)
    r = post(client, "/staff/studies/NCT01234567/edit", study_form(
        term_set__pro_ctcae="breast_rt_endocrine", terms__pro_ctcae=shown, reason="Title"))
    assert r.status_code == 302, errors_of(html(r))
