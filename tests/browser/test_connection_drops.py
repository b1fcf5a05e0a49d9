"""A Wi-Fi drop on the tablet (issue 10, item 4), in Chromium with touch at 768x1024: the answer tapped while
offline is kept on the screen with a banner, sent by the page itself when the connection returns, stored once,
and the patient goes on; the idle timeout that falls while offline clears the screen in the page itself, and
after the connection returns neither Back nor reload shows anything of the patient."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import AuditEvent, ItemResponse
from tests.support.browser import PORTRAIT, Kiosk, check_patient_page, item_text, option_label

BANNER = "Connection lost: your answer is kept and will be sent when the connection returns."
ENDED = "Your session has ended. Your answers are saved: enter your code to carry on."


@pytest.fixture
def tablet(browser, live_server, app):
    """A touch tablet in portrait; the test reaches its context to cut the network."""
    context = browser.new_context(base_url=live_server, viewport=PORTRAIT, has_touch=True, is_mobile=True,
                                  locale="en-US")
    context.set_default_timeout(10_000)
    yield Kiosk(context.new_page(), app), context
    context.set_offline(False)
    context.close()


def rows_of(app, assessment_id: int) -> dict[str, ItemResponse]:
    with app.app_context():
        rows = db.session.scalars(select(ItemResponse).where(ItemResponse.assessment_id == assessment_id)).all()
        db.session.expunge_all()
        return {r.item_id: r for r in rows}


def changes(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "item.change")).all())


@pytest.mark.parametrize("lang", ["en", "es"])
def test_an_answer_tapped_offline_is_kept_sent_when_back_online_stored_once(app, tablet, enrol, screenshots, lang):
    kiosk, context = tablet
    page = kiosk.page
    patient = enrol(["qlq_c30"], language=lang)
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    q1 = option_label("qlq_c30", "q1", 3, lang)
    kiosk.answer(q1)

    context.set_offline(True)  # the Wi-Fi drops as the patient presses Next
    kiosk.button("Next").tap()
    banner = page.locator("#connection-banner")
    expect(banner).to_be_visible()
    assert banner.inner_text().strip() == kiosk.t(BANNER)
    page.wait_for_timeout(2_500)  # a few tries go out and fail
    assert kiosk.item_id == "q1" and kiosk.selected() == [q1]  # no error page: the question and its choice
    assert "ERR_INTERNET_DISCONNECTED" not in page.content()
    assert rows_of(app, patient.assessment_id) == {}
    check_patient_page(kiosk, "connection-lost-offline", screenshots)  # the banner at the three sizes, axe
    assert kiosk.item_id == "q1" and kiosk.selected() == [q1]

    context.set_offline(False)  # back: the page sends the answer by itself and goes on
    page.wait_for_url("**/kiosk/a/item/q2", timeout=15_000)
    kiosk.wait_until_taps_count()
    assert kiosk.selected() == [] and page.locator("#connection-banner").is_hidden()
    rows = rows_of(app, patient.assessment_id)
    assert {i: r.value for i, r in rows.items()} == {"q1": 3}

    # The same again, but the answer reaches the server and its reply is lost on the way back (the worst
    # moment of a drop): the page sends it again, and it is still stored once.
    kiosk.answer(option_label("qlq_c30", "q2", 2, lang))
    sent = []

    def lose_the_first_reply(route):
        if route.request.method != "POST":
            route.continue_()
            return
        sent.append(re.search(r'name="request_key"\r\n\r\n(\w+)', route.request.post_data).group(1))
        if len(sent) == 1:
            route.fetch()  # the server gets it and stores the answer...
            route.abort("internetdisconnected")  # ...but the tablet never hears back
        else:
            route.continue_()

    page.route("**/kiosk/a/item/q2", lose_the_first_reply)
    kiosk.button("Next").tap()
    page.wait_for_url("**/kiosk/a/item/q3", timeout=15_000)
    assert len(sent) == 2 and sent[0] == sent[1]  # sent again with the same idempotency key
    rows = rows_of(app, patient.assessment_id)
    assert {i: r.value for i, r in rows.items()} == {"q1": 3, "q2": 2}
    assert rows["q2"].request_key == sent[0]
    assert changes(app) == 0


@pytest.mark.kiosk_settings(kiosk_idle_seconds=6, kiosk_idle_warning_seconds=3)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_offline_at_the_idle_time_nothing_of_the_patient_is_shown_after_reconnecting(
        app, tablet, enrol, screenshots, lang):
    kiosk, context = tablet
    page = kiosk.page
    patient = enrol(["qlq_c30"], language=lang)
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    for item_id in ("q1", "q2"):
        kiosk.answer(option_label("qlq_c30", item_id, 2, lang))
        kiosk.next()
    kiosk.answer(option_label("qlq_c30", "q3", 4, lang))  # chosen, not sent
    texts = [item_text("qlq_c30", i, lang) for i in ("q1", "q2", "q3")]
    ended = kiosk.t(ENDED)

    context.set_offline(True)  # the Wi-Fi is down when the idle time comes
    expect(page.locator("#main .message")).to_have_text(ended, timeout=12_000)
    body = page.locator("body").inner_text()
    assert not [t for t in texts if t in body]
    assert page.locator(".question-text, .options, input[type=radio], #idle-dialog[open]").count() == 0
    assert page.url.endswith("/kiosk/?m=ended")  # the history entry is the start screen's now
    page.screenshot(path=screenshots / f"idle-cleared-offline-{lang}-portrait.png")

    context.set_offline(False)
    page.wait_for_selector("#code", timeout=15_000)  # the start screen, from the server
    assert kiosk.on_start_screen()
    for _ in range(3):
        page.go_back()
        page.wait_for_load_state()
        assert_blank_of(kiosk, texts)
    page.reload()
    assert_blank_of(kiosk, texts)
    rows = rows_of(app, patient.assessment_id)
    assert {i: r.value for i, r in rows.items()} == {"q1": 2, "q2": 2}  # what was sent is kept


def assert_blank_of(kiosk, texts):
    page = kiosk.page
    page.wait_for_selector("#code")
    assert kiosk.on_start_screen(), page.url
    assert page.locator(".question-text, .options, input[type=radio]").count() == 0
    body = page.locator("body").inner_text()
    assert not [t for t in texts if t in body]
