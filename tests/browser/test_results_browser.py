"""The study results page in a real browser (issue 14): reached from the study's dashboard, its charts drawn
with their n at 1280 x 800 and 768 x 1024, a chart fitting the screen, and the print layout (no menus or
filters, charts within an A4 page's width). Screenshots go to test-artifacts/screenshots."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from pro_app.extensions import db
from pro_app.users.services import create_user
from tests.results.study import build
from tests.results.test_statistics import PEOPLE
from tests.support.browser import LANDSCAPE, PORTRAIT
from tests.support.http import PASSWORD


@pytest.fixture
def pi(app):
    with app.app_context():
        build(PEOPLE)
        create_user("pi@example.org", "coordinator", PASSWORD, ["RES-1"])
        db.session.commit()
    return "pi@example.org"


def log_in(page, email: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url("**/staff/today")


@pytest.mark.parametrize("viewport", [LANDSCAPE, PORTRAIT], ids=["1280x800", "768x1024"])
def test_results_page_draws_its_charts_with_their_n(page, pi, screenshots, viewport):
    page.set_viewport_size(viewport)
    log_in(page, pi)
    page.goto("/staff/studies/RES-1/dashboard")
    page.get_by_role("link", name="Results", exact=True).click()
    page.wait_for_url("**/staff/studies/RES-1/results")
    expect(page.locator("h1")).to_have_text("Results of RES-1")

    pf2 = page.locator('article[data-scale="PF2"]')
    means = pf2.get_by_role("img", name="Physical functioning: mean and 95% CI")
    expect(means).to_be_visible()
    box = means.bounding_box()
    assert box["width"] > 200 and box["x"] + box["width"] <= viewport["width"]  # drawn, and fits the screen
    # the chart shows each point's n (arm A at baseline: 4), and its table says the same
    assert "4" in means.locator("text").all_text_contents()
    expect(pf2.locator('td[data-testid="n"]').first).to_have_text("4")
    expect(page.locator('article[data-term="PROCTCAE_17_COMP"]').get_by_role("img").first).to_be_visible()
    expect(page.locator('article[data-km="PA"]').get_by_role("img").first).to_be_visible()
    name = f"results-{viewport['width']}x{viewport['height']}"
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=False)
    pf2.scroll_into_view_if_needed()
    pf2.screenshot(path=str(screenshots / f"{name}-pf2.png"))


def test_results_page_prints_without_menus_and_within_a4(page, pi, screenshots):
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    log_in(page, pi)
    page.goto("/staff/studies/RES-1/results")
    page.emulate_media(media="print")
    expect(page.locator(".staff-header")).to_be_hidden()
    expect(page.locator(".results-filter")).to_be_hidden()
    expect(page.locator(".study-tabs")).to_be_hidden()
    for chart in page.locator("svg.chart").all()[:6]:
        box = chart.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 794
    page.screenshot(path=str(screenshots / "results-print.png"), full_page=False)
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
