"""The review screen, the breast module's gates and the language choice, on a touch screen in Chromium
(768 x 1024, 1024 x 768 and a phone at 390 x 844): review → Change → the follow-ups → back to the review; a gate
answer that skips items and a changed one that brings them back; the start screen's language choice over the
registered one, and a language switch that keeps an unsent choice and the review context. Every new screen is
checked with axe and saved as a screenshot in both languages and at the three sizes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from pro_app.assessments import answers
from pro_app.extensions import db, library
from pro_app.instruments import get_instrument
from pro_app.models import Assessment, ItemResponse
from tests.support.browser import PATIENT_SIZES, Kiosk, check_patient_page, option_label

A, B, C = "PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL"


@pytest.fixture
def touch_kiosk(browser, live_server, app):
    """A touch tablet in portrait with a clean profile."""
    context = browser.new_context(base_url=live_server, viewport=PATIENT_SIZES["portrait"], has_touch=True,
                                  is_mobile=True, locale="en-US")
    context.set_default_timeout(10_000)
    yield Kiosk(context.new_page(), app)
    context.close()


def look(kiosk: Kiosk, name: str, screenshots) -> None:
    """At 768x1024, 1024x768 and 390x844: no sideways scrolling, targets of 48 px or more, no word broken in the
    middle, no axe violation; a screenshot of each to look at (tests.support.browser.check_patient_page)."""
    check_patient_page(kiosk, name, screenshots)


def record(app, assessment_id: int, instrument_id: str, given: dict[str, int]) -> None:
    """Answers given earlier on the tablet (the patient resumes after them)."""
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        answers.ensure_plan(assessment)
        instrument = library.get(instrument_id)
        for item_id, value in given.items():
            answers.record(assessment, instrument, item_id, value=value, option_code=None, state="answered",
                           language="en", mode="self", actor="patient")
        db.session.commit()


def stored(app, assessment_id: int) -> dict[str, tuple[str, int | None]]:
    with app.app_context():
        rows = db.session.scalars(select(ItemResponse).where(ItemResponse.assessment_id == assessment_id))
        return {r.item_id: (r.state, r.value) for r in rows}


@pytest.mark.parametrize("lang", ["en", "es"])
def test_review_change_asks_the_follow_ups_and_returns_to_the_review(app, touch_kiosk, enrol, screenshots, lang):
    kiosk, page = touch_kiosk, touch_kiosk.page
    patient = enrol(["qlq_c30", "pro_ctcae"], terms=[9, 17], language=lang)
    record(app, patient.assessment_id, "qlq_c30", {f"q{n}": 2 for n in range(1, 31) if n != 3})
    kiosk.start_with_code(patient.code)
    assert kiosk.item_id == "q3"
    kiosk.skip_confirm()
    page.goto("/kiosk/a")  # on from the first item without a response
    assert kiosk.heading() == get_title("pro_ctcae", lang)
    kiosk.continue_()
    kiosk.answer(option_label("pro_ctcae", "PROCTCAE_9A_SCL", 3, lang))
    kiosk.next()
    kiosk.answer(option_label("pro_ctcae", "PROCTCAE_9B_SCL", 1, lang))
    kiosk.next()
    kiosk.answer(option_label("pro_ctcae", A, 0, lang))  # never: severity and interference are not asked
    kiosk.next()

    # Every item, unanswered first; the answers below, grouped by instrument.
    assert kiosk.path == "/kiosk/a/review"
    assert [n for n, _ in kiosk.review()] == [kiosk.t("Question %(number)s", number=3)]
    assert kiosk.t("You skipped this question.") in page.locator("a.review-link").inner_text()
    assert option_label("pro_ctcae", A, 0, lang) in kiosk.review_entry(A)
    assert kiosk.t("Not asked, because of your answer to question %(number)s.", number=33) in kiosk.review_entry(B)
    assert page.locator("a.review-change").count() == 29 + 2 + 3  # C30 without q3, term 9, term 17
    look(kiosk, "review-full", screenshots)

    # Change an answer whose follow-ups were not asked: they are asked, then the review comes back.
    kiosk.change_from_review(B)  # opens the answer that decided it
    assert kiosk.item_id == A and kiosk.selected() == [option_label("pro_ctcae", A, 0, lang)]
    look(kiosk, "item-from-review", screenshots)
    kiosk.answer(option_label("pro_ctcae", A, 2, lang))
    kiosk.next()
    assert kiosk.item_id == B
    kiosk.answer(option_label("pro_ctcae", B, 3, lang))
    kiosk.next()
    assert kiosk.item_id == C
    kiosk.answer(option_label("pro_ctcae", C, 1, lang))
    kiosk.next()
    assert kiosk.path == "/kiosk/a/review" and page.url.endswith(f"#entry-{C}")
    assert option_label("pro_ctcae", C, 1, lang) in kiosk.review_entry(C)
    # The row just changed is on screen (the patient is back where they were).
    box = page.locator(f"#entry-{C}").bounding_box()
    assert 0 <= box["y"] < PATIENT_SIZES["portrait"]["height"]

    # A plain change, and Back from an item opened from the review, both return to it.
    kiosk.change_from_review("q10")
    kiosk.answer(option_label("qlq_c30", "q10", 4, lang))
    kiosk.next()
    assert kiosk.path == "/kiosk/a/review" and option_label("qlq_c30", "q10", 4, lang) in kiosk.review_entry("q10")
    kiosk.change_from_review("q12")
    kiosk.back()
    assert kiosk.path == "/kiosk/a/review"
    # The skipped one, answered from the top of the list.
    kiosk.open_from_review(3)
    kiosk.answer(option_label("qlq_c30", "q3", 1, lang))
    kiosk.next()
    assert kiosk.review() == []
    kiosk.submit()
    rows = stored(app, patient.assessment_id)
    assert {i: rows[i] for i in ("q3", "q10", A, B, C)} == {
        "q3": ("answered", 1), "q10": ("answered", 4), A: ("answered", 2), B: ("answered", 3), C: ("answered", 1)}


def get_title(instrument_id: str, lang: str) -> str:
    return get_instrument(instrument_id).title.get(lang)


BR45 = [f"q{n}" for n in range(31, 76)]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_gate_answers_skip_the_items_they_rule_out_and_a_change_brings_them_back(app, touch_kiosk, enrol,
                                                                                 screenshots, lang):
    kiosk, page = touch_kiosk, touch_kiosk.page
    patient = enrol(["qlq_br45"], language=lang)
    record(app, patient.assessment_id, "qlq_br45", {"q31": 2, "q32": 2, "q33": 2})
    kiosk.start_with_code(patient.code)
    assert kiosk.item_id == "q34"
    kiosk.answer(option_label("qlq_br45", "q34", 1, lang))  # no hair loss
    kiosk.next()
    assert kiosk.item_id == "q36"  # q35 is not asked: no skip to confirm
    assert kiosk.progress() == kiosk.t("Question %(number)s of %(total)s", number=5, total=44)

    record(app, patient.assessment_id, "qlq_br45", {f"q{n}": 2 for n in range(36, 45)})
    page.goto("/kiosk/a")
    assert kiosk.item_id == "q45"
    kiosk.answer(option_label("qlq_br45", "q45", 1, lang))  # no sexual activity
    kiosk.next()
    assert kiosk.item_id == "q47"  # not q46
    record(app, patient.assessment_id, "qlq_br45", {f"q{n}": 2 for n in range(47, 72)})
    page.goto("/kiosk/a")
    assert kiosk.item_id == "q74"  # not q72, q73
    assert kiosk.progress() == kiosk.t("Question %(number)s of %(total)s", number=40, total=41)
    kiosk.answer(option_label("qlq_br45", "q74", 3, lang))
    kiosk.next()
    kiosk.answer(option_label("qlq_br45", "q75", 3, lang))
    kiosk.next()

    assert kiosk.review() == []
    for item_id, gate in (("q35", 4), ("q46", 14), ("q72", 14), ("q73", 14)):
        assert kiosk.t("Does not apply to you, because of your answer to question %(number)s.", number=gate) \
            in kiosk.review_entry(item_id)
    page.locator("#entry-q35").scroll_into_view_if_needed()
    look(kiosk, "review-gated", screenshots)

    # Some hair loss after all: q35 is asked, its condition above the question, then the review again.
    kiosk.change_from_review("q35")
    assert kiosk.item_id == "q34"
    kiosk.answer(option_label("qlq_br45", "q34", 3, lang))
    kiosk.next()
    assert kiosk.item_id == "q35"
    gate = page.locator(".gate")
    assert gate.inner_text().strip() == get_instrument("qlq_br45").item("q35").gate.instruction.get(lang)
    assert gate.bounding_box()["y"] < page.locator(".question-text").bounding_box()["y"]
    look(kiosk, "item-gated", screenshots)
    kiosk.answer(option_label("qlq_br45", "q35", 2, lang))
    kiosk.next()
    assert kiosk.path == "/kiosk/a/review"
    assert option_label("qlq_br45", "q35", 2, lang) in kiosk.review_entry("q35")
    kiosk.submit()
    rows = stored(app, patient.assessment_id)
    assert {i: rows[i] for i in ("q34", "q35", "q45", "q46", "q72", "q73")} == {
        "q34": ("answered", 3), "q35": ("answered", 2), "q45": ("answered", 1),
        "q46": ("not_applicable", None), "q72": ("not_applicable", None), "q73": ("not_applicable", None)}


def test_the_language_picked_on_the_start_screen_wins_and_a_switch_keeps_the_choice(app, touch_kiosk, enrol,
                                                                                    screenshots):
    kiosk, page = touch_kiosk, touch_kiosk.page
    patient = enrol(["pro_ctcae"], terms=[17], language="en")
    kiosk.open_start()
    assert kiosk.lang == "en"
    kiosk.switch_language("es")  # registered in English; picks Spanish on the start screen
    kiosk.start_with_code(patient.code)
    assert kiosk.lang == "es"
    kiosk.continue_()
    assert kiosk.lang == "es"

    # A choice made but not sent stays chosen across a switch, and is not in the address.
    kiosk.answer(option_label("pro_ctcae", A, 3, "es"))
    kiosk.switch_language("en")
    assert kiosk.item_id == A and "choice" not in page.url
    assert kiosk.selected() == [option_label("pro_ctcae", A, 3, "en")]
    kiosk.next()
    assert kiosk.item_id == B
    kiosk.answer(option_label("pro_ctcae", B, 1, "en"))
    kiosk.next()
    kiosk.answer(option_label("pro_ctcae", C, 1, "en"))
    kiosk.next()

    # From the review: switched mid-change, the choice and the way back to the review are both kept.
    kiosk.change_from_review(B)
    kiosk.answer(option_label("pro_ctcae", B, 2, "en"))
    kiosk.switch_language("es")
    assert kiosk.selected() == [option_label("pro_ctcae", B, 2, "es")]
    kiosk.next()
    assert kiosk.path == "/kiosk/a/review" and kiosk.lang == "es"
    look(kiosk, "review-after-switch", screenshots)
    kiosk.submit()
    rows = stored(app, patient.assessment_id)
    assert rows[A] == ("answered", 3) and rows[B] == ("answered", 2)
    with app.app_context():
        languages = dict(db.session.execute(select(ItemResponse.item_id, ItemResponse.language).where(
            ItemResponse.assessment_id == patient.assessment_id)).all())
    assert languages == {A: "en", B: "es", C: "en"}


def test_without_a_pick_the_registered_language_is_used(touch_kiosk, enrol):
    kiosk = touch_kiosk
    patient = enrol(["pro_ctcae"], terms=[17], language="es")
    kiosk.open_start()
    assert kiosk.lang == "en"  # the browser's language, until the patient is known
    kiosk.start_with_code(patient.code)
    assert kiosk.lang == "es"
