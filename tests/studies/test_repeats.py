"""Repeating timepoints in the study definition: entered as row fields, bounded (a 400 naming the timepoint,
never a saved study that later breaks enrolment), and round-tripped through the YAML export and import."""

from __future__ import annotations

import re

import pytest
import yaml
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Study, Timepoint
from tests.studies.test_studies import admin, errors_of, post, study_form  # noqa: F401
from tests.support.kiosk import html
from tests.support.study_form import study_fields

BASELINE = {"code": "baseline", "label": "Baseline", "target_day": 0, "window_before": 14, "window_after": 3,
            "instruments": ["qlq_c30", "pro_ctcae"]}
Q4W = {"code": "q4w", "label": "Every 4 weeks", "label_es": "Cada 4 semanas", "anchor": "treatment_start",
       "target_day": 28, "window_before": 3, "window_after": 3, "instruments": ["pro_ctcae"],
       "repeat_every": 4, "repeat_unit": "weeks", "repeat_until": "treatment_end", "repeat_count": 12}


def value_of(page: str, name: str) -> str:
    """The value of a text input, or the selected option of a select, named `name` on the page."""
    tag = re.search(rf'<(input|select)[^>]*name="{name}"[^>]*>', page)
    if tag.group(1) == "input":
        return re.search(r'value="([^"]*)"', tag.group(0)).group(1)
    chosen = re.search(r'<option selected value="([^"]*)">', page[tag.end():page.find("</select>", tag.end())])
    return chosen.group(1) if chosen else ""


def test_a_repeating_timepoint_is_set_up_in_the_form_rows_and_shown_again(app, client, admin):  # noqa: F811
    r = post(client, "/staff/studies/new", study_form(timepoints=[BASELINE, Q4W]))
    assert r.status_code == 302, errors_of(html(r))
    with app.app_context():
        q4w = db.session.scalar(select(Timepoint).where(Timepoint.code == "q4w"))
        assert (q4w.repeat_every, q4w.repeat_unit, q4w.repeat_until, q4w.repeat_count) == (4, "weeks",
                                                                                         "treatment_end", 12)
        baseline = db.session.scalar(select(Timepoint).where(Timepoint.code == "baseline"))
        assert (baseline.repeat_every, baseline.repeat_unit, baseline.repeat_count) == (None, None, None)
    page = html(client.get("/staff/studies/NCT01234567/edit"))
    assert [value_of(page, f"timepoints-1-{f}") for f in ("repeat_every", "repeat_unit", "repeat_until",
                                                          "repeat_count")] == ["4", "weeks", "treatment_end", "12"]
    assert [value_of(page, f"timepoints-0-{f}") for f in ("repeat_every", "repeat_until", "repeat_count")] == [
        "", "", ""]


@pytest.mark.parametrize(("fields", "message"), [
    ({"repeat_every": 0}, "Timepoint q4w: repeat_every must be a whole number of days or weeks, at least 1 and at "
                          "most 3650 days in all."),
    ({"repeat_every": 522}, "Timepoint q4w: repeat_every must be a whole number of days or weeks, at least 1 and "
                            "at most 3650 days in all."),  # 522 weeks: 3,654 days
    ({"repeat_every": "soon"}, "Timepoint q4w: repeat_every must be a whole number of days or weeks"),
    ({"repeat_unit": "months"}, "Timepoint q4w: repeat_unit must be days or weeks."),
    ({"repeat_count": 100}, "Timepoint q4w: repeat_count must be a whole number from 1 to 99."),
    ({"repeat_count": 0}, "Timepoint q4w: repeat_count must be a whole number from 1 to 99."),
    ({"repeat_until": "surgery"}, "Timepoint q4w: repeat_until must be one of enrolment, treatment_start, "
                                  "treatment_end."),
    ({"repeat_until": "treatment_start"}, "Timepoint q4w repeats until the event it counts from"),
    ({"repeat_until": None, "repeat_count": None}, "Timepoint q4w repeats without an end"),
    ({"repeat_every": 52, "repeat_count": 99}, "Timepoint q4w: its last occurrence would be more than 3650 days "
                                               "from the anchor"),
])
def test_every_repeat_number_is_bounded(app, client, admin, fields, message):  # noqa: F811
    r = post(client, "/staff/studies/new", study_form(timepoints=[BASELINE, {**Q4W, **fields}]))
    assert r.status_code == 400
    assert message in errors_of(html(r))
    with app.app_context():
        assert db.session.scalar(select(Study)) is None


def test_the_bounds_themselves_are_accepted_and_enrolment_works(app, client, admin):  # noqa: F811
    edge = {**Q4W, "target_day": 0, "repeat_every": 521, "repeat_count": 2}  # 3,647 days: the last in bounds
    daily = {**Q4W, "code": "daily", "target_day": -3650, "repeat_every": 1, "repeat_unit": "days",
             "repeat_until": "treatment_end", "repeat_count": 99}
    r = post(client, "/staff/studies/new", study_form(timepoints=[BASELINE, edge, daily]))
    assert r.status_code == 302, errors_of(html(r))
    from tests.participants.test_participants import site_id

    study = type("S", (), {"id": 1, "code": "NCT01234567"})
    r = post(client, "/staff/studies/NCT01234567/participants/new",
             {"study_code": "P-1", "site": site_id(app, study, "BCN"), "language": "en", "anchor_date": "2027-01-04"})
    assert r.status_code == 302


def test_the_yaml_export_and_import_round_trip_the_repeat_fields(app, client, admin):  # noqa: F811
    assert post(client, "/staff/studies/new", study_form(timepoints=[BASELINE, Q4W])).status_code == 302
    exported = client.get("/staff/studies/NCT01234567/export.yaml").get_data(as_text=True)
    definition = yaml.safe_load(exported)
    assert definition["timepoints"][1] | {} == {**Q4W}
    assert "repeat_every" not in definition["timepoints"][0]  # a timepoint that happens once: no repeat fields
    definition["code"] = "NCT07654321"
    text = yaml.safe_dump(definition, sort_keys=False, allow_unicode=True)
    r = post(client, "/staff/studies/import", {"definition": text})
    assert r.status_code == 302, html(r)
    again = yaml.safe_load(client.get("/staff/studies/NCT07654321/export.yaml").get_data(as_text=True))
    assert again["timepoints"] == definition["timepoints"]
    # the form shows the imported study's repeat fields; saved unchanged, nothing changes
    page = html(client.get("/staff/studies/NCT07654321/edit"))
    assert value_of(page, "timepoints-1-repeat_every") == "4"
    fields = study_fields({**{k: v for k, v in definition.items() if k in ("code", "title", "anchor_event")},
                           "sites": definition["sites"], "timepoints": definition["timepoints"]})
    assert fields["timepoints-1-repeat_until"] == "treatment_end"
