"""Codes and tablets in Chromium with touch at 768x1024 (issue 10, item 6): a coordinator registers the tablet
from the staff side, wrong codes lock it, staff unlock it; a second tablet on the same code is told the
questionnaire is open elsewhere. Screenshots of the new screens in English and Spanish."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.support.browser import PORTRAIT, Kiosk, check_patient_page, translate
from tests.support.http import PASSWORD

AXE = Axe()
WRONG = ["ACDE-FGH3", "ACDE-FGH4", "ACDE-FGH6", "ACDE-FGH7", "ACDE-FGH9", "ACDE-FGHK", "ACDE-FGHM", "ACDE-FGHN",
         "ACDE-FGHP", "ACDE-FGHQ"]


@pytest.fixture
def tablet_context(browser, live_server):
    contexts = []

    def make():
        context = browser.new_context(base_url=live_server, viewport=PORTRAIT, has_touch=True, is_mobile=True,
                                      locale="en-US")
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def staff_login(page, app, email):
    page.goto("/staff/login")
    page.get_by_label(translate(app, "en", "Email"), exact=True).fill(email)
    page.get_by_label(translate(app, "en", "Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=translate(app, "en", "Log in"), exact=True).click()
    page.wait_for_load_state()


def no_axe_violations(page):
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_tablet_registration_lock_unlock_and_two_tablets_on_one_code(app, tablet_context, enrol, create_staff,
                                                                      screenshots, lang):
    patient = enrol(["qlq_c30"], language=lang)
    staff = create_staff(studies=[patient.study])
    t = lambda message, **kw: translate(app, lang, message, **kw)  # noqa: E731

    # A coordinator registers this tablet, on the tablet.
    tablet = tablet_context()
    staff_login(tablet, app, staff.email)
    tablet.goto(f"/staff/tablets?lang={lang}")
    tablet.get_by_label(t("Name of this tablet"), exact=True).fill("Clinic 2, tablet 1")
    tablet.get_by_role("button", name=t("Register this tablet"), exact=True).tap()
    expect(tablet.get_by_role("status")).to_contain_text("Clinic 2, tablet 1")
    tablet.get_by_role("button", name=translate(app, lang, "Log out"), exact=True).click()

    # Ten wrong codes lock it, the right code too.
    kiosk = Kiosk(tablet, app)
    kiosk.open_start(lang)
    for wrong in WRONG:
        tablet.get_by_label(t("Your code"), exact=True).fill(wrong)
        tablet.get_by_role("button", name=t("Start"), exact=True).tap()
        tablet.wait_for_load_state()
    tablet.get_by_label(t("Your code"), exact=True).fill(patient.code)
    tablet.get_by_role("button", name=t("Start"), exact=True).tap()
    expect(tablet.get_by_role("status")).to_have_text(
        t("Too many attempts on this tablet. Please ask a member of staff for help."))

    # Staff see it locked, with its last use, and unlock it.
    office = tablet_context()
    staff_login(office, app, staff.email)
    office.goto(f"/staff/tablets?lang={lang}")
    row = office.get_by_role("row").filter(has_text="Clinic 2, tablet 1")
    expect(row).to_contain_text(t("Locked by wrong codes until %(time)s", time="")[:20])
    no_axe_violations(office)
    office.screenshot(path=screenshots / f"tablets-locked-{lang}-portrait.png", full_page=True)
    row.get_by_role("button", name=t("Unlock"), exact=True).click()
    expect(office.get_by_role("row").filter(has_text="Clinic 2, tablet 1")).to_contain_text(t("Active"))

    kiosk.start_with_code(patient.code)
    assert kiosk.path == "/kiosk/a/intro/qlq_c30"

    # A second tablet on the same code: told where it is, nothing of it shown.
    second = tablet_context()
    other = Kiosk(second, app)
    other.open_start(lang)
    second.get_by_label(t("Your code"), exact=True).fill(patient.code)
    second.get_by_role("button", name=t("Start"), exact=True).tap()
    in_use = t("This questionnaire is open on another tablet right now. Please carry on there, or ask a member "
               "of staff to move it to this tablet.")
    expect(second.get_by_role("status")).to_have_text(in_use)
    assert other.on_start_screen()
    check_patient_page(other, "kiosk-open-on-another-tablet", screenshots)  # at the three sizes, axe

    # Staff move it; the second tablet opens it, the first shows nothing of it any more.
    office.goto(f"/staff/assessments/{patient.assessment_id}?lang={lang}")
    expect(office.locator("#open-on-tablet")).to_contain_text("Clinic 2, tablet 1")
    office.screenshot(path=screenshots / f"assessment-open-on-tablet-{lang}-portrait.png", full_page=False)
    office.get_by_role("button", name=t("Move to another tablet"), exact=True).click()
    other.start_with_code(patient.code)
    assert other.path == "/kiosk/a/intro/qlq_c30"
    tablet.reload()
    tablet.wait_for_selector("#code")
    assert kiosk.on_start_screen()
