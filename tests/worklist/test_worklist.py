"""Today's work: the study dashboard's buckets, the compliance table per timepoint and site (checked against
the database rows and the analysts' compliance data set), and the study page's downloads."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from babel.dates import format_date
from openpyxl import load_workbook
from sqlalchemy import func, select

from pro_app.assessments.schedule import local_today, site_today
from pro_app.clock import utcnow
from pro_app.demo import seed_demo
from pro_app.exports import datasets
from pro_app.extensions import db
from pro_app.models import (
    NOT_DONE_REASONS,
    Assessment,
    AuditEvent,
    ItemResponse,
    Participant,
    Site,
    Study,
    StudyGrant,
    User,
)
from pro_app.worklist import compliance
from pro_app.worklist import services as worklist
from tests.support.http import login
from tests.support.kiosk import html


def site_local_today(zone: str = "Europe/Madrid"):
    return local_today(zone, utcnow())


def buckets_on(page: str) -> dict[str, list[str]]:
    """bucket name → participant codes listed in its table, in order."""
    found = {name: [] for name in worklist.BUCKETS}
    for name, body in re.findall(r'<table class="data" data-bucket="(\w+)">(.*?)</table>', page, flags=re.S):
        rows = re.findall(r"<tr data-assessment=\"\d+\">(.*?)</tr>", body, flags=re.S)
        cells = [re.findall(r"<td\b[^>]*>(.*?)</td>", row, flags=re.S)[0] for row in rows]
        found[name] = [re.sub(r"<[^>]+>", "", cell).strip() for cell in cells]  # the code, linked or not
    return found


def counts_on(page: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-testid="count-(\w+)">(\d+)<', page)}


def set_state(app, assessment_id: int, status: str, *, answers: int = 0, reason: str | None = None) -> None:
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        assessment.status, assessment.not_done_reason = status, reason
        for n in range(1, answers + 1):
            db.session.add(ItemResponse(assessment=assessment, instrument_id="qlq_c30", instrument_version="1",
                                        item_id=f"q{n}", value=1, state="answered", language="en", mode="self"))
        db.session.commit()


@pytest.fixture
def study(create_study):
    return create_study()


@pytest.fixture
def scene(app, study, create_participant):
    """Participants at Barcelona whose baselines sit in every bucket (dates site-local)."""
    today = site_local_today()
    p = {code: create_participant(study, code=code, anchor=today + timedelta(days=shift))
         for code, shift in [("P-TODAY", 0), ("P-WEEK", 3), ("P-LATE", -2), ("P-MISSED", -10), ("P-FUTURE", 30),
                             ("P-STARTED", -1), ("P-DONE", 0), ("P-NOTDONE", -10), ("P-WITHDRAWN", 0)]}
    set_state(app, p["P-STARTED"].assessments["baseline"], "in_progress", answers=2)
    set_state(app, p["P-DONE"].assessments["baseline"], "completed", answers=3)
    set_state(app, p["P-NOTDONE"].assessments["baseline"], "not_done", reason="too_ill")
    with app.app_context():
        db.session.get(Participant, p["P-WITHDRAWN"].id).status = "withdrawn"
        db.session.commit()
    return SimpleNamespace(today=today, participants=p)


def test_dashboard_buckets(client, study, scene, create_staff):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    r = client.get(f"/staff/studies/{study.code}/dashboard?lang=en")
    assert r.status_code == 200 and "no-store" in r.headers["Cache-Control"]
    page = html(r)
    found = buckets_on(page)
    assert found["due_today"] == ["P-TODAY"]
    assert found["due_this_week"] == ["P-WEEK"]
    assert sorted(found["overdue"]) == ["P-LATE", "P-STARTED"]
    assert sorted(found["window_open"]) == ["P-LATE", "P-STARTED", "P-TODAY", "P-WEEK"]
    assert found["in_progress"] == ["P-STARTED"]
    assert found["missed"] == ["P-MISSED"]
    assert counts_on(page) == {"due_today": 1, "due_this_week": 1, "overdue": 2, "window_open": 4,
                               "in_progress": 1, "missed": 1, "alerts": 0}
    for absent in ("P-FUTURE", "P-DONE", "P-NOTDONE", "P-WITHDRAWN"):
        assert absent not in page
    # The window of P-TODAY's baseline (target today, 14 days before, 3 after) in site-local dates, per locale.
    start, end = scene.today - timedelta(days=14), scene.today + timedelta(days=3)
    assert format_date(start, "medium", locale="en") in page and format_date(end, "medium", locale="en") in page
    assert re.search(r'<a href="/staff/participants/\d+\?back=[^"]*">P-TODAY</a>', page)  # one tap to the participant
    spanish = html(client.get(f"/staff/studies/{study.code}/dashboard?lang=es"))
    assert format_date(start, "medium", locale="es") in spanish


def test_buckets_follow_the_sites_own_calendar(app, study, create_participant, create_staff):
    """Windows are site-local days: the service computes 'today' per site, not on the server's date."""
    miami = create_participant(study, code="P-MIA", site_code="MIA",
                               anchor=site_local_today("America/New_York"))
    staff = create_staff(studies=[study])
    with app.app_context():
        user, s = db.session.get(User, staff.id), db.session.get(Study, study.id)
        board = worklist.dashboard(user, s, utcnow())
        assert board.rows("due_today")[0]["participant"] == "P-MIA"
        assert board.rows("due_today")[0]["site"] == "MIA"
        assert board.rows("due_today")[0]["assessment_id"] == miami.assessments["baseline"]


def test_today_has_a_panel_per_visible_study(client, study, scene, create_study, create_staff):
    other = create_study(code="NCT0000002")
    hidden = create_study(code="NCT0000003")
    staff = create_staff(studies=[study, other])
    login(client, staff.email)
    page = html(client.get("/staff/today?lang=en"))
    assert f'href="/staff/studies/{study.code}/dashboard"' in page
    assert f'href="/staff/studies/{other.code}/dashboard"' in page
    assert hidden.code not in page
    assert 'href="/staff/today"' in page and 'aria-current="page"' in page  # the menu entry


def test_no_access_to_another_studys_pages(client, study, scene, create_study, create_staff):
    mine = create_study(code="NCT0000002")
    staff = create_staff(studies=[mine])
    login(client, staff.email)
    for path in (f"/staff/studies/{study.code}/dashboard", f"/staff/studies/{study.code}/compliance",
                 f"/staff/studies/{study.code}/download/scores/csv", "/staff/studies/NOPE/dashboard"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "P-TODAY" not in html(r)
    assert "P-TODAY" not in html(client.get("/staff/today"))


def test_site_restricted_grant_sees_only_its_site(app, client, study, create_participant, create_staff):
    today = site_local_today()
    create_participant(study, code="P-BCN", site_code="BCN", anchor=today)
    create_participant(study, code="P-MIA", site_code="MIA", anchor=today)
    staff = create_staff(email="bcn@example.org")
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == "BCN"))
        db.session.add(StudyGrant(user_id=staff.id, study_id=study.id, site_id=site.id))
        db.session.commit()
    login(client, staff.email)
    page = html(client.get(f"/staff/studies/{study.code}/dashboard"))
    assert "P-BCN" in page and "P-MIA" not in page
    compliance = html(client.get(f"/staff/studies/{study.code}/compliance"))
    assert 'data-site="MIA"' not in compliance and 'data-site="BCN"' in compliance
    body = client.get(f"/staff/studies/{study.code}/download/compliance/csv").get_data(as_text=True)
    assert "P-BCN" in body and "P-MIA" not in body


# --- compliance -------------------------------------------------------------------------------------------

def independent_counts(app, code: str) -> dict[tuple[str, str | None], dict[str, int]]:
    """Compliance worked out straight from the database rows, without the data set or the service."""
    now = utcnow()
    counts: dict = {}
    with app.app_context():
        study = db.session.scalar(select(Study).where(Study.code == code))
        assessments = db.session.scalars(select(Assessment).join(Participant)
                                         .where(Participant.study_id == study.id)).all()
        answered = dict(db.session.execute(
            select(ItemResponse.assessment_id, func.count()).where(ItemResponse.state == "answered")
            .group_by(ItemResponse.assessment_id)).all())
        for a in assessments:
            today = site_today(a.participant, now)
            if today < a.window_start or (a.participant.status == "withdrawn" and a.status == "scheduled"):
                continue
            if a.status == "completed":
                outcome = "completed"
            elif a.status == "in_progress" and answered.get(a.id, 0) > 0:
                outcome = "partly_completed"
            elif a.status == "not_done":
                outcome = "not_done"
            elif today > a.window_end:
                outcome = "missed"
            else:
                outcome = "pending"
            for key in ((a.timepoint.code, a.participant.site.code), (a.timepoint.code, None)):
                c = counts.setdefault(key, {"expected": 0, "completed": 0, "partly_completed": 0, "missed": 0,
                                            "not_done": 0, "pending": 0})
                c["expected"] += 1
                c[outcome] += 1
                if outcome == "not_done":
                    c[f"not_done_{a.not_done_reason}"] = c.get(f"not_done_{a.not_done_reason}", 0) + 1
    return counts


@pytest.fixture
def demo(app):
    with app.app_context():
        seed_demo(participants=12)
    return SimpleNamespace(code="DEMO")


def table_on(page: str) -> dict[tuple[str, str | None], dict[str, int]]:
    table = {}
    for timepoint, site, body in re.findall(r'<tr class="(?:overall|per-site)" data-timepoint="(\w+)" '
                                            r'data-site="(\w*)">(.*?)</tr>', page, flags=re.S):
        cells = re.findall(r'data-key="(\w+)">(\d+)', body)
        table[(timepoint, site or None)] = {k: int(v) for k, v in cells}
    return table


def test_compliance_table_matches_the_database(app, client, demo, create_staff):
    staff = create_staff(email="staff@example.org", studies=[demo])
    expected = independent_counts(app, demo.code)
    assert sum(c["completed"] for (_, site), c in expected.items() if site is None) > 0
    login(client, staff.email)
    r = client.get(f"/staff/studies/{demo.code}/compliance?lang=en")
    assert r.status_code == 200
    shown = table_on(html(r))
    assert set(shown) == set(expected)
    for key, counts in expected.items():
        for name, value in counts.items():
            assert shown[key][name] == value, (key, name)
        row = shown[key]
        assert row["expected"] == sum(row[k] for k in ("completed", "partly_completed", "missed", "not_done",
                                                       "pending"))
        assert row["not_done"] == sum(row[f"not_done_{r}"] for r in NOT_DONE_REASONS)


def test_compliance_table_agrees_with_the_compliance_data_set(app, demo, create_staff):
    staff = create_staff(email="staff@example.org", studies=[demo])
    with app.app_context():
        user = db.session.get(User, staff.id)
        study = db.session.scalar(select(Study).where(Study.code == demo.code))
        table = compliance.compliance_table(user, study, utcnow())
        frame = next(iter(datasets.build(study, "compliance")))
        overall = table[table["site"].isna()]
        assert overall["expected"].sum() == frame["expected"].sum()
        assert overall["completed"].sum() == frame.loc[frame["expected"] == 1, "received"].sum()
        for _, row in overall.iterrows():
            if row["expected"]:
                assert row["pct_completed"] == pytest.approx(100 * row["completed"] / row["expected"])


# --- downloads --------------------------------------------------------------------------------------------

@pytest.fixture
def risky(app, study, create_participant):
    """A participant whose code a spreadsheet would read as a formula."""
    return create_participant(study, code='=HYPERLINK("http://evil.example","x")', anchor=site_local_today())


@pytest.mark.parametrize("role", ["coordinator", "analyst"])
def test_study_download_csv_and_xlsx_are_audited_and_safe(app, client, study, risky, create_staff, role):
    staff = create_staff(role=role, studies=[study])
    login(client, staff.email)
    dashboard = html(client.get(f"/staff/studies/{study.code}/dashboard"))
    assert f'href="/staff/studies/{study.code}/download/scores/xlsx"' in dashboard
    r = client.get(f"/staff/studies/{study.code}/download/compliance/csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == f'attachment; filename="{study.code}_compliance.csv"'
    text = r.get_data().decode("utf-8-sig")
    assert text.startswith("study,site,participant,")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text and '"=HYPERLINK' not in text
    r = client.get(f"/staff/studies/{study.code}/download/wide/xlsx")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(r.get_data())).active
    codes = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert codes and all(c == "'" + risky.study_code for c in codes)
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.user_id, e.new["dataset"], e.new["format"], e.new["via"]) for e in events] == [
            (staff.id, "compliance", "csv", "staff"), (staff.id, "wide", "xlsx", "staff")]
        assert events[0].new["rows"] == 4


def test_study_download_offers_the_cdisc_data_sets_as_sas_transport(app, client, study, create_staff):
    staff = create_staff(role="analyst", studies=[study])
    login(client, staff.email)
    dashboard = html(client.get(f"/staff/studies/{study.code}/dashboard"))
    for dataset in ("sdtm_qs", "suppqs", "adsl", "adqs"):
        assert f'href="/staff/studies/{study.code}/download/{dataset}/xpt"' in dashboard, dataset
    r = client.get(f"/staff/studies/{study.code}/download/adqs/xpt")
    assert r.status_code == 200 and r.headers["Content-Disposition"] == f'attachment; filename="{study.code}_adqs.xpt"'
    assert r.get_data().startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!")
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
        assert (event.user_id, event.new["dataset"], event.new["format"]) == (staff.id, "adqs", "xpt")


def test_study_download_offers_fhir_as_ndjson_and_json_and_define_xml(app, client, study, create_staff):
    staff = create_staff(role="analyst", studies=[study])
    login(client, staff.email)
    dashboard = html(client.get(f"/staff/studies/{study.code}/dashboard"))
    for fmt in ("ndjson", "json"):
        assert f'href="/staff/studies/{study.code}/download/fhir/{fmt}"' in dashboard, fmt
    assert f'href="/staff/studies/{study.code}/download/fhir/csv"' not in dashboard
    assert f'href="/staff/studies/{study.code}/download/define.xml"' in dashboard
    r = client.get(f"/staff/studies/{study.code}/download/fhir/ndjson")
    assert r.status_code == 200 and r.mimetype == "application/fhir+ndjson"
    assert r.get_data(as_text=True).startswith('{"resourceType":"Questionnaire"')
    assert client.get(f"/staff/studies/{study.code}/download/fhir/csv").status_code == 404
    assert client.get(f"/staff/studies/{study.code}/download/items/ndjson").status_code == 404
    r = client.get(f"/staff/studies/{study.code}/download/define.xml")
    assert r.status_code == 200 and r.mimetype == "application/xml"
    assert r.headers["Content-Disposition"] == 'attachment; filename="define.xml"'
    assert b"<def:Standards>" in r.get_data() or b"def:Standard " in r.get_data()
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")
                                    .order_by(AuditEvent.id)).all()
        assert [(e.user_id, e.new["dataset"], e.new["format"], e.new["via"]) for e in events] == [
            (staff.id, "fhir", "ndjson", "staff"), (staff.id, "define", "xml", "staff")]


def test_a_site_limited_grant_gets_no_define_xml(app, client, study, create_staff):
    staff = create_staff(role="analyst")
    with app.app_context():
        site = db.session.scalar(select(Site).where(Site.study_id == study.id, Site.code == "BCN"))
        db.session.add(StudyGrant(user_id=staff.id, study_id=study.id, site_id=site.id))
        db.session.commit()
    login(client, staff.email)
    dashboard = html(client.get(f"/staff/studies/{study.code}/dashboard"))
    assert "download/define.xml" not in dashboard and "download/fhir/ndjson" in dashboard
    assert client.get(f"/staff/studies/{study.code}/download/define.xml").status_code == 403


def test_study_download_refuses_unknown_data_sets_and_formats(client, study, create_staff):
    staff = create_staff(studies=[study])
    login(client, staff.email)
    for path in ("download/proae/csv", "download/scores/parquet", "download/nothing/csv", "download/scores/exe"):
        assert client.get(f"/staff/studies/{study.code}/{path}").status_code == 404, path
