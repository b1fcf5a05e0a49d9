"""A coordinator's morning in a real browser: log in, see who is due today (in the site's local dates),
hand the tablet to a participant and take it back, acknowledge an alert with a note, download the scores;
and the same dashboard in Spanish."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from types import SimpleNamespace

import pandas as pd
import pytest
from flask_babel import format_date
from playwright.sync_api import expect
from sqlalchemy import select

from pro_app.assessments.schedule import local_today
from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import Alert, AuditEvent
from tests.support.browser import LANDSCAPE, PORTRAIT, translate
from tests.support.exports import fill
from tests.support.http import PASSWORD

STUDY = "NCT0000001"


def site_date(app, day, lang: str = "en") -> str:
    """A date as the staff pages show it in `lang`."""
    with app.test_request_context("/", query_string={"lang": lang}):
        return str(format_date(day))


@pytest.fixture
def morning(app, create_study, create_participant, create_staff):
    """P-001 (Barcelona, Spanish-speaking): baseline due today at the site. P-002 (Miami): baseline done,
    with "almost constantly" nauseated (a PRO-CTCAE item answered 4), which raised an alert."""
    study = create_study(code=STUDY, instruments=["pro_ctcae"], terms=[9])
    today_bcn = local_today("Europe/Madrid", utcnow())
    due = create_participant(study, code="P-001", language="es", anchor=today_bcn, site_code="BCN")
    done = create_participant(study, code="P-002", language="en", site_code="MIA")
    fill(app, done.assessments["baseline"], {"PROCTCAE_9A_SCL": 4, "PROCTCAE_9B_SCL": 1})
    staff = create_staff(studies=[study])
    with app.app_context():
        alerts = db.session.scalars(select(Alert).order_by(Alert.id)).all()
        item4 = [a.id for a in alerts if a.kind == "item_value"]
        assert item4, [(a.kind, a.source) for a in alerts]
        n_alerts = len(alerts)
        db.session.rollback()
    return SimpleNamespace(study=study, due=due, done=done, staff=staff, today=today_bcn,
                           alert_id=item4[0], n_alerts=n_alerts)


def t(app, message: str, lang: str = "en", **params) -> str:
    return translate(app, lang, message, **params)


def go(page, locator) -> None:
    page.wait_for_selector("html:not([data-quiet])", state="attached")  # a kiosk page takes taps only after a moment
    with page.expect_navigation():
        locator.click()


def test_a_coordinators_morning(app, page, morning, screenshots, tmp_path):
    page.set_viewport_size(LANDSCAPE)

    # Log in through the form.
    page.goto("/staff/login")
    page.get_by_label(t(app, "Email"), exact=True).fill(morning.staff.email)
    page.get_by_label(t(app, "Password"), exact=True).fill(PASSWORD)
    go(page, page.get_by_role("button", name=t(app, "Log in"), exact=True))
    assert page.url.endswith("/staff/today")  # the landing page is today's work
    menu = page.get_by_role("navigation", name=t(app, "Main menu"))

    # Today → the study's dashboard.
    go(page, menu.get_by_role("link", name=t(app, "Today"), exact=True))
    assert page.url.endswith("/staff/today")
    expect(page.locator("h1")).to_have_text(t(app, "Today"))
    go(page, page.get_by_role("link", name=t(app, "Open the dashboard of %(code)s", code=STUDY), exact=True))
    assert page.url.endswith(f"/staff/studies/{STUDY}/dashboard")
    expect(page.locator("h1")).to_have_text(t(app, "Dashboard of %(code)s", code=STUDY))
    expect(page.get_by_test_id("count-due_today")).to_have_text("1")
    expect(page.get_by_test_id("count-alerts")).to_have_text(str(morning.n_alerts))

    # Due today: P-001's baseline, with Barcelona's date of today (target = anchor = today at the site).
    due_rows = page.locator('table[data-bucket="due_today"] tbody tr')
    expect(due_rows).to_have_count(1)
    cells = [c.strip() for c in due_rows.first.locator("td").all_inner_texts()]
    today = site_date(app, morning.today)
    assert cells[:4] == ["P-001", "BCN", "baseline", today], cells
    first, last = morning.today - timedelta(days=14), morning.today + timedelta(days=3)
    window = f"{site_date(app, first)} – {site_date(app, last)}"
    assert cells[4] == window, cells
    assert cells[5] == t(app, "Window open"), cells
    page.screenshot(path=screenshots / "coordinator-dashboard-en.png", full_page=True)

    # The participant's page, then "Start on this tablet" for the baseline.
    go(page, due_rows.first.get_by_role("link", name="P-001", exact=True))
    assert page.url.split("?")[0].endswith(f"/staff/participants/{morning.due.id}")
    assert page.url.endswith("?back=/staff/studies/NCT0000001/dashboard")  # "Back to the list" returns there
    expect(page.locator("h1")).to_have_text(t(app, "Participant %(participant)s", participant="P-001"))
    expect(page.locator("dl.facts")).to_contain_text(today)
    baseline = page.get_by_role("row").filter(has=page.get_by_role("cell", name="baseline", exact=True))
    expect(baseline.get_by_role("button", name=t(app, "Issue a code"), exact=True)).to_be_visible()
    page.screenshot(path=screenshots / "coordinator-participant-en.png", full_page=True)
    go(page, baseline.get_by_role("button", name=t(app, "Start on this tablet"), exact=True))

    # The kiosk, in the participant's language.
    assert "/kiosk/" in page.url
    assert page.locator("html").get_attribute("lang") == "es"
    expect(page.locator("h1").first).to_have_text(get_instrument("pro_ctcae").title.get("es"))
    go(page, page.get_by_role("link", name=t(app, "Staff only: leave patient mode", "es"), exact=True))
    page.get_by_label(t(app, "Staff email", "es"), exact=True).fill(morning.staff.email)
    page.get_by_label(t(app, "Staff password", "es"), exact=True).fill(PASSWORD)
    go(page, page.get_by_role("button", name=t(app, "Leave patient mode", "es"), exact=True))
    assert page.url.endswith("/staff/")
    assert page.locator("html").get_attribute("lang") == "en"  # the staff member's language again
    page.goto("/kiosk/a")
    assert page.url.split("?")[0].endswith("/kiosk/")  # patient mode is over
    page.goto("/staff/")

    # Alerts: the triage page, one card per visit; the menu shows the open count. A nurse acknowledges the
    # visit's alerts in two actions: pick the action taken, press the visit's button.
    menu = page.get_by_role("navigation", name=t(app, "Main menu"))
    expect(menu.get_by_test_id("menu-count")).to_have_text(str(morning.n_alerts))
    go(page, menu.get_by_role("link", name=re.compile("^" + t(app, "Alerts"))))
    assert page.url.endswith("/staff/alerts")
    open_list = page.locator("#open-alerts")
    expect(open_list.locator("li[data-alert]")).to_have_count(morning.n_alerts)
    card = open_list.locator(f'li[data-alert="{morning.alert_id}"]')
    visit = open_list.locator("li.visit-card", has=page.locator(f'li[data-alert="{morning.alert_id}"]'))
    expect(visit).to_contain_text("P-002")
    expect(card).to_contain_text(t(app, "Alerting answer on a symptom item"))
    expect(card.get_by_test_id("baseline")).to_contain_text(t(app, "This is the baseline visit."))
    for size, name in [(LANDSCAPE, "triage-1280x800.png"), (PORTRAIT, "triage-768x1024.png")]:
        page.set_viewport_size(size)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), size
        page.screenshot(path=screenshots / name, full_page=True)
    visit.get_by_label(t(app, "Action taken"), exact=True).select_option(label=t(app, "Called the patient"))
    go(page, visit.get_by_test_id("acknowledge-visit"))
    page.set_viewport_size(LANDSCAPE)
    assert page.url.endswith("/staff/alerts")
    expect(open_list.locator("li[data-alert]")).to_have_count(0)
    expect(open_list).to_contain_text(t(app, "No alerts here."))
    page.goto("/staff/alerts?status=acknowledged")
    acknowledged = page.locator("#acknowledged-alerts").locator(f'li[data-alert="{morning.alert_id}"]')
    expect(acknowledged).to_contain_text(t(app, "Called the patient"))
    expect(acknowledged).to_contain_text(morning.staff.email)
    page.screenshot(path=screenshots / "coordinator-alerts-en.png", full_page=True)
    with app.app_context():
        alert = db.session.get(Alert, morning.alert_id)
        assert (alert.status, alert.action, alert.acknowledged_by_id) == ("acknowledged", "called_patient",
                                                                          morning.staff.id)
        assert alert.acknowledged_at is not None
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "alert.acknowledge", AuditEvent.entity_id == morning.alert_id)).all()
        assert [(e.actor, e.user_id, e.entity, e.old, e.new) for e in events] == [
            ("user", morning.staff.id, "alert", {"status": "open"},
             {"status": "acknowledged", "note": None, "action": "called_patient"})]
        db.session.rollback()

    # Back on the dashboard: no open alert left; the scores as CSV.
    page.goto(f"/staff/studies/{STUDY}/dashboard")
    expect(page.get_by_test_id("count-alerts")).to_have_text("0")
    label = t(app, "%(dataset)s as %(format)s", dataset=t(app, "Scores (one row per scale)"), format="CSV")
    with page.expect_download() as download_info:
        page.get_by_role("link", name=label, exact=True).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv"), download.suggested_filename
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # a byte-order mark, for Excel
    scores = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert "participant" in scores.columns, list(scores.columns)
    assert set(scores["participant"]) == {"P-002"}  # only the completed assessment has scores
    assert (scores["timepoint"] == "baseline").all()
    with app.app_context():
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.user_id == morning.staff.id,
                                                            AuditEvent.action.like("export%")))
        db.session.rollback()

    # The same dashboard in Spanish: Spanish headings, and today's date as Spanish writes it.
    page.goto(f"/staff/studies/{STUDY}/dashboard?lang=es")
    assert page.locator("html").get_attribute("lang") == "es"
    heading = t(app, "Dashboard of %(code)s", "es", code=STUDY)
    assert heading != t(app, "Dashboard of %(code)s", code=STUDY)
    expect(page.locator("h1")).to_have_text(heading)
    due_title = t(app, "Due today", "es")
    assert due_title != "Due today"
    expect(page.locator("#due_today-title")).to_contain_text(due_title)
    expect(page.get_by_role("heading", name=t(app, "Download results", "es"))).to_be_visible()
    row = page.locator('table[data-bucket="due_today"] tbody tr')
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(3)).to_have_text(site_date(app, morning.today, "es"))
    page.screenshot(path=screenshots / "coordinator-dashboard-es.png", full_page=True)
