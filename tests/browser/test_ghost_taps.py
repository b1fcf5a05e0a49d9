"""No ghost input on the tablet: the second tap of a double tap on Next lands on the next item's page, at
the place where Next was; it must select nothing there. Chromium with touch emulation, portrait and
landscape. Every answer keeps when its item was shown and when it was answered."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pro_app.assessments import answers
from pro_app.extensions import db, library
from pro_app.models import Assessment, ItemResponse
from tests.support.browser import Kiosk, option_label

TABLET_SIZES = {"portrait": {"width": 768, "height": 1024}, "landscape": {"width": 1024, "height": 768}}


def answer_up_to(app, assessment_id: int, last: int) -> None:
    """C30 items q1..q<last> answered earlier on the tablet: the patient resumes at the next one."""
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        answers.ensure_plan(assessment)
        c30 = library.get("qlq_c30")
        for n in range(1, last + 1):
            answers.record(assessment, c30, f"q{n}", value=1, option_code=None, state="answered", language="en",
                           mode="self", actor="patient")
        db.session.commit()


@pytest.fixture
def touch_kiosk(browser, live_server, app, request):
    context = browser.new_context(base_url=live_server, viewport=TABLET_SIZES[request.param], has_touch=True,
                                  is_mobile=True, locale="en-US")
    context.set_default_timeout(10_000)
    yield Kiosk(context.new_page(), app)
    context.close()


@pytest.mark.kiosk_settings(kiosk_tap_guard_ms=600)  # the default
@pytest.mark.parametrize("touch_kiosk", list(TABLET_SIZES), indirect=True)
def test_a_double_tap_on_next_selects_nothing_on_the_next_item(app, touch_kiosk, enrol):
    kiosk, page = touch_kiosk, touch_kiosk.page
    patient = enrol(["qlq_c30"], language="en")
    answer_up_to(app, patient.assessment_id, 27)
    kiosk.start_with_code(patient.code)
    assert kiosk.item_id == "q28"
    kiosk.wait_until_taps_count()
    page.get_by_text(option_label("qlq_c30", "q28", 2, "en"), exact=True).tap()
    box = kiosk.button("Next").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    page.touchscreen.tap(x, y)
    page.wait_for_url("**/kiosk/a/item/q29", wait_until="domcontentloaded")
    page.touchscreen.tap(x, y)  # the second tap of the double tap, on the new page
    page.wait_for_timeout(800)

    assert kiosk.item_id == "q29"  # nothing moved on either
    assert kiosk.selected() == []  # and nothing is chosen on the global health item
    kiosk.answer(option_label("qlq_c30", "q29", 5, "en"))  # a deliberate tap, once the page settled, counts
    kiosk.next()
    assert kiosk.item_id == "q30"

    with app.app_context():
        rows = {r.item_id: r for r in db.session.scalars(
            select(ItemResponse).where(ItemResponse.assessment_id == patient.assessment_id))}
        assert (rows["q28"].value, rows["q29"].value) == (2, 5)
        for item_id in ("q28", "q29"):
            assert rows[item_id].shown_at is not None
            assert rows[item_id].shown_at <= rows[item_id].answered_at
        assert rows["q28"].shown_at < rows["q29"].shown_at
        assert rows["q1"].shown_at is None  # recorded without a page shown


@pytest.mark.kiosk_settings(kiosk_tap_guard_ms=600)
@pytest.mark.parametrize("touch_kiosk", ["portrait"], indirect=True)
def test_next_shows_it_is_working_while_the_next_page_is_on_its_way(app, touch_kiosk, enrol):
    kiosk, page = touch_kiosk, touch_kiosk.page
    patient = enrol(["qlq_c30"], language="en")
    answer_up_to(app, patient.assessment_id, 27)
    kiosk.start_with_code(patient.code)
    kiosk.wait_until_taps_count()
    page.get_by_text(option_label("qlq_c30", "q28", 2, "en"), exact=True).tap()
    # The server is slow to answer: the page is still shown after Next.
    held = []
    page.route("**/kiosk/a/item/q28", lambda route: held.append(route) if route.request.method == "POST"
               else route.continue_())
    next_button = kiosk.button("Next")
    next_button.tap()
    working = page.locator("button[aria-busy=true]")
    assert working.inner_text().strip() == kiosk.t("One moment…")
    page.wait_for_timeout(300)
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_url("**/kiosk/a/item/q29")
