"""The bad input of issue 17 that gave a 500 (or took seconds and hundreds of MB): each is now a clear 4xx
and nothing of it is stored. Ids too large for a column are in tests/web/test_huge_ids.py."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from pro_app.extensions import db
from pro_app.models import Participant, Site, Study, Timepoint
from tests.api.conftest import demo_api  # noqa: F401
from tests.studies.test_studies import SITES, admin, post, study_form  # noqa: F401
from tests.support.http import PASSWORD, csrf_token, login
from tests.support.kiosk import html
from tests.support.staff import c30_paper_answers, paper

FAR_DATES = ["0001-01-01", "0001-01-02", "9999-12-31", "9999-12-30"]


def site_id(app, study) -> int:
    with app.app_context():
        return db.session.scalar(select(Site.id).where(Site.study_id == study.id, Site.code == "BCN"))


def studies_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Study))


# --- dates ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("day", FAR_DATES)
def test_an_anchor_date_near_year_1_or_9999_is_a_400_in_every_participant_form(
        app, client, logged_in_coordinator, create_participant, day):
    _, study = logged_in_coordinator
    participant = create_participant(study)
    enrol = {"study_code": "P-900", "site": site_id(app, study), "language": "en", "anchor_date": day}
    assert post(client, f"/staff/studies/{study.code}/participants/new", enrol).status_code == 400
    edit = {"site": site_id(app, study), "language": "en", "anchor_date": day, "reason": "Moved"}
    assert post(client, f"/staff/participants/{participant.id}/edit", edit).status_code == 400
    withdraw = {"withdrawn_on": day, "reason": "Withdrew consent"}
    assert post(client, f"/staff/participants/{participant.id}/withdraw", withdraw).status_code == 400
    for field in ("consent_date", "death_date", "withdrawn_on"):
        r = post(client, f"/staff/participants/{participant.id}/subject", {field: day, "reason": "Source data"})
        assert r.status_code == 400, field
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Participant)) == 1


@pytest.mark.parametrize("day", FAR_DATES)
@pytest.mark.parametrize("field", ["start", "end"])
def test_the_audit_filter_refuses_a_date_past_the_calendar_clearly(client, create_staff, field, day):
    user = create_staff(email="admin@example.org", role="admin")
    assert login(client, user.email).status_code == 302
    r = client.get("/staff/admin/audit", query_string={field: day})
    assert r.status_code == 400
    assert "Give a date between 1990-01-01 and 2099-12-31." in html(r)


def test_the_audit_filter_still_takes_a_plausible_range(client, create_staff):
    user = create_staff(email="admin@example.org", role="admin")
    assert login(client, user.email).status_code == 302
    r = client.get("/staff/admin/audit", query_string={"start": "1990-01-01", "end": "2099-12-31"})
    assert r.status_code == 200
    assert "user.login" in html(r)


# --- after login ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/staff/\r\nSet-Cookie: x=1", "/staff/today\n", "/staff/\x0bx",
                                    "/staff/%0d%0aX: 1"])
def test_a_next_with_line_breaks_after_a_correct_login_lands_on_today(client, create_staff, target):
    user = create_staff()
    page = client.get("/staff/login")
    r = client.post("/staff/login", query_string={"next": target},
                    data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(html(page))})
    assert r.status_code in (302, 400), r.status_code
    if r.status_code == 302:
        assert r.headers["Location"].endswith("/staff/today")
        assert "Set-Cookie: x" not in str(r.headers)


# --- study YAML -----------------------------------------------------------------------------------------

def site_yaml(zone: str) -> str:
    return f"- {{code: BCN, name: Barcelona, timezone: '{zone}'}}\n"


@pytest.mark.parametrize("zone", ["America", "Europe/", "Etc", "A" * 5000, "Europe/" + "x" * 300, "../etc/passwd",
                                  "/usr/share/zoneinfo/UTC", "Europe/Madrid/.."])
def test_a_time_zone_that_is_a_folder_or_too_long_is_a_clear_400(app, client, admin, zone):  # noqa: F811
    r = post(client, "/staff/studies/new", study_form(sites=site_yaml(zone)))
    assert r.status_code == 400
    assert "Site BCN has an unknown time zone" in html(r)
    assert studies_count(app) == 0


def import_text(timepoints: str) -> str:
    return ("code: NCT9\ntitle: T\nsites: [{code: A, name: A, timezone: UTC}]\n"
            f"timepoints: {timepoints}\n")


HUGE_NUMBERS = [
    "[{code: b, target_day: 12345678901234567890, instruments: [qlq_c30]}]",
    "[{code: b, target_day: " + "9" * 5000 + ", instruments: [qlq_c30]}]",
    "[{code: b, target_day: 0, window_after: -" + "9" * 5000 + ", instruments: [qlq_c30]}]",
    "[{code: b, target_day: 0x" + "f" * 5000 + ", instruments: [qlq_c30]}]",
    "[{code: b, target_day: 1" + "0" * 400 + ".5, instruments: [qlq_c30]}]",
]


@pytest.mark.parametrize("timepoints", HUGE_NUMBERS)
def test_a_20_or_5000_digit_number_in_an_imported_study_is_a_clear_400(app, client, admin, timepoints):  # noqa: F811
    r = post(client, "/staff/studies/import", {"definition": import_text(timepoints)})
    assert r.status_code == 400
    assert studies_count(app) == 0


@pytest.mark.parametrize("field", ["timepoints", "thresholds", "alert_rules", "sites"])
def test_a_5000_digit_number_in_the_study_form_is_a_clear_400(app, client, admin, field):  # noqa: F811
    text = {"timepoints": [{"code": "b", "target_day": "9" * 5000, "instruments": ["qlq_c30"]}],
            "thresholds": "PF2: {below: " + "9" * 5000 + "}\n",
            "alert_rules": "- {kind: grade_at_least, value: " + "9" * 5000 + ", urgency: urgent}\n",
            "sites": [{"code": "9" * 5000, "name": "X", "timezone": "UTC"}]}[field]
    r = post(client, "/staff/studies/new", study_form(**{field: text}))
    assert r.status_code == 400
    assert studies_count(app) == 0


def test_a_20_digit_alert_value_is_refused_not_stored(app, client, admin):  # noqa: F811
    rules = "- {kind: grade_at_least, value: 12345678901234567890, urgency: urgent}\n"
    r = post(client, "/staff/studies/new", study_form(alert_rules=rules))
    assert r.status_code == 400
    assert studies_count(app) == 0


@pytest.mark.parametrize("depth", [500, 5000])
def test_deep_nesting_in_study_yaml_is_a_clear_400(app, client, admin, depth):  # noqa: F811
    nested = "[" * depth + "]" * depth
    r = post(client, "/staff/studies/import", {"definition": import_text(nested)})
    assert r.status_code == 400
    assert "nested too deeply" in html(r) or "not valid YAML" in html(r)  # libyaml itself stops at 1,000
    r = post(client, "/staff/studies/new", study_form(thresholds=nested))
    assert r.status_code == 400
    assert studies_count(app) == 0


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels):
        prev, name = chr(ord("a") + n - 1), chr(ord("a") + n)
        lines.append(f"{name}: &{name} [{', '.join('*' + prev for _ in range(9))}]")
    return "\n".join(lines) + "\n"


def test_a_yaml_alias_bomb_is_refused_fast(app, client, admin):  # noqa: F811
    bomb = billion_laughs()
    assert len(bomb) < 500
    started = time.perf_counter()
    r = post(client, "/staff/studies/import", {"definition": bomb})
    elapsed = time.perf_counter() - started
    assert r.status_code == 400
    assert "Aliases (*name) are not accepted" in html(r)
    assert elapsed < 1.0, elapsed
    token = csrf_token(html(client.get("/staff/studies/new")))  # the form page itself is not what is timed
    started = time.perf_counter()
    r = client.post("/staff/studies/new", data={**study_form(thresholds=bomb), "csrf_token": token})
    assert r.status_code == 400
    assert time.perf_counter() - started < 1.0
    assert studies_count(app) == 0


def test_even_a_single_alias_is_refused(app, client, admin):  # noqa: F811
    text = import_text("[{code: b, target_day: 0, instruments: &i [qlq_c30]}, {code: c, target_day: 7, "
                       "instruments: *i}]")
    r = post(client, "/staff/studies/import", {"definition": text})
    assert r.status_code == 400
    assert "Aliases (*name) are not accepted" in html(r)


def test_the_safe_loader_still_reads_an_exported_study(app, client, admin, create_study):  # noqa: F811
    study = create_study()
    text = client.get(f"/staff/studies/{study.code}/export.yaml").get_data(as_text=True)
    r = post(client, "/staff/studies/import", {"definition": text, "confirm": "y", "reason": "Same again"})
    assert r.status_code == 302


@pytest.mark.parametrize(("field", "limit"), [("label", 120), ("code", 32)])
def test_labels_and_codes_over_their_column_are_refused_in_the_imported_file(app, client, admin, field,  # noqa: F811
                                                                           limit):
    value = "L" * (limit + 1)
    text = import_text(f"[{{code: b, {field}: {value}, target_day: 0, instruments: [qlq_c30]}}]"
                       if field == "label" else f"[{{code: {value}, target_day: 0, instruments: [qlq_c30]}}]")
    r = post(client, "/staff/studies/import", {"definition": text})
    assert r.status_code == 400
    assert studies_count(app) == 0


def test_an_anchor_event_over_120_characters_is_refused_in_the_form_and_the_file(app, client, admin):  # noqa: F811
    r = post(client, "/staff/studies/new", study_form(anchor_event="E" * 121))
    assert r.status_code == 400
    text = import_text("[{code: b, target_day: 0, instruments: [qlq_c30]}]") + "anchor_event: " + "E" * 121 + "\n"
    r = post(client, "/staff/studies/import", {"definition": text})
    assert r.status_code == 400
    assert studies_count(app) == 0


# --- charts ---------------------------------------------------------------------------------------------

MATH = ["$\\frac{a}{$", "$x", "$$", "a $b$ c", "$\\sqrt{$", "\\$5 and $10"]


@pytest.mark.parametrize("label", MATH)
def test_math_markup_in_a_timepoint_label_draws_as_text(app, client, create_study, create_participant,
                                                       create_staff, label):
    study = create_study(instruments=["qlq_c30"])
    with app.app_context():
        baseline = db.session.scalar(select(Timepoint).where(Timepoint.code == "baseline"))
        baseline.label = label
        db.session.commit()
    participant = create_participant(study)
    user = create_staff(studies=[study])
    assert login(client, user.email).status_code == 302
    assert paper(client, participant.assessments["baseline"], c30_paper_answers()).status_code == 302
    r = client.get(f"/staff/participants/{participant.id}/charts/qlq_c30-functioning.svg")
    assert r.status_code == 200
    assert r.mimetype == "image/svg+xml"
    assert client.get(f"/staff/participants/{participant.id}/report").status_code == 200


# --- headers, paths, values -----------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["h" * 5000, "localhost:99999999999999999999", "evil.example",
                                  "local\x00host", "[::1", "a..b"])
def test_a_host_header_not_allowed_is_a_400(client, host):
    r = client.get("/kiosk/", headers={"Host": host})
    assert r.status_code == 400


def test_localhost_is_allowed_by_default(client):
    for host in ("localhost", "localhost:5000", "127.0.0.1:5000", "[::1]:5000"):
        assert client.get("/kiosk/", headers={"Host": host}).status_code == 200, host


def test_server_name_or_allowed_hosts_decide(tmp_path, settings):
    from dataclasses import replace

    from pro_app import create_app
    for changes, good, bad in ((dict(server_name="pro.example.org"), "pro.example.org", "localhost"),
                               (dict(allowed_hosts=("pro.example.org", ".clinic.example")),
                                "tablet.clinic.example", "example.org")):
        other = create_app(replace(settings, **changes))
        client = other.test_client()
        assert client.get("/kiosk/", headers={"Host": good}).status_code == 200, changes
        assert client.get("/kiosk/", headers={"Host": bad}).status_code == 400, changes
        with other.app_context():  # its own engine: close its connections now, not at garbage collection
            db.engine.dispose()


@pytest.mark.parametrize("length", [115, 200, 254, 300])
def test_a_long_email_at_login_is_refused_like_any_other_and_throttled(client, create_staff, length):
    email = "x" * (length - len("@example.org")) + "@example.org"
    for _ in range(3):
        page = client.get("/staff/login")
        r = client.post("/staff/login", data={"email": email, "password": "wrong password here",
                                              "csrf_token": csrf_token(html(page))})
        assert r.status_code in (400, 401, 429)


@pytest.mark.parametrize("path", ["/staff/studies/A%00B/dashboard", "/staff/studies/%00/participants",
                                  "/kiosk/a/item/q%001", "/api/v1/studies/DEMO%00/datasets/wide",
                                  "/staff/studies/A%01B/dashboard", "/staff/studies/A%7FB/edit"])
def test_a_nul_or_control_character_in_a_path_is_a_400(client, logged_in_coordinator, path):
    assert client.get(path).status_code == 400


@pytest.mark.parametrize("value", ["a\x00b", "\x01", "x\x1b[31m", "\x7f"])
def test_a_nul_or_control_character_in_a_query_or_form_value_is_a_400(app, client, logged_in_coordinator,
                                                                       create_participant, value):
    _, study = logged_in_coordinator
    assert client.get(f"/staff/studies/{study.code}/participants", query_string={"q": value}).status_code == 400
    assert client.get("/staff/today", query_string={value: "1"}).status_code == 400
    participant = create_participant(study)
    r = post(client, f"/staff/participants/{participant.id}/withdraw", {"reason": value})
    assert r.status_code == 400
    with app.app_context():
        assert db.session.get(Participant, participant.id).withdrawn_reason is None


def test_line_breaks_and_tabs_in_a_text_area_are_kept(app, client, logged_in_coordinator, create_participant):
    _, study = logged_in_coordinator
    participant = create_participant(study)
    r = post(client, f"/staff/participants/{participant.id}/withdraw", {"reason": "Moved away.\r\n\tFar."})
    assert r.status_code == 302
    with app.app_context():
        assert "Far." in db.session.get(Participant, participant.id).withdrawn_reason


def test_a_nul_in_the_api_query_is_a_400(client, create_study):
    create_study()
    assert client.get("/api/v1/studies", query_string={"x": "\x00"}).status_code == 400


@pytest.mark.parametrize("day", FAR_DATES)
def test_an_api_filter_date_near_year_1_or_9999_is_a_400(demo_api, day):  # noqa: F811
    for name in ("from", "to"):
        r = demo_api.client.get("/api/v1/studies/DEMO/datasets/scores", query_string={name: day},
                                headers={"Authorization": f"Bearer {demo_api.token}"})
        assert r.status_code == 400
        assert "must be a date" in r.json["detail"]
