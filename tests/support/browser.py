"""A patient at the tablet: small helpers for the kiosk screens, in whatever language the page shows.

Buttons and links are found by their accessible name in the page's current language, translated through
the app's own catalogs, so a helper fails when a screen is not in the language it claims to be in.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask
from flask_babel import gettext
from playwright.sync_api import Page

from pro_app.instruments import get_instrument

PORTRAIT = {"width": 768, "height": 1024}
LANDSCAPE = {"width": 1280, "height": 800}
VIEWPORTS = {"portrait": PORTRAIT, "landscape": LANDSCAPE}
ITEM_PATH = re.compile(r"/kiosk/a/item/([^/?]+)$")


_translated: dict[tuple, str] = {}


def translate(app: Flask, lang: str, message: str, **params) -> str:
    """The interface string `message` as the app renders it in `lang` (every test app reads the same
    catalogs, so the result is kept for the whole run)."""
    key = (lang, message, tuple(sorted(params.items())))
    if key not in _translated:
        with app.test_request_context("/", query_string={"lang": lang}):
            _translated[key] = str(gettext(message, **params))
    return _translated[key]


def option_label(instrument_id: str, item_id: str, value: int | str, lang: str) -> str:
    """The label of an item's option (by value, or by code for an extra option) in `lang`."""
    for option in get_instrument(instrument_id).item(item_id).option_set.options:
        if value in (option.value, option.code):
            return option.label.get(lang)
    raise KeyError((item_id, value))


def item_text(instrument_id: str, item_id: str, lang: str) -> str:
    return get_instrument(instrument_id).item(item_id).text.get(lang)


class Kiosk:
    """The patient's actions. Each action that leaves the page waits for the next page to load."""

    def __init__(self, page: Page, app: Flask):
        self.page = page
        self.app = app
        self._lang: str | None = None
        page.on("framenavigated", self._forget_language)

    def _forget_language(self, frame) -> None:
        if frame == self.page.main_frame:
            self._lang = None

    # What is on the screen -------------------------------------------------------------------------

    @property
    def lang(self) -> str:
        """The language of the page shown (read once per page)."""
        if self._lang is None:
            self._lang = self.page.locator("html").get_attribute("lang")
        return self._lang

    def t(self, message: str, **params) -> str:
        """`message` in the language of the page now shown."""
        return translate(self.app, self.lang, message, **params)

    @property
    def path(self) -> str:
        return urlsplit(self.page.url).path

    @property
    def item_id(self) -> str | None:
        match = ITEM_PATH.search(self.path)
        return match.group(1) if match else None

    def heading(self) -> str:
        return self.page.locator("h1").first.inner_text().strip()

    def question(self) -> str:
        return self.page.locator(".question-text").inner_text().strip()

    def progress(self) -> str:
        return self.page.locator(".progress-text").inner_text().strip()

    def selected(self) -> list[str]:
        """Labels of the options shown as chosen (an item never arrives with a choice it was not given)."""
        return self.page.eval_on_selector_all(
            "input[type=radio]:checked", "inputs => inputs.map(i => i.labels[0].textContent.trim())")

    def on_start_screen(self) -> bool:
        return self.path == "/kiosk/" and self.page.locator("#code").count() == 1

    # Actions ---------------------------------------------------------------------------------------

    def tap_and_wait(self, locator) -> None:
        """Tap a control that leads to another page, and wait for that page to load and take taps (a
        patient page ignores taps for a moment after it is shown: tap-guard.js)."""
        self.wait_until_taps_count()  # a page opened with goto() or reload() too
        with self.page.expect_navigation():
            locator.click()
        self.wait_until_taps_count()

    def wait_until_taps_count(self) -> None:
        self.page.wait_for_selector("html:not([data-quiet])", state="attached")

    def button(self, message: str, **params):
        return self.page.get_by_role("button", name=self.t(message, **params), exact=True)

    def link(self, message: str, **params):
        return self.page.get_by_role("link", name=self.t(message, **params), exact=True)

    def open_start(self, lang: str | None = None) -> None:
        self.page.goto("/kiosk/" + (f"?lang={lang}" if lang else ""))

    def start_with_code(self, code: str) -> None:
        if not self.on_start_screen():
            self.open_start()
        self.page.get_by_label(self.t("Your code"), exact=True).fill(code)
        self.tap_and_wait(self.button("Start"))

    def continue_(self) -> None:
        """Past an instrument's instructions."""
        self.tap_and_wait(self.button("Continue"))

    def answer(self, label: str) -> None:
        """Tap the option with this label (no page change: the patient still has to press Next)."""
        self.wait_until_taps_count()
        self.page.locator(".options").get_by_text(label, exact=True).click()
        assert self.selected() == [label]

    def next(self) -> None:
        self.tap_and_wait(self.button("Next"))

    def skip(self) -> None:
        """Press Skip: the confirmation screen."""
        self.tap_and_wait(self.link("Skip"))

    def skip_confirm(self) -> None:
        """Skip the item and confirm it (stored as declined)."""
        self.skip()
        self.confirm_skip()

    def confirm_skip(self) -> None:
        """On the skip confirmation screen: yes, skip it."""
        self.tap_and_wait(self.button("Yes, skip it"))

    def back(self) -> None:
        self.tap_and_wait(self.link("Back"))

    def switch_language(self, code: str) -> None:
        self.tap_and_wait(self.page.locator(f'nav.language a[hreflang="{code}"]'))
        assert self.lang == code

    def review(self) -> list[tuple[str, str]]:
        """On the review screen: the listed items without an answer, as (number label, question text)."""
        assert self.path == "/kiosk/a/review", self.path
        links = self.page.locator("a.review-link")
        return [(links.nth(n).locator(".review-number").inner_text().strip(),
                 links.nth(n).locator(".review-text").inner_text().strip()) for n in range(links.count())]

    def walk_to_review(self, limit: int = 200) -> None:
        """Press Next until the review screen, confirming the skip again on an item that has no answer."""
        for _ in range(limit):
            if self.path == "/kiosk/a/review":
                return
            if self.selected():
                self.next()
            else:
                self.skip_confirm()
        raise AssertionError("the review screen was not reached")

    def change_from_review(self, item_id: str) -> None:
        """On the review screen: press "Change" beside the item (for an item not asked, it opens the answer
        that decided it)."""
        self.tap_and_wait(self.page.locator(f"#entry-{item_id} a.review-change"))

    def review_entry(self, item_id: str) -> str:
        """The text of an item's row on the review screen."""
        return " ".join(self.page.locator(f"#entry-{item_id}").inner_text().split())

    def open_from_review(self, number: int) -> None:
        number_label = self.page.get_by_text(self.t("Question %(number)s", number=number), exact=True)
        self.tap_and_wait(self.page.locator("a.review-link").filter(has=number_label))

    def submit(self) -> None:
        # The review screen has Finish at the top and, below the answers, at the end.
        self.tap_and_wait(self.button("Finish and send my answers").first)
        assert self.path == "/kiosk/thanks", self.path


# The sizes a patient page must work at: a tablet in portrait and in landscape, and a phone in portrait.
PATIENT_SIZES = {"portrait": {"width": 768, "height": 1024}, "landscape": {"width": 1024, "height": 768},
                 "phone": {"width": 390, "height": 844}}

# Every control a finger has to hit: links, buttons, option labels, text fields (the radio inputs are visually
# hidden on purpose: their labels are the targets; the skip link shows only on keyboard focus).
TARGETS_TOO_SMALL = """() => [...document.querySelectorAll(
    'a[href], button, label.option-label, input:not([type=hidden]):not([type=radio]), select, textarea')]
  .filter(el => el.checkVisibility() && !el.classList.contains('skip-link'))
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, box]) => box.width < 48 || box.height < 48)
  .map(([el, box]) => `${el.outerHTML.slice(0, 100)}: ${box.width} x ${box.height}`)"""

# Elements wider than the screen, or reaching past its right edge (what makes a page scroll sideways).
WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.checkVisibility() && getComputedStyle(el).position !== 'fixed')
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, box]) => box.right > document.documentElement.clientWidth + 0.5 || box.left < -0.5)
  .filter(([el]) => !el.classList.contains('skip-link') && !el.closest('.visually-hidden'))
  .map(([el, box]) => `${el.outerHTML.slice(0, 80)}: ${box.left}..${box.right}`).slice(0, 5)"""

# Words too wide for their box, which the stylesheet's overflow-wrap then breaks in the middle ("(Excelente" / ")");
# a line may break after a hyphen ("PRO-CTCAE-style").
WORDS_BROKEN = """() => {
  const ctx = document.createElement('canvas').getContext('2d');
  const texts = 'main h1, main h2, main h3, .question-text, .option-label, .review-text, .review-state, '
    + '.review-answer, .button, .lead, .message, .error';
  return [...document.querySelectorAll(texts)]
    .filter(el => el.checkVisibility() && el.clientWidth > 0)
    .flatMap(el => {
      const cs = getComputedStyle(el);
      ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      const room = el.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
      const shown = el.cloneNode(true);  // the text on the screen, not what is there for a screen reader only
      shown.querySelectorAll('.visually-hidden').forEach(node => node.remove());
      return shown.textContent.trim().split(/\\s+|(?<=-)/).filter(w => ctx.measureText(w).width > room + 1)
        .map(w => `${w} (${Math.round(ctx.measureText(w).width)} px in ${Math.round(room)} px)`);
    });
}"""

_axe = None


def check_patient_page(kiosk: Kiosk, name: str, screenshots, *, text_size: str = "normal", min_text: float = 18,
                       next_on_screen: bool = False) -> None:
    """At each of PATIENT_SIZES: no sideways scrolling, base text >= `min_text` px, targets >= 48 x 48 px, no axe
    violation (and, for a question, Next on a tablet's screen without scrolling); a screenshot of each, to look
    at. `text_size` is the text size the page must show (the patient's choice, kept in the session)."""
    global _axe
    from axe_playwright_python.sync_playwright import Axe
    _axe = _axe or Axe()
    page = kiosk.page
    lang = kiosk.lang
    shown_size = page.evaluate(
        "(document.documentElement.className.match(/\\btext-(large|larger)\\b/) || [, 'normal'])[1]")
    assert shown_size == text_size, f"{name} ({lang}): text size {shown_size}, not {text_size}"
    suffix = "" if text_size == "normal" else f"-text-{text_size}"
    for orientation, size in PATIENT_SIZES.items():
        page.set_viewport_size(size)
        where = f"{name} ({lang}, {orientation} {size['width']}x{size['height']}, text {text_size})"
        # First, so that a failure can be looked at too.
        page.screenshot(path=screenshots / f"{name}-{lang}-{orientation}{suffix}.png", full_page=True)
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"{where}: scrolls sideways {widths}: {page.evaluate(WIDER_THAN_THE_SCREEN)}"
        font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert font_size >= min_text, f"{where}: body text {font_size}px"
        assert page.evaluate(TARGETS_TOO_SMALL) == [], where
        broken = page.evaluate(WORDS_BROKEN)
        assert broken == [], f"{where}: words broken in the middle: {broken}"
        if next_on_screen and orientation != "phone" and text_size == "normal":
            box = kiosk.button("Next").bounding_box()
            assert box["y"] + box["height"] <= size["height"], f"{where}: Next is below the fold ({box})"
        results = _axe.run(page)
        assert results.violations_count == 0, f"{where}: {results.generate_report()}"
    page.set_viewport_size(PATIENT_SIZES["portrait"])
