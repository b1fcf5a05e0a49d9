"""The patient's tablet in a real browser: whole assessments in both languages, skips, Back, branching,
review, idle reset and resume, the browser's Back button after a patient is done, staff hand-off."""

from __future__ import annotations

import re
import time

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import Assessment, AuditEvent, ItemResponse, Score
from tests.support.browser import PATIENT_SIZES, PORTRAIT, VIEWPORTS, Kiosk, check_patient_page, item_text, option_label
from tests.support.database import ON_POSTGRES
from tests.support.http import PASSWORD

AXE = Axe()
C30_ITEMS = [f"q{n}" for n in range(1, 31)]


def c30_value(item_id: str) -> int:
    """The answer this test gives to a C30 item: varied, within the item's scale."""
    n = int(item_id[1:])
    return (n % 7) + 1 if n >= 29 else (n % 4) + 1


def stored(assessment_id: int) -> tuple[Assessment, dict[str, ItemResponse]]:
    assessment = db.session.get(Assessment, assessment_id)
    rows = db.session.scalars(select(ItemResponse).where(ItemResponse.assessment_id == assessment_id)).all()
    return assessment, {r.item_id: r for r in rows}


def test_a_whole_assessment_in_spanish(app, kiosk, enrol):
    """C30 and two PRO-CTCAE terms in Spanish: skips, Back to change an answer, branching, the review
    screen, an answer given from the review, submit; every item stored in its final state, in Spanish."""
    patient = enrol(["qlq_c30", "pro_ctcae"], terms=[17, 9], language="es")
    page = kiosk.page
    kiosk.start_with_code(patient.code.lower())

    # The participant's language is chosen for them: the whole interface and the questions in Spanish.
    assert kiosk.lang == "es"
    assert kiosk.heading() == get_instrument("qlq_c30").title.get("es")
    assert kiosk.t("Continue") != "Continue"
    kiosk.continue_()

    expected = {item_id: c30_value(item_id) for item_id in C30_ITEMS}
    expected["q2"] = 4  # changed after going Back
    for item_id in C30_ITEMS:
        assert kiosk.item_id == item_id
        assert kiosk.question() == item_text("qlq_c30", item_id, "es")
        assert kiosk.selected() == []  # nothing pre-filled
        if item_id in ("q5", "q27"):
            kiosk.skip()
            assert kiosk.heading() == kiosk.t("Skip this question?")
            assert page.locator(".quoted-question").inner_text().strip() == item_text("qlq_c30", item_id, "es")
            kiosk.confirm_skip()
            continue
        if item_id == "q3":
            kiosk.back()
            assert kiosk.item_id == "q2"
            assert kiosk.selected() == [option_label("qlq_c30", "q2", c30_value("q2"), "es")]
            kiosk.answer(option_label("qlq_c30", "q2", 4, "es"))
            kiosk.next()
            assert kiosk.item_id == "q3"
            assert kiosk.selected() == []
        kiosk.answer(option_label("qlq_c30", item_id, c30_value(item_id), "es"))
        kiosk.next()

    assert kiosk.heading() == get_instrument("pro_ctcae").title.get("es")
    kiosk.continue_()
    assert kiosk.item_id == "PROCTCAE_9A_SCL"
    kiosk.answer("Nunca")
    kiosk.next()
    # "Never" nauseated: the severity item of that term is not asked; the total shrinks from 35 to 34.
    assert kiosk.item_id == "PROCTCAE_17A_SCL"
    assert kiosk.progress() == kiosk.t("Question %(number)s of %(total)s", number=32, total=34)
    kiosk.answer("Con frecuencia")
    kiosk.next()
    kiosk.answer("Moderada")
    kiosk.next()
    assert kiosk.item_id == "PROCTCAE_17C_SCL"
    kiosk.skip_confirm()

    listed = kiosk.review()
    assert kiosk.heading() == kiosk.t("Check and finish")
    assert listed == [
        (kiosk.t("Question %(number)s", number=5), item_text("qlq_c30", "q5", "es")),
        (kiosk.t("Question %(number)s", number=27), item_text("qlq_c30", "q27", "es")),
        (kiosk.t("Question %(number)s", number=34), item_text("pro_ctcae", "PROCTCAE_17C_SCL", "es")),
    ]
    kiosk.open_from_review(27)
    assert kiosk.item_id == "q27"
    assert kiosk.selected() == []
    kiosk.answer(option_label("qlq_c30", "q27", c30_value("q27"), "es"))
    kiosk.next()
    kiosk.walk_to_review()
    assert [number for number, _ in kiosk.review()] == [kiosk.t("Question %(number)s", number=n) for n in (5, 34)]
    kiosk.submit()
    assert kiosk.lang == "es"
    assert kiosk.heading() == kiosk.t("Thank you")

    with app.app_context():
        assessment, rows = stored(patient.assessment_id)
        assert assessment.status == "completed" and assessment.completed_at is not None
        assert assessment.mode == "self"
        states = {item_id: (r.state, r.value) for item_id, r in rows.items()}
        assert states == {
            **{i: ("answered", v) for i, v in expected.items() if i != "q5"},
            "q5": ("declined", None),
            "PROCTCAE_9A_SCL": ("answered", 0),
            "PROCTCAE_9B_SCL": ("branched", None),
            "PROCTCAE_17A_SCL": ("answered", 3),
            "PROCTCAE_17B_SCL": ("answered", 2),
            "PROCTCAE_17C_SCL": ("declined", None),
        }
        assert {r.language for r in rows.values()} == {"es"}
        assert {r.mode for r in rows.values()} == {"self"}
        # A changed answer keeps the earlier one in the audit trail (a skip answered later too).
        changes = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "item.change")).all()
        assert [(c.old["item"], c.old["state"], c.old["value"], c.new["value"]) for c in changes] == [
            ("q2", "answered", c30_value("q2"), 4), ("q27", "declined", None, expected["q27"])]
        scores = {s.scale_code: s for s in db.session.scalars(select(Score).where(
            Score.assessment_id == patient.assessment_id))}
        assert {"QL2", "PF2", "FA", "PROCTCAE_9_COMP", "PROCTCAE_17_COMP"} <= scores.keys()
        assert scores["QL2"].status == "scored"
        assert scores["QL2"].value == ((expected["q29"] + expected["q30"]) / 2 - 1) / 6 * 100
        assert scores["PF2"].n_items == 4  # q5 declined
        assert (scores["PROCTCAE_9_COMP"].status, scores["PROCTCAE_9_COMP"].value) == ("scored", 0.0)


BR45_ITEMS = list(get_instrument("qlq_br45").item_ids)


def test_english_run_with_a_gated_item_and_a_language_switch(app, kiosk, enrol):
    """BR45 in English, switched to Spanish for two items and back: each answer is stored in the
    language it was shown in; after "no hair loss" the hair-loss item is not asked at all."""
    patient = enrol(["qlq_br45"], language="en")
    kiosk.start_with_code(patient.code)
    assert kiosk.lang == "en"
    assert kiosk.heading() == get_instrument("qlq_br45").title.get("en")
    kiosk.continue_()

    shown_in = {}
    answers = {item_id: 1 if item_id == "q34" else (int(item_id[1:]) % 4) + 1 for item_id in BR45_ITEMS}
    asked = [i for i in BR45_ITEMS if i != "q35"]  # no hair loss (q34 = "Not at all"): q35 does not apply
    for item_id in asked:
        assert kiosk.item_id == item_id
        if item_id == "q32":
            kiosk.switch_language("es")
            assert kiosk.item_id == "q32"
        elif item_id == "q34":
            kiosk.switch_language("en")
        lang = kiosk.lang
        assert kiosk.question() == item_text("qlq_br45", item_id, lang)
        assert kiosk.selected() == []
        shown_in[item_id] = lang
        if item_id == "q33":
            assert kiosk.link("Skip").is_visible() and kiosk.button("Next").is_visible()  # Spanish buttons
        kiosk.answer(option_label("qlq_br45", item_id, answers[item_id], lang))
        kiosk.next()

    assert kiosk.review() == []
    assert kiosk.t("Does not apply to you, because of your answer to question %(number)s.", number=4) in \
        kiosk.review_entry("q35")
    kiosk.submit()
    assert kiosk.lang == "en"

    assert [i for i, lang in shown_in.items() if lang == "es"] == ["q32", "q33"]
    with app.app_context():
        assessment, rows = stored(patient.assessment_id)
        assert assessment.status == "completed"
        assert {i: r.language for i, r in rows.items() if i != "q35"} == shown_in
        assert {i: (r.state, r.value) for i, r in rows.items()} == {
            i: ("not_applicable", None) if i == "q35" else ("answered", answers[i]) for i in BR45_ITEMS}
        scores = {s.scale_code: s for s in db.session.scalars(select(Score).where(
            Score.assessment_id == patient.assessment_id))}
        assert (scores["HU"].status, scores["HU"].value) == ("not_applicable", None)


def test_an_answer_given_from_the_review_leads_back_to_the_review(kiosk, enrol):
    """A skipped question answered from the review screen: Next returns to the review."""
    patient = enrol(["pro_ctcae"], terms=[17], language="en")
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    kiosk.answer("Frequently")
    kiosk.next()
    kiosk.skip_confirm()
    kiosk.answer("A little bit")
    kiosk.next()
    assert [number for number, _ in kiosk.review()] == [kiosk.t("Question %(number)s", number=2)]
    kiosk.open_from_review(2)
    kiosk.answer("Mild")
    kiosk.next()
    assert kiosk.path == "/kiosk/a/review"


def assert_nothing_of_the_patient_shown(kiosk, texts: list[str]) -> None:
    """The page is the start screen and shows no question, no option and no answer."""
    assert kiosk.on_start_screen(), kiosk.page.url
    assert kiosk.page.locator(".question-text, .options, .review-list, .quoted-question").count() == 0
    assert kiosk.selected() == []
    body = kiosk.page.locator("body").inner_text()
    assert not [t for t in texts if t in body]


@pytest.mark.kiosk_settings(kiosk_idle_seconds=6, kiosk_idle_warning_seconds=3)
def test_idle_tablet_warns_returns_to_start_and_resumes(app, kiosk, enrol, screenshots):
    """Left alone, the tablet warns, then goes back to the start screen (Back shows nothing); the
    code brings the patient back to where they were, with nothing lost."""
    patient = enrol(["qlq_c30"], language="en")
    page = kiosk.page
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    for item_id in ("q1", "q2"):
        kiosk.answer(option_label("qlq_c30", item_id, c30_value(item_id), "en"))
        kiosk.next()
    assert kiosk.item_id == "q3"
    shown_at = time.monotonic()

    dialog = page.locator("#idle-dialog")
    expect(dialog).to_be_visible(timeout=5_000)
    assert time.monotonic() - shown_at >= 2.5  # after idle - warning seconds, not at once
    assert dialog.get_by_role("heading").inner_text() == kiosk.t("Are you still there?")
    assert dialog.evaluate("d => d.open && d.matches(':modal')")
    expect(kiosk.button("I am still here")).to_be_visible()
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()
    page.screenshot(path=screenshots / "idle-warning-en-portrait.png")

    page.wait_for_url("**/kiosk/?m=ended", timeout=6_000)  # the page clears itself first (kiosk.js)...
    page.wait_for_selector("#code")  # ...then the start screen comes from the server
    assert kiosk.on_start_screen()
    assert page.get_by_role("status").inner_text() == kiosk.t(
        "Your session has ended. Your answers are saved: enter your code to carry on.")

    # The browser's Back button on the shared tablet: nothing of the patient's comes back.
    texts = [item_text("qlq_c30", i, "en") for i in ("q1", "q2", "q3")]
    for _ in range(3):
        page.go_back()
        assert_nothing_of_the_patient_shown(kiosk, texts)
    page.reload()
    assert_nothing_of_the_patient_shown(kiosk, texts)

    kiosk.start_with_code(patient.code)
    assert kiosk.item_id == "q3"
    assert kiosk.selected() == []
    kiosk.back()
    assert kiosk.selected() == [option_label("qlq_c30", "q2", c30_value("q2"), "en")]
    with app.app_context():
        assessment, rows = stored(patient.assessment_id)
        assert assessment.status == "in_progress"
        assert {i: (r.state, r.value) for i, r in rows.items()} == {
            "q1": ("answered", c30_value("q1")), "q2": ("answered", c30_value("q2"))}


# The warning comes 8 s after the last activity: the two 5 s pauses (10 s on the page, past the timeout)
# leave 3 s for a click on a loaded machine (with 4 s and two 2 s pauses, CI's clicks ran into the warning).
@pytest.mark.kiosk_settings(kiosk_idle_seconds=10, kiosk_idle_warning_seconds=2)
def test_a_patient_using_the_screen_is_not_timed_out(app, kiosk, enrol):
    """Tapping the screen counts as activity: the answer is saved and the next question shown."""
    patient = enrol(["qlq_c30"], language="en")
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    kiosk.page.wait_for_timeout(5_000)
    kiosk.answer(option_label("qlq_c30", "q1", 2, "en"))  # 5 s on the page, then a tap...
    kiosk.page.wait_for_timeout(5_000)  # ...and Next 5 s later (10 s on the page): no warning, the patient is here
    assert not kiosk.page.locator("#idle-dialog[open]").count()
    kiosk.next()
    assert kiosk.item_id == "q2", kiosk.page.url
    with app.app_context():
        assert {i: r.value for i, r in stored(patient.assessment_id)[1].items()} == {"q1": 2}


@pytest.mark.kiosk_settings(kiosk_thanks_seconds=2)
def test_the_thank_you_screen_returns_to_the_start_screen_by_itself(kiosk, enrol):
    patient = enrol(["pro_ctcae"], terms=[1], language="es")
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    kiosk.answer(option_label("pro_ctcae", "PROCTCAE_1A_SCL", 0, "es"))
    kiosk.next()
    kiosk.submit()
    assert kiosk.heading() == kiosk.t("Thank you")
    kiosk.page.wait_for_url("**/kiosk/", timeout=10000)  # no tap needed: ready for the next patient
    assert kiosk.on_start_screen()
    kiosk.page.go_back()  # and Back does not bring the thank-you screen (or anything else) back
    assert kiosk.on_start_screen()


def test_back_button_after_submit_shows_nothing_and_nothing_is_prefilled(app, kiosk, enrol):
    """No item arrives with a choice, a tap does not move on by itself, and after the patient is done
    the browser's Back button and a reload show only the start screen."""
    patient = enrol(["pro_ctcae"], terms=[9], language="en")
    page = kiosk.page
    kiosk.start_with_code(patient.code)
    kiosk.continue_()
    for item_id, label in (("PROCTCAE_9A_SCL", "Occasionally"), ("PROCTCAE_9B_SCL", "Severe")):
        assert kiosk.item_id == item_id
        assert kiosk.selected() == []
        assert page.locator("input[type=radio][checked]").count() == 0
        kiosk.answer(label)
        page.wait_for_timeout(600)  # no auto-advance: still here, with the choice shown
        assert kiosk.item_id == item_id and kiosk.selected() == [label]
        kiosk.next()
    kiosk.submit()

    texts = [item_text("pro_ctcae", i, "en") for i in ("PROCTCAE_9A_SCL", "PROCTCAE_9B_SCL")] + [
        "Occasionally", "Severe"]
    for _ in range(4):  # review, 9B, 9A, intro
        page.go_back()
        assert_nothing_of_the_patient_shown(kiosk, texts)
        page.reload()
        assert_nothing_of_the_patient_shown(kiosk, texts)
    with app.app_context():
        assert db.session.get(Assessment, patient.assessment_id).status == "completed"


def staff_login(kiosk, email: str) -> None:
    page = kiosk.page
    page.goto("/staff/login")
    page.get_by_label(kiosk.t("Email"), exact=True).fill(email)
    page.get_by_label(kiosk.t("Password"), exact=True).fill(PASSWORD)
    kiosk.tap_and_wait(kiosk.button("Log in"))
    assert kiosk.path == "/staff/today"  # the landing page is today's work
    page.goto("/staff/")  # the assessments list, where the tablet is handed over


def hand_over(kiosk, participant_code: str) -> None:
    row = kiosk.page.get_by_role("row").filter(has=kiosk.page.get_by_role("cell", name=participant_code, exact=True))
    kiosk.tap_and_wait(row.get_by_role("button", name=kiosk.t("Start on this tablet"), exact=True))


def test_staff_hand_off_and_leaving_patient_mode(app, kiosk, enrol, create_staff, screenshots):
    """A coordinator starts the questionnaire on this tablet for a Spanish-speaking participant; the
    patient sees it in Spanish; staff leave patient mode with their password and are back on the list."""
    patient = enrol(["pro_ctcae"], terms=[9], language="es")
    staff = create_staff(studies=[patient.study])
    page = kiosk.page
    staff_login(kiosk, staff.email)
    check_layout_and_accessibility(kiosk, "staff-dashboard", screenshots)
    hand_over(kiosk, patient.participant.study_code)

    assert kiosk.lang == "es"
    assert kiosk.heading() == get_instrument("pro_ctcae").title.get("es")
    kiosk.continue_()
    assert kiosk.question() == item_text("pro_ctcae", "PROCTCAE_9A_SCL", "es")
    kiosk.answer("Nunca")
    kiosk.next()

    kiosk.tap_and_wait(kiosk.link("Staff only: leave patient mode"))
    assert kiosk.heading() == kiosk.t("Leave patient mode")
    page.get_by_label(kiosk.t("Staff password"), exact=True).fill("not the password")
    page.get_by_label(kiosk.t("Staff email"), exact=True).fill(staff.email)
    kiosk.tap_and_wait(kiosk.button("Leave patient mode"))
    assert page.get_by_role("alert").inner_text() == kiosk.t("Those staff details were not accepted.")
    page.get_by_label(kiosk.t("Staff email"), exact=True).fill(staff.email)
    page.get_by_label(kiosk.t("Staff password"), exact=True).fill(PASSWORD)
    kiosk.tap_and_wait(kiosk.button("Leave patient mode"))
    assert kiosk.path == "/staff/"
    assert kiosk.heading() == kiosk.t("Assessments")
    # Patient mode is over: the questionnaire is not reachable from this browser any more.
    page.goto("/kiosk/a")
    assert kiosk.on_start_screen()
    with app.app_context():
        assessment, rows = stored(patient.assessment_id)
        # Handed the tablet, the patient answers by themselves: self-administered, in Spanish.
        assert {i: (r.state, r.language, r.mode) for i, r in rows.items()} == {
            "PROCTCAE_9A_SCL": ("answered", "es", "self")}
        assert (assessment.status, assessment.mode) == ("in_progress", "self")


# Every control a finger has to hit: links, buttons, option labels, text fields. (The radio inputs are
# visually hidden on purpose: their labels are the targets.)
TARGETS_TOO_SMALL = """() => [...document.querySelectorAll(
    'a[href], button, label.option-label, input:not([type=hidden]):not([type=radio]), select, textarea')]
  .filter(el => el.checkVisibility())
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, box]) => box.width < 48 || box.height < 48)
  .map(([el, box]) => `${el.outerHTML.slice(0, 100)}: ${box.width} x ${box.height}`)"""


def check_layout_and_accessibility(kiosk, name: str, screenshots, *, next_on_screen: bool = False) -> None:
    """At both tablet sizes: no sideways scrolling, base text >= 18 px, targets >= 48 x 48 px, no axe
    violations (and, for a question, Next reachable without scrolling); a screenshot of each to look at."""
    page = kiosk.page
    lang = kiosk.lang
    for orientation, size in VIEWPORTS.items():
        page.set_viewport_size(size)
        where = f"{name} ({lang}, {orientation})"
        widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1], f"{where}: scrolls sideways {widths}"
        font_size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert font_size >= 18, f"{where}: body text {font_size}px"
        assert page.evaluate(TARGETS_TOO_SMALL) == [], where
        if next_on_screen:
            box = kiosk.button("Next").bounding_box()
            assert box["y"] + box["height"] <= size["height"], f"{where}: Next is below the fold"
        results = AXE.run(page)
        assert results.violations_count == 0, f"{where}: {results.generate_report()}"
        page.screenshot(path=screenshots / f"{name}-{lang}-{orientation}.png", full_page=True)
    page.set_viewport_size(PORTRAIT)


@pytest.fixture
def touch_kiosk(browser, live_server, app):
    """A touch screen with a clean profile (the walk below sets each size in turn)."""
    context = browser.new_context(base_url=live_server, viewport=PORTRAIT, has_touch=True, is_mobile=True,
                                  locale="en-US")
    context.set_default_timeout(10_000)
    yield Kiosk(context.new_page(), app)
    context.set_offline(False)
    context.close()


# The walk checks what templates and CSS draw (12 page sizes per language): it runs in the SQLite pass only, to
# keep CI's two passes within their time; the pages' behaviour on PostgreSQL is walked by the other browser tests.
@pytest.mark.skipif(ON_POSTGRES, reason="layout and axe checks do not depend on the database: run in the SQLite pass")
@pytest.mark.parametrize("text_size", ["normal", "larger"])
@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_patient_page_fits_the_tablet_and_passes_axe(app, touch_kiosk, enrol, screenshots, lang, text_size):
    """Every patient page at 768x1024, 1024x768 and 390x844 (check_patient_page), at the normal and at the
    largest text size of the text-size control: start screen and a wrong code, instructions, items of each
    instrument (also the tallest, one with its "answer only if" note, and one with an error), skip
    confirmation, a page after a language switch, the connection-lost banner, the review, the idle warning,
    staff exit and thank-you screens."""
    kiosk = touch_kiosk
    patient = enrol(["pro_ctcae", "qlq_c30", "qlq_br45"], terms=[17], language=lang)
    page = kiosk.page
    larger = text_size == "larger"

    def look(name: str, **kwargs) -> None:
        check_patient_page(kiosk, name, screenshots, text_size=text_size, **kwargs)

    kiosk.open_start(lang)
    if not larger:  # before the code, there is no text size to choose
        check_patient_page(kiosk, "start", screenshots)
        page.get_by_label(kiosk.t("Your code"), exact=True).fill("ACDE-FGH3")
        kiosk.tap_and_wait(kiosk.button("Start"))
        expect(page.get_by_role("status")).to_have_text(kiosk.t(
            "That code was not recognised. Please check it and try again, or ask a member of staff."))
        check_patient_page(kiosk, "start-wrong-code", screenshots)
    kiosk.start_with_code(patient.code)
    assert kiosk.lang == lang
    if larger:
        page.get_by_role("button", name=kiosk.t("Largest text"), exact=True).click()
        expect(page.locator("html")).to_have_class(re.compile(r"\btext-larger\b"))
    look("intro")
    kiosk.continue_()
    expect(page.locator(".progress-text")).to_be_visible()
    assert kiosk.item_id == "PROCTCAE_17A_SCL"
    look("item", next_on_screen=True)
    kiosk.skip()
    look("skip-confirm")
    kiosk.confirm_skip()
    kiosk.answer(option_label("pro_ctcae", "PROCTCAE_17B_SCL", 1, lang))
    kiosk.next()
    kiosk.skip_confirm()
    # The tallest question (a 7-point scale), opened directly, then with the "please choose" error.
    page.goto("/kiosk/a/item/q29")
    look("item-7-point", next_on_screen=True)
    kiosk.next()
    expect(page.get_by_role("alert")).to_have_text(kiosk.t("Please choose an answer, or press Skip."))
    look("item-error")

    # A choice made, then the other language: the same question, the choice kept.
    other = "es" if lang == "en" else "en"
    page.goto("/kiosk/a/item/q30")
    kiosk.answer(option_label("qlq_c30", "q30", 6, lang))
    kiosk.switch_language(other)
    assert kiosk.selected() == [option_label("qlq_c30", "q30", 6, other)]
    look("item-language-switched", next_on_screen=True)
    kiosk.switch_language(lang)

    # The Wi-Fi drops as Next is pressed: the banner over the question, the choice kept.
    page.context.set_offline(True)
    kiosk.button("Next").tap()
    expect(page.locator("#connection-banner")).to_be_visible()
    look("connection-lost")
    for size in PATIENT_SIZES.values():  # the banner sits over the top of the screen: the question stays in view
        page.set_viewport_size(size)
        assert page.locator("#connection-banner").bounding_box()["height"] <= size["height"] / 4, size
    page.set_viewport_size(PORTRAIT)
    page.context.set_offline(False)
    page.wait_for_url("**/kiosk/a/intro/qlq_br45", timeout=15_000)
    kiosk.wait_until_taps_count()

    # The breast module: its instructions, and an item with its "answer only if" note above the question.
    look("intro-br45")
    page.goto("/kiosk/a/item/q35")
    expect(page.locator(".gate")).to_be_visible()
    look("item-gated", next_on_screen=True)

    page.goto("/kiosk/a/review")  # most questions without an answer, three answered or not asked
    look("review")
    # The idle warning over the review, as kiosk.js opens it when the idle time is nearly up.
    page.evaluate("document.getElementById('idle-dialog').showModal()")
    expect(page.locator("#idle-countdown")).not_to_be_empty()
    look("idle-warning")
    kiosk.button("I am still here").click()
    kiosk.tap_and_wait(kiosk.link("Staff only: leave patient mode"))
    look("exit")
    kiosk.tap_and_wait(kiosk.link("Return to the questionnaire"))
    assert kiosk.path == "/kiosk/a/item/q1"  # where the patient carries on
    page.goto("/kiosk/a/review")
    kiosk.submit()
    if not larger:  # the patient's session is over: the normal size again
        check_patient_page(kiosk, "thanks", screenshots)
