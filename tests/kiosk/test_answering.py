"""Answering on the tablet: order, instructions, Back, Skip, branching, changes, review, progress, language."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from markupsafe import escape

from pro_app.instruments import get_instrument
from pro_app.kiosk import services
from tests.support.exports import frame
from tests.support.http import csrf_token
from tests.support.kiosk import (
    answer,
    audit_events,
    checked_values,
    continue_intro,
    html,
    issue_code,
    location,
    radio_values,
    responses,
    shown_stamp,
    skip,
    start_with_code,
    submit,
)

A, B, C = "PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL"


def shows(page: str, text: str) -> bool:
    return str(escape(text)) in page


def progress(page: str) -> str:
    return re.search(r'<p class="progress-text"[^>]*>([^<]*)</p>', page).group(1)


@pytest.fixture
def begin(app, client, create_study, create_participant):
    """Start a patient on a fresh assessment; returns its id. The patient stands on the first page."""

    def make(instruments=("pro_ctcae",), terms=(17,), language="en") -> int:
        study = create_study(terms=list(terms), instruments=list(instruments))
        assessment_id = create_participant(study, language=language).assessments["baseline"]
        start_with_code(client, issue_code(app, assessment_id))
        return assessment_id

    return make


def test_instructions_then_one_item_per_screen_in_order_across_instruments(client, begin):
    begin(instruments=("pro_ctcae", "qlq_c30"), terms=(1,))
    proctcae, c30 = get_instrument("pro_ctcae"), get_instrument("qlq_c30")
    intro = client.get("/kiosk/a", follow_redirects=True)
    assert intro.request.path == "/kiosk/a/intro/pro_ctcae"
    assert shows(html(intro), proctcae.instructions.en)
    assert location(continue_intro(client, "pro_ctcae")).endswith("/kiosk/a/item/PROCTCAE_1A_SCL")

    page = html(client.get("/kiosk/a/item/PROCTCAE_1A_SCL"))
    assert shows(page, proctcae.item("PROCTCAE_1A_SCL").text.en)
    assert not shows(page, c30.item("q1").text.en)  # one item per screen
    assert page.count('type="radio"') == 5

    # The last item of an instrument leads to the next instrument's instructions, then its first item.
    assert location(answer(client, "PROCTCAE_1A_SCL", 2)).endswith("/kiosk/a/intro/qlq_c30")
    intro = html(client.get("/kiosk/a/intro/qlq_c30"))
    assert shows(intro, c30.instructions.en)
    assert location(continue_intro(client, "qlq_c30")).endswith("/kiosk/a/item/q1")
    assert location(answer(client, "q1", 1)).endswith("/kiosk/a/item/q2")


def test_back_goes_through_the_instructions_to_the_previous_instrument(client, begin):
    begin(instruments=("pro_ctcae", "qlq_c30"), terms=(1,))
    continue_intro(client, "pro_ctcae")
    answer(client, "PROCTCAE_1A_SCL", 2)
    continue_intro(client, "qlq_c30")
    q1 = html(client.get("/kiosk/a/item/q1"))
    assert 'href="/kiosk/a/intro/qlq_c30">Back<' in q1
    intro = html(client.get("/kiosk/a/intro/qlq_c30"))
    assert 'href="/kiosk/a/item/PROCTCAE_1A_SCL">Back<' in intro


def test_no_choice_is_preselected_and_back_shows_the_patients_own_answer(client, begin):
    begin()
    continue_intro(client, "pro_ctcae")
    first = html(client.get(f"/kiosk/a/item/{A}"))
    assert radio_values(first) == ["0", "1", "2", "3", "4"] and checked_values(first) == []
    answer(client, A, 3)
    second = html(client.get(f"/kiosk/a/item/{B}"))
    assert checked_values(second) == []  # nothing carried over from the item before
    assert f'href="/kiosk/a/item/{A}">Back<' in second
    assert checked_values(html(client.get(f"/kiosk/a/item/{A}"))) == ["3"]


def test_next_without_a_choice_does_not_advance_or_store(app, client, begin):
    assessment_id = begin()
    continue_intro(client, "pro_ctcae")
    r = answer(client, A, "")
    assert r.status_code == 200  # the same item again, no auto-advance
    assert "Please choose an answer, or press Skip." in html(r)
    assert shows(html(r), get_instrument("pro_ctcae").item(A).text.en)
    assert responses(app, assessment_id) == {}


def test_a_choice_not_in_the_option_set_is_a_400_and_nothing_is_stored(app, client, begin):
    assessment_id = begin()
    continue_intro(client, "pro_ctcae")
    for choice in ("7", "-1", "not_applicable", "3.0", " 3", "x" * 500):
        r = answer(client, A, choice)
        assert r.status_code == 400, choice
        assert "That answer is not one of the choices." in html(r)
        assert shows(html(r), get_instrument("pro_ctcae").item(A).text.en)  # the same question again
    assert responses(app, assessment_id) == {}


def test_oversized_answer_is_refused_cleanly(app, client, begin):
    assessment_id = begin()
    continue_intro(client, "pro_ctcae")
    token = csrf_token(html(client.get(f"/kiosk/a/item/{A}")))
    r = client.post(f"/kiosk/a/item/{A}", data={"choice": "1" * (3 * 1024 * 1024), "csrf_token": token})
    assert r.status_code == 413
    assert responses(app, assessment_id) == {}
    assert client.get(f"/kiosk/a/item/{A}").status_code == 200  # the patient can carry on


def test_unknown_or_hidden_item_ids_redirect_to_where_the_patient_is(app, client, begin):
    assessment_id = begin()
    continue_intro(client, "pro_ctcae")
    answer(client, A, 2)
    answer(client, B, 1)
    answer(client, A, 0)  # B and C are now hidden by branching
    for path in ("/kiosk/a/item/nope", "/kiosk/a/item/q1", f"/kiosk/a/item/{B}", f"/kiosk/a/item/{C}/skip"):
        r = client.get(path)
        assert r.status_code == 302 and location(r).endswith("/kiosk/a"), path
    assert client.get("/kiosk/a/item/%00").status_code == 400  # a control character in a path: refused
    assert client.get(f"/kiosk/a/item/{A}").status_code == 200  # and the patient carries on
    token = csrf_token(html(client.get("/kiosk/a/review")))
    r = client.post(f"/kiosk/a/item/{B}", data={"choice": "2", "action": "next", "csrf_token": token})
    assert r.status_code == 302 and location(r).endswith("/kiosk/a")
    assert set(responses(app, assessment_id)) == {A, B} and responses(app, assessment_id)[B].state == "branched"
    assert client.get("/kiosk/a/intro/qlq_c30").status_code == 404  # not part of this assessment


def test_skip_needs_a_confirmation_and_is_stored_as_declined(app, client, begin):
    assessment_id = begin()
    continue_intro(client, "pro_ctcae")
    item_page = html(client.get(f"/kiosk/a/item/{A}"))
    assert f'href="/kiosk/a/item/{A}/skip"' in item_page
    confirm = html(client.get(f"/kiosk/a/item/{A}/skip"))
    assert "Skip this question?" in confirm
    assert shows(confirm, get_instrument("pro_ctcae").item(A).text.en)
    assert f'href="/kiosk/a/item/{A}">Go back to the question<' in confirm
    assert responses(app, assessment_id) == {}  # looking at the question is not skipping it

    r = skip(client, A)
    # A declined frequency does not hide the follow-up items: they are still asked.
    assert location(r).endswith(f"/kiosk/a/item/{B}")
    row = responses(app, assessment_id)[A]
    assert (row.state, row.value, row.option_code) == ("declined", None, None)
    assert checked_values(html(client.get(f"/kiosk/a/item/{A}"))) == []


def test_branching_hides_follow_up_items_and_stores_them_as_branched(app, client, begin):
    assessment_id = begin(terms=(9, 17))
    continue_intro(client, "pro_ctcae")
    assert progress(html(client.get("/kiosk/a/item/PROCTCAE_9A_SCL"))) == "Question 1 of 5"
    r = answer(client, "PROCTCAE_9A_SCL", 0)  # never nauseated: no severity question
    assert location(r).endswith(f"/kiosk/a/item/{A}")
    assert progress(html(client.get(f"/kiosk/a/item/{A}"))) == "Question 2 of 4"
    answer(client, A, 2)
    assert location(answer(client, B, 0)).endswith("/kiosk/a/review")  # no pain at its worst: C hidden
    assert location(submit(client)).endswith("/kiosk/thanks")
    rows = responses(app, assessment_id)
    assert {k: (r.state, r.value) for k, r in rows.items()} == {
        "PROCTCAE_9A_SCL": ("answered", 0), "PROCTCAE_9B_SCL": ("branched", None),
        A: ("answered", 2), B: ("answered", 0), C: ("branched", None)}


def test_changed_answer_is_audited_and_now_hidden_answers_become_branched(app, client, begin):
    assessment_id = begin()
    continue_intro(client, "pro_ctcae")
    for item_id, value in ((A, 2), (B, 3), (C, 1)):
        answer(client, item_id, value)
    r = answer(client, A, 0)  # the patient goes back and changes 'occasionally' to 'never'
    assert location(r).endswith("/kiosk/a/review")
    rows = responses(app, assessment_id)
    assert {k: (r.state, r.value) for k, r in rows.items()} == {
        A: ("answered", 0), B: ("branched", None), C: ("branched", None)}

    [change] = audit_events(app, "item.change")
    assert change.actor == "patient" and change.entity_id == rows[A].id
    assert change.old["value"] == 2 and change.old["state"] == "answered"
    assert change.new["value"] == 0
    hidden = {e.old["item"]: e for e in audit_events(app, "item.branched")}
    assert set(hidden) == {B, C}
    assert hidden[B].old["value"] == 3 and hidden[C].old["value"] == 1  # the old answers are kept
    assert hidden[B].new["state"] == "branched" and hidden[B].reason


def test_changing_the_same_answer_again_is_not_a_change(app, client, begin):
    begin()
    continue_intro(client, "pro_ctcae")
    answer(client, A, 2)
    answer(client, A, 2)
    assert audit_events(app, "item.change") == []


def test_items_shown_again_after_a_change_are_not_left_branched(app, client, begin):
    assessment_id = begin()
    continue_intro(client, "pro_ctcae")
    for item_id, value in ((A, 2), (B, 3), (C, 1)):
        answer(client, item_id, value)
    answer(client, A, 0)  # B and C hidden
    assert location(answer(client, A, 2)).endswith(f"/kiosk/a/item/{B}")  # shown again
    review = html(client.get("/kiosk/a/review"))
    assert f'href="/kiosk/a/item/{B}?from=review"' in review and f'href="/kiosk/a/item/{C}?from=review"' in review
    submit(client)  # the patient finishes without answering them again
    rows = responses(app, assessment_id)
    assert rows[A].state == "answered"
    assert rows[B].state != "branched" and rows[C].state != "branched"


def test_not_applicable_option_is_stored_as_not_applicable(app, client, begin):
    assessment_id = begin(terms=(36,))
    continue_intro(client, "pro_ctcae")
    page = html(client.get("/kiosk/a/item/PROCTCAE_36A_SCL"))
    assert "Not applicable" in page and checked_values(page) == []
    assert location(answer(client, "PROCTCAE_36A_SCL", "not_applicable")).endswith("/kiosk/a/review")
    row = responses(app, assessment_id)["PROCTCAE_36A_SCL"]
    assert (row.state, row.value, row.option_code) == ("not_applicable", None, "not_applicable")
    assert checked_values(html(client.get("/kiosk/a/item/PROCTCAE_36A_SCL"))) == ["not_applicable"]
    assert "You have answered every question." in html(client.get("/kiosk/a/review"))


def test_review_lists_unanswered_and_declined_items_with_links(client, begin):
    begin(terms=(9, 17))
    continue_intro(client, "pro_ctcae")
    answer(client, "PROCTCAE_9A_SCL", 2)
    skip(client, "PROCTCAE_9B_SCL")
    answer(client, A, 1)
    page = html(client.get("/kiosk/a/review"))
    links = re.findall(r'class="review-link" href="([^"]+)"', page)
    assert links == [f"/kiosk/a/item/{i}?from=review" for i in ("PROCTCAE_9B_SCL", B, C)]
    assert "3 questions have no answer." in page
    assert "Question 2" in page and shows(page, get_instrument("pro_ctcae").item("PROCTCAE_9B_SCL").text.en)
    assert "PROCTCAE_9A_SCL?from=review" not in links  # answered items are not among those without an answer
    # Following a link opens that item; answering it takes it off the list.
    assert client.get(links[0]).status_code == 200
    answer(client, "PROCTCAE_9B_SCL", 1)
    page = html(client.get("/kiosk/a/review"))
    assert re.findall(r'class="review-link" href="([^"]+)"', page) == [f"/kiosk/a/item/{i}?from=review" for i in (B, C)]


def test_progress_counts_the_items_of_the_whole_assessment(client, begin):
    begin(instruments=("qlq_c30", "pro_ctcae"), terms=(17,))
    intro = html(client.get("/kiosk/a/intro/qlq_c30"))
    assert progress(intro) == "Question 1 of 33"
    assert progress(html(client.get("/kiosk/a/item/q2"))) == "Question 2 of 33"
    assert progress(html(client.get(f"/kiosk/a/item/{A}"))) == "Question 31 of 33"
    answer(client, A, 0)  # two items fewer to go
    assert progress(html(client.get("/kiosk/a/item/q2"))) == "Question 2 of 31"
    assert progress(html(client.get("/kiosk/a/item/q2?lang=es"))) == "Pregunta 2 de 31"


def test_gated_breast_module_item_shows_when_to_answer_it_in_both_languages(client, begin):
    begin(instruments=("qlq_br45",))
    br45 = get_instrument("qlq_br45")
    gate = br45.item("q35").gate.instruction
    page = html(client.get("/kiosk/a/item/q35"))
    assert shows(page, gate.en) and shows(page, br45.item("q35").text.en)
    page = html(client.get("/kiosk/a/item/q35?lang=es"))
    assert shows(page, gate.es) and shows(page, br45.item("q35").text.es)
    assert not shows(page, gate.en)
    # An item without a gate shows no such note.
    assert 'class="gate"' not in html(client.get("/kiosk/a/item/q34"))


def test_language_can_be_switched_on_every_screen_and_each_answer_keeps_its_language(app, client, begin):
    assessment_id = begin(language="es")
    proctcae = get_instrument("pro_ctcae")
    intro = html(client.get("/kiosk/a/intro/pro_ctcae"))
    assert shows(intro, proctcae.instructions.es)  # preselected from the participant
    assert 'href="/kiosk/a/intro/pro_ctcae?lang=en"' in intro
    continue_intro(client, "pro_ctcae")
    answer(client, A, 2)  # in Spanish

    page = html(client.get(f"/kiosk/a/item/{B}?lang=en"))  # switched mid-way
    assert '<html lang="en">' in page and shows(page, proctcae.item(B).text.en)
    answer(client, B, 1)  # the choice stays on for the following items
    page = html(client.get(f"/kiosk/a/item/{C}"))
    assert shows(page, proctcae.item(C).text.en)
    assert 'href="/kiosk/a/item/PROCTCAE_17C_SCL?lang=es"' in page
    answer(client, C, 1)
    for path in ("/kiosk/a/review", f"/kiosk/a/item/{A}/skip", "/kiosk/exit"):
        switched = html(client.get(path + "?lang=es"))
        assert '<html lang="es">' in switched, path
    rows = responses(app, assessment_id)
    assert {k: r.language for k, r in rows.items()} == {A: "es", B: "en", C: "en"}
    # Changing an answer in the other language records the language it was changed in.
    answer(client, B, 2)
    assert responses(app, assessment_id)[B].language == "es"


def test_mode_of_a_code_start_is_self(app, client, begin):
    assessment_id = begin()
    continue_intro(client, "pro_ctcae")
    answer(client, A, 1)
    assert responses(app, assessment_id)[A].mode == "self"


def test_submit_stores_scores_and_raises_a_qlq_c30_threshold_alert(app, client, begin):
    from sqlalchemy import select

    from pro_app.extensions import db
    from pro_app.models import Alert, Assessment, Score

    assessment_id = begin(instruments=("qlq_c30",))
    continue_intro(client, "qlq_c30")
    for item_id in ("q1", "q2", "q3", "q4", "q5"):  # physical functioning: every task very hard
        answer(client, item_id, 4)
    page = html(client.get("/kiosk/a/review"))
    assert "25 questions have no answer." in page
    assert location(submit(client)).endswith("/kiosk/thanks")
    assert "Thank you" in html(client.get("/kiosk/thanks"))
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        assert assessment.status == "completed" and assessment.completed_at is not None
        stored = db.session.scalars(select(Score).where(Score.assessment_id == assessment_id))
        scores = {s.scale_code: s for s in stored}
        assert (scores["PF2"].value, scores["PF2"].status, scores["PF2"].n_items) == (0.0, "scored", 5)
        assert scores["QL2"].status == "insufficient" and scores["QL2"].value is None
        alerts = db.session.scalars(select(Alert).where(Alert.assessment_id == assessment_id)).all()
        assert [(a.kind, a.source, a.value) for a in alerts] == [("threshold", "PF2", 0.0)]
    rows = responses(app, assessment_id)
    assert len(rows) == 30
    assert {r.state for k, r in rows.items() if k not in ("q1", "q2", "q3", "q4", "q5")} == {"not_reached"}


def test_answering_or_skipping_from_the_review_screen_returns_to_it(client, begin):
    begin(terms=(9, 17))
    continue_intro(client, "pro_ctcae")
    skip(client, "PROCTCAE_9A_SCL")
    for item_id in ("PROCTCAE_9B_SCL", A, B, C):
        answer(client, item_id, 1)
    review = html(client.get("/kiosk/a/review"))
    link = re.findall(r'class="review-link" href="([^"]+)"', review)[0]
    page = html(client.get(link))
    assert 'name="from" value="review"' in page  # the form remembers where the patient came from
    r = client.post("/kiosk/a/item/PROCTCAE_9A_SCL", data={"choice": "2", "action": "next", "from": "review",
                                                            "csrf_token": csrf_token(page)})
    assert location(r).endswith("/kiosk/a/review#entry-PROCTCAE_9A_SCL")  # not on to 9B, already answered
    assert "You have answered every question." in html(client.get("/kiosk/a/review"))
    # Skip, when opened from the review screen, also comes back to it.
    confirm = html(client.get("/kiosk/a/item/PROCTCAE_9A_SCL/skip?from=review"))
    r = client.post("/kiosk/a/item/PROCTCAE_9A_SCL/skip", data={"from": "review", "csrf_token": csrf_token(confirm)})
    assert location(r).endswith("/kiosk/a/review#entry-PROCTCAE_9A_SCL")


def test_each_answer_keeps_when_its_item_was_shown_and_the_items_export_has_it(app, client, begin, clock):
    """An analyst can see how long the patient had the item on screen before answering."""
    begin()
    before = clock.now()
    page = client.get(f"/kiosk/a/item/{A}")
    after = clock.now()
    clock.ahead(7)
    client.post(f"/kiosk/a/item/{A}", data={"choice": "3", "action": "next", "csrf_token": csrf_token(html(page)),
                                            "shown": shown_stamp(html(page))})
    items = frame(app, "NCT0000001", "items").set_index("item")
    assert before <= items.loc[A, "shown_at"].to_pydatetime() <= after
    assert (items.loc[A, "answered_at"] - items.loc[A, "shown_at"]).total_seconds() >= 7


@pytest.mark.parametrize("stamp", ["", "forged", "other item"])
def test_an_answer_sent_without_its_own_page_s_stamp_has_no_shown_time(app, client, begin, stamp):
    """The shown time comes from the page, signed: an altered stamp, or one from another item's page, is not
    believed (the answer is stored all the same)."""
    begin()
    page = html(client.get(f"/kiosk/a/item/{A}"))
    with app.test_request_context():
        other = services.shown_stamp(B)  # a genuine stamp, of another item's page
    sent = {"": "", "forged": shown_stamp(page)[:-3] + "abc", "other item": other}[stamp]
    r = client.post(f"/kiosk/a/item/{A}", data={"choice": "3", "action": "next", "csrf_token": csrf_token(page),
                                                "shown": sent})
    assert r.status_code == 302
    items = frame(app, "NCT0000001", "items").set_index("item")
    assert items.loc[A, "value"] == 3 and pd.isna(items.loc[A, "shown_at"])
