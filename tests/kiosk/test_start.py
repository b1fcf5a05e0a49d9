"""Starting on the tablet with a patient code: what is accepted, what is refused (and how), throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pro_app import create_app
from pro_app.extensions import db
from pro_app.models import Assessment, ThrottleEvent
from pro_app.security import codes
from tests.support.kiosk import (
    answer,
    continue_intro,
    copy_cookie,
    enter_code,
    html,
    issue_code,
    location,
    start_with_code,
    submit,
)

UNKNOWN = "That code was not recognised. Please check it and try again, or ask a member of staff."
THROTTLED = "Too many attempts on this tablet. Please ask a member of staff for help."
COMPLETED = "This questionnaire has already been completed. Thank you."
CLOSED = "This questionnaire is not open at the moment. Please ask a member of staff."
EXPIRED = "This code has expired. Please ask a member of staff for a new code."
NOT_YET_OPEN = ("This questionnaire is not open yet. Please come back on the day of your visit, "
                "or ask a member of staff.")
SPANISH = {
    NOT_YET_OPEN: "Este cuestionario todavía no está abierto. Vuelva el día de su visita o pida ayuda a un "
                  "miembro del personal.",
    CLOSED: "Este cuestionario no está disponible en este momento.",
}


@pytest.fixture
def settings(settings):
    """Small limits so throttling shows after a few attempts."""
    return settings.with_changes(code_attempts_per_code=2, code_attempts_per_tablet=3)


@pytest.fixture
def study(create_study):
    return create_study(terms=[17], instruments=["pro_ctcae"])


@pytest.fixture
def open_assessment(study, create_participant):
    """The baseline assessment of a participant whose window is open today."""
    return create_participant(study).assessments["baseline"]


def refused(response, status: int, message: str) -> None:
    """The start screen again, with the status and the message the patient reads; nothing started."""
    assert response.status_code == status
    page = html(response)
    assert message in page
    assert 'name="code"' in page  # the patient can try again


def throttle_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ThrottleEvent))


# --- codes that start -----------------------------------------------------------------------------------

def test_issued_code_uses_only_unambiguous_characters(app, open_assessment):
    code = issue_code(app, open_assessment)
    assert len(code) == 9 and code[4] == "-"
    plain = code.replace("-", "")
    assert set(plain) <= set(codes.ALPHABET)
    assert not set(plain) & set("0O1IL2Z5S8B")


def test_valid_code_starts_the_assessment_however_it_is_typed(app, open_assessment):
    code = issue_code(app, open_assessment)  # e.g. ACDE-FGHJ
    for typed in (code, code.lower(), code.replace("-", ""), "  " + code.lower().replace("-", " ") + " ",
                  "\t" + code[:2] + " " + code[2:] + "\n"):
        tablet = app.test_client()
        r = enter_code(tablet, typed)
        assert r.status_code == 302 and location(r).endswith("/kiosk/a"), repr(typed)
        page = tablet.get("/kiosk/a", follow_redirects=True)
        assert page.request.path == "/kiosk/a/intro/pro_ctcae"
        assert "Symptom items (PRO-CTCAE-style)" in html(page)
        tablet.post("/kiosk/timeout")  # done on this tablet: one tablet at a time has the assessment open


@pytest.mark.parametrize("separator", [
    "\u2013", "\u2014", "\u2212", "\u2011", "\u2010", "\u2012", "\u2015", "\ufe63", "\uff0d", "\u00ad",
    ".", "_", " ", "\u00a0", "\u202f", "\u2026", ". ", " \u2013 ", "_-_",
], ids=lambda s: "+".join(f"U+{ord(c):04X}" for c in s))
def test_code_with_any_dash_dot_underscore_or_space_starts_and_is_not_a_guess(app, open_assessment, separator):
    """Tablet autocorrect turns "-" into an en or em dash, adds dots, underscores or spaces: the code still
    opens the assessment, and no attempt is counted against the tablet or the code."""
    plain = issue_code(app, open_assessment).replace("-", "")
    for typed in (plain[:4] + separator + plain[4:], separator.join(plain[:4]) + separator + plain[4:].lower()):
        tablet = app.test_client()
        r = enter_code(tablet, typed)
        assert r.status_code == 302 and location(r).endswith("/kiosk/a"), repr(typed)
        assert tablet.get("/kiosk/a", follow_redirects=True).request.path == "/kiosk/a/intro/pro_ctcae"
        tablet.post("/kiosk/timeout")  # one tablet at a time has the assessment open
    assert throttle_rows(app) == 0


def test_code_starts_in_the_participants_language(app, client, study, create_participant):
    assessment_id = create_participant(study, language="es").assessments["baseline"]
    client.get("/kiosk/?lang=en")  # the start screen was in English
    path = start_with_code(client, issue_code(app, assessment_id))
    page = html(client.get(path))
    assert '<html lang="es">' in page
    assert "Preguntas sobre síntomas (estilo PRO-CTCAE)" in page


def test_start_screen_language_can_be_chosen(client, open_assessment):
    page = html(client.get("/kiosk/?lang=es"))
    assert '<html lang="es">' in page and 'href="/kiosk/?lang=en"' in page
    r = enter_code(client, "ZZZZ-ZZZZ")
    assert r.status_code == 403 and "No reconocimos ese código." in html(r)
    assert '<html lang="es">' in html(r)
    assert '<html lang="en">' in html(client.get("/kiosk/?lang=en"))
    assert client.get("/kiosk/?lang=xx").status_code == 200  # an unknown language is ignored


# --- codes that are refused -----------------------------------------------------------------------------

def test_unknown_or_garbage_code_is_refused_with_a_message(app, open_assessment):
    for garbage in ("ZZZZ-ZZZZ", "hello", "<b>ACDE</b>", "ÅÄÖ-1234", "' OR 1=1 --"):
        tablet = app.test_client()
        r = enter_code(tablet, garbage)
        refused(r, 403, UNKNOWN)
        assert "<b>ACDE</b>" not in html(r)  # nothing typed is echoed back unescaped
        assert tablet.get("/kiosk/a").headers["Location"].endswith("/kiosk/?m=ended")  # nothing started
    # A NUL byte is refused before any view runs (no field takes one; PostgreSQL cannot store one).
    tablet = app.test_client()
    r = enter_code(tablet, "ACDE-FGH\x00")
    assert r.status_code == 400 and "Go to the start screen" in html(r)
    assert tablet.get("/kiosk/a").headers["Location"].endswith("/kiosk/?m=ended")


def test_empty_or_overlong_code_is_a_400_not_a_500(client, open_assessment):
    assert enter_code(client, "").status_code == 400
    assert enter_code(client, "A" * 200).status_code == 400


def test_code_expires(app, client, open_assessment, clock):
    code = issue_code(app, open_assessment)  # valid for 24 hours
    clock.ahead(23 * 3600)
    assert enter_code(app.test_client(), code).status_code == 302  # still valid just before
    clock.ahead(24 * 3600 + 60)
    refused(enter_code(client, code), 409, EXPIRED)
    assert UNKNOWN not in html(enter_code(client, code))
    assert throttle_rows(app) == 0  # a real code past its time is not a guess
    tablet = app.test_client()
    tablet.get("/kiosk/?lang=es")
    page = html(enter_code(tablet, code.replace("-", "\u2013")))
    assert "Este código ya venció. Pida un código nuevo a un miembro del personal." in page


def test_code_replaced_by_a_newer_one_stops_working(app, client, open_assessment):
    old = issue_code(app, open_assessment)
    new = issue_code(app, open_assessment)
    refused(enter_code(client, old), 403, UNKNOWN)
    assert enter_code(client, new).status_code == 302


def test_code_of_a_completed_assessment(app, client, open_assessment):
    code = issue_code(app, open_assessment)
    with app.app_context():  # completed another way (e.g. keyed in from paper): the code is still on file
        db.session.get(Assessment, open_assessment).status = "completed"
        db.session.commit()
    refused(enter_code(client, code), 409, COMPLETED)


def test_code_entered_again_after_submitting_says_already_completed(app, client, open_assessment):
    code = issue_code(app, open_assessment)
    start_with_code(client, code)
    continue_intro(client, "pro_ctcae")
    answer(client, "PROCTCAE_17A_SCL", 0)
    assert location(submit(client)).endswith("/kiosk/thanks")
    refused(enter_code(app.test_client(), code), 409, COMPLETED)


@pytest.mark.parametrize("anchor_days, message", [(60, NOT_YET_OPEN), (-30, CLOSED)],
                         ids=["window-not-open-yet", "window-closed"])
def test_code_outside_the_window_is_refused(app, client, study, create_participant, anchor_days, message):
    from pro_app.database import utcnow

    participant = create_participant(study, anchor=utcnow().date() + timedelta(days=anchor_days))
    assessment_id = participant.assessments["baseline"]
    code = issue_code(app, assessment_id)  # issued directly: staff screens refuse to issue one
    refused(enter_code(client, code), 409, message)
    assert UNKNOWN not in html(enter_code(client, code))
    tablet = app.test_client()
    tablet.get("/kiosk/?lang=es")
    assert SPANISH[message] in html(enter_code(tablet, code))
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment.status == "scheduled" and assessment.started_at is None


# --- throttling (in the database, per code and per tablet, never per IP address) ------------------------

def test_same_wrong_code_is_throttled_on_every_tablet(app, client, open_assessment):
    for typed in ("ACDE-FGHJ", "acde fghj"):  # the same code, typed two ways
        refused(enter_code(client, typed), 403, UNKNOWN)
    other_tablet = app.test_client()  # same IP address as every tablet in the clinic
    refused(enter_code(other_tablet, "ACDEFGHJ"), 429, THROTTLED)
    # That tablet is not blocked for other codes.
    assert enter_code(other_tablet, issue_code(app, open_assessment)).status_code == 302


def test_tablet_is_throttled_after_repeated_wrong_codes(app, client, open_assessment):
    for wrong in ("ACDE-FGH3", "ACDE-FGH4", "ACDE-FGH6"):
        refused(enter_code(client, wrong), 403, UNKNOWN)
    code = issue_code(app, open_assessment)
    refused(enter_code(client, code), 429, THROTTLED)  # even a right code, from this tablet
    assert client.get("/kiosk/a").status_code == 302
    assert "m=ended" in client.get("/kiosk/a").headers["Location"]
    # Another tablet on the same network is not affected.
    assert enter_code(app.test_client(), code).status_code == 302


def test_throttle_is_kept_in_the_database_not_in_the_worker(app, client, settings, open_assessment):
    for wrong in ("ACDE-FGH3", "ACDE-FGH4", "ACDE-FGH6"):
        enter_code(client, wrong)
    assert throttle_rows(app) > 0
    code = issue_code(app, open_assessment)
    # A second worker (or a restarted server) on the same database sees the same counters.
    second_worker = create_app(settings)
    same_tablet = copy_cookie(second_worker, client.get_cookie("pro_app").value)
    try:
        refused(enter_code(same_tablet, code), 429, THROTTLED)
    finally:
        with second_worker.app_context():
            db.engine.dispose()


def test_throttle_ends_when_the_window_has_passed(app, client, settings, open_assessment, clock):

    for wrong in ("ACDE-FGH3", "ACDE-FGH4", "ACDE-FGH6"):
        enter_code(client, wrong)
    code = issue_code(app, open_assessment)
    assert enter_code(client, code).status_code == 429
    clock.ahead(settings.throttle_window_seconds + 5)
    assert enter_code(client, code).status_code == 302


def test_refusals_that_are_not_guesses_are_not_counted(app, client, study, create_participant):
    """An empty form, or a right code for a closed or completed assessment, is not a guess."""
    from pro_app.database import utcnow

    participant = create_participant(study, anchor=utcnow().date() + timedelta(days=60))
    code = issue_code(app, participant.assessments["baseline"])
    for _ in range(4):
        assert enter_code(client, code).status_code == 409
        assert enter_code(client, "").status_code == 400
    assert throttle_rows(app) == 0


def test_a_withdrawn_participant_cannot_be_started_by_code(app, client, open_assessment):
    code = issue_code(app, open_assessment)
    with app.app_context():
        db.session.get(Assessment, open_assessment).participant.status = "withdrawn"
        db.session.commit()
    refused(enter_code(client, code), 409, CLOSED)
