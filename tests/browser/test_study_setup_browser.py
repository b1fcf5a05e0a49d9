"""Setting up NCT06260033 in a real browser without typing YAML (issue 13): a study manager adds a second
site and four anchored timepoints with the row buttons, saves, enrols a participant, and the 30-day
follow-up appears once the end of treatment is entered. Screenshots of the form at 1280x800 and 768x1024."""

from __future__ import annotations

from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Assessment, Participant, Study, Timepoint
from tests.studies.test_studies import make_manager
from tests.support.http import PASSWORD

ROWS = [("baseline", "Baseline", "Basal", "treatment_start", "0", "14", "3"),
        ("wk12", "Week 12", "Semana 12", "treatment_start", "84", "14", "14"),
        ("wk24", "Week 24", "Semana 24", "treatment_start", "168", "14", "14"),
        ("fu30", "30 days after treatment", "30 días después del tratamiento", "treatment_end", "30", "7", "14")]


def submit(page, name: str, value: str | None = None) -> None:
    selector = f'button[name="{name}"]' + (f'[value="{value}"]' if value is not None else "")
    with page.expect_navigation():
        page.locator(selector).first.click()


def test_a_study_manager_sets_up_nct06260033_in_the_browser(app, page, create_study, create_staff, screenshots):
    first = create_study("NCT-FIRST")
    staff = create_staff(studies=[first])
    make_manager(app, staff, first)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/staff/login")
    page.get_by_label("Email", exact=True).fill(staff.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Log in", exact=True).click()
    page.goto("/staff/studies/new")
    page.fill("#code", "NCT06260033")
    page.fill("#title", "SBRT and quality of life")
    page.fill("#anchor_event", "First fraction of SBRT")
    page.fill("#sites-0-code", "DUARTE")
    page.fill("#sites-0-name", "City of Hope Duarte")
    page.select_option("#sites-0-timezone", "America/Los_Angeles")
    submit(page, "add_site")
    page.fill("#sites-1-code", "PHX")
    page.fill("#sites-1-name", "City of Hope Phoenix")
    page.select_option("#sites-1-timezone", "America/Phoenix")
    submit(page, "add_timepoint")
    submit(page, "add_timepoint")
    for n, (code, label, label_es, anchor, day, before, after) in enumerate(ROWS):
        page.fill(f"#timepoints-{n}-code", code)
        page.fill(f"#timepoints-{n}-label", label)
        page.fill(f"#timepoints-{n}-label_es", label_es)
        page.select_option(f"#timepoints-{n}-anchor", anchor)
        page.fill(f"#timepoints-{n}-target_day", day)
        page.fill(f"#timepoints-{n}-window_before", before)
        page.fill(f"#timepoints-{n}-window_after", after)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "study-setup-top-1280x800.png"), full_page=False)
    page.locator("#timepoints-3-code").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "study-setup-1280x800.png"), full_page=False)
    page.locator("#term_search__pro_ctcae").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "study-setup-terms-1280x800.png"), full_page=False)
    page.set_viewport_size({"width": 768, "height": 1024})
    page.locator("#timepoints-3-code").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "study-setup-768x1024.png"), full_page=False)
    page.fill("#reason", "Protocol version 1")
    with page.expect_navigation():
        page.get_by_role("button", name="Save study", exact=True).last.click()
    assert "/staff/studies/NCT06260033/participants" in page.url, page.content()[:3000]

    page.goto("/staff/studies/NCT06260033/participants/new")
    page.fill("#study_code", "COH-001")
    page.fill("#anchor_date", "2026-01-05")
    with page.expect_navigation():
        page.locator("form button[type=submit].primary").click()
    with app.app_context():
        participant = db.session.scalar(select(Participant).where(Participant.study_code == "COH-001"))
        pid = participant.id
    page.goto(f"/staff/participants/{pid}")
    assert "Awaiting the date of: End of treatment" in page.content()
    page.goto(f"/staff/participants/{pid}/edit")
    page.fill("#treatment_end", "2026-02-13")
    page.fill("#reason", "Last fraction")
    with page.expect_navigation():
        page.locator("form button[type=submit].primary").click()
    assert "Now scheduled" in page.content()
    with app.app_context():
        study = db.session.scalar(select(Study).where(Study.code == "NCT06260033"))
        fu30 = db.session.scalar(select(Assessment).join(Timepoint).where(
            Assessment.participant_id == pid, Timepoint.code == "fu30"))
        assert [s.code for s in study.sites] == ["DUARTE", "PHX"]
        assert fu30.target_date.isoformat() == "2026-03-15"

    # An amendment moves week 12 a week later: saving shows which assessments move, and nothing moves until
    # the coordinator confirms with a reason.
    before = fu30.target_date
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto("/staff/studies/NCT06260033/edit")
    page.fill("#timepoints-1-target_day", "91")
    page.fill("#reason", "Amendment 2")
    with page.expect_navigation():
        page.get_by_role("button", name="Save study", exact=True).last.click()
    summary = page.get_by_test_id("schedule-summary").inner_text()
    assert "1 assessment not yet started moves" in summary, summary
    assert "COH-001" in page.get_by_test_id("schedule-moves").inner_text()
    page.screenshot(path=str(screenshots / "schedule-change-768x1024.png"), full_page=True)
    with app.app_context():
        wk12 = db.session.scalar(select(Assessment).join(Timepoint).where(
            Assessment.participant_id == pid, Timepoint.code == "wk12"))
        assert wk12.target_date.isoformat() == "2026-03-30"  # not moved yet: day 84 from Jan 5
    page.fill("#reason", "Amendment 2: week 12 at day 91")
    with page.expect_navigation():
        page.get_by_role("button", name="Confirm the schedule change", exact=True).click()
    with app.app_context():
        wk12 = db.session.scalar(select(Assessment).join(Timepoint).where(
            Assessment.participant_id == pid, Timepoint.code == "wk12"))
        assert wk12.target_date.isoformat() == "2026-04-06"
        assert db.session.get(Assessment, fu30.id).target_date == before
