"""Help for patients on the tablet, in a real browser (issue 10, item 7): text size at once without losing a
chosen answer, read aloud in the page's language where the device has a voice, a countdown on the idle
warning, "welcome back" on resume."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import AuthSession
from pro_app.security import sessions
from tests.support.browser import LANDSCAPE, PORTRAIT, option_label

AXE = Axe()

#: A stand-in for the device's speech synthesis (headless Chromium has no voices): one voice for `lang`, and
#: every utterance kept in window.spoken.
FAKE_SPEECH = """
(lang => {
  window.spoken = [];
  const synth = {
    speaking: false,
    getVoices: () => lang ? [{ lang: lang, name: "test voice", default: true }] : [],
    speak: u => { window.spoken.push({ text: u.text, lang: u.lang }); },
    cancel: () => {},
    addEventListener: () => {},
  };
  Object.defineProperty(window, "speechSynthesis", { value: synth, configurable: true });
  window.SpeechSynthesisUtterance = function (text) { this.text = text; };
})(%s)
"""


def fake_speech(page, lang: str | None) -> None:
    page.context.add_init_script(FAKE_SPEECH % (f'"{lang}"' if lang else "null"))


def test_text_size_applies_at_once_and_keeps_the_chosen_answer(app, kiosk, enrol, screenshots):
    patient = enrol(["qlq_c30"], language="es")
    page = kiosk.page
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    choice = option_label("qlq_c30", "q1", 3, "es")
    kiosk.answer(choice)
    size_before = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.question-text')).fontSize)")
    page.get_by_role("button", name=kiosk.t("Largest text")).click()
    expect(page.locator("html")).to_have_class(re.compile(r"\btext-larger\b"))
    assert page.evaluate("parseFloat(getComputedStyle(document.querySelector('.question-text')).fontSize)") \
        >= size_before * 1.35
    assert kiosk.selected() == [choice]  # nothing reloaded: the chosen but unsent answer is still chosen
    assert kiosk.item_id == "q1"
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()
    page.screenshot(path=screenshots / "text-larger-es-portrait.png", full_page=True)
    page.set_viewport_size(LANDSCAPE)
    page.screenshot(path=screenshots / "text-larger-es-landscape.png", full_page=True)
    page.set_viewport_size(PORTRAIT)
    kiosk.next()
    expect(page.locator("html")).to_have_class(re.compile(r"\btext-larger\b"))  # kept on the next page


def test_read_aloud_speaks_the_question_and_its_choices_in_the_page_s_language(app, kiosk, enrol):
    fake_speech(kiosk.page, "es-US")
    patient = enrol(["qlq_c30"], language="es")
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    button = kiosk.page.get_by_role("button", name=kiosk.t("Read aloud"))
    expect(button).to_be_visible()
    button.click()
    [spoken] = kiosk.page.evaluate("window.spoken")
    assert spoken["lang"] == "es-US"
    assert kiosk.question() in spoken["text"]
    for value in (1, 2, 3, 4):
        assert option_label("qlq_c30", "q1", value, "es") in spoken["text"]


@pytest.mark.parametrize("voice", [None, "fr-FR"])
def test_no_read_aloud_without_a_voice_for_the_language(kiosk, enrol, voice):
    fake_speech(kiosk.page, voice)
    patient = enrol(["qlq_c30"], language="en")
    kiosk.start_with_code(patient.code)
    expect(kiosk.page.locator("#read-aloud")).to_be_hidden()


@pytest.mark.kiosk_settings(kiosk_idle_seconds=8, kiosk_idle_warning_seconds=5)
def test_the_idle_warning_counts_down(kiosk, enrol, screenshots):
    patient = enrol(["qlq_c30"], language="en")
    page = kiosk.page
    kiosk.start_with_code(patient.code)
    countdown = page.locator("#idle-countdown")
    expect(page.locator("#idle-dialog")).to_be_visible(timeout=6_000)
    first = countdown.inner_text()
    assert first.startswith("This screen goes back to the start screen in ")
    page.wait_for_timeout(1_500)
    later = countdown.inner_text()
    seconds = [int("".join(ch for ch in text if ch.isdigit())) for text in (first, later)]
    assert seconds[0] <= 5 and seconds[1] < seconds[0]
    page.screenshot(path=screenshots / "idle-countdown-en-portrait.png")


def test_a_resuming_patient_is_welcomed_back(app, kiosk, enrol, screenshots):
    patient = enrol(["qlq_c30"], language="es")
    page = kiosk.page
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    kiosk.answer(option_label("qlq_c30", "q1", 2, "es"))
    kiosk.next()
    with app.app_context():  # the session ended (the idle timeout); the next day the patient types the code again
        for row in db.session.scalars(select(AuthSession).where(AuthSession.ended_at.is_(None))):
            sessions.end(row, "idle")
        db.session.commit()
    kiosk.open_start()
    kiosk.start_with_code(patient.code)
    assert kiosk.item_id == "q2"
    expect(page.locator(".welcome-back")).to_contain_text("Le damos la bienvenida de nuevo")
    page.screenshot(path=screenshots / "welcome-back-es-portrait.png")
