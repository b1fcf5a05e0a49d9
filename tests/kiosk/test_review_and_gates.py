"""The tablet's review screen (every item with its answer, Change and back), the breast module's gates (an item
that does not apply is not asked and is stored `not_applicable`), and which language the patient gets."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import AuthSession, Score
from tests.support.http import csrf_token
from tests.support.kiosk import (
    answer,
    audit_events,
    continue_intro,
    enter_code,
    html,
    issue_code,
    location,
    responses,
    skip,
    start_with_code,
    submit,
)

BR45 = get_instrument("qlq_br45")
A, B, C = "PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL"


@pytest.fixture
def begin(app, client, create_study, create_participant):
    """A patient started on a fresh assessment of these instruments; returns its id."""

    def make(instruments=("qlq_br45",), terms=(17,), language="en") -> int:
        study = create_study(terms=list(terms), instruments=list(instruments))
        assessment_id = create_participant(study, language=language).assessments["baseline"]
        start_with_code(client, issue_code(app, assessment_id))
        return assessment_id

    return make


def walk(client, given: dict[str, int | None]) -> list[str]:
    """Go through the questionnaire as the tablet leads, answering from `given` (None or absent: skip);
    returns the items the patient was asked, in order, once the review screen is reached."""
    asked = []
    for _ in range(300):
        where = location(client.get("/kiosk/a"))
        if where.endswith("/kiosk/a/review"):
            return asked
        if "/intro/" in where:
            where = location(continue_intro(client, where.rsplit("/", 1)[1]))
        item_id = where.rsplit("/", 1)[1]
        asked.append(item_id)
        if given.get(item_id) is None:
            skip(client, item_id)
        else:
            answer(client, item_id, given[item_id])
    raise AssertionError("the review screen was not reached")


def stored_scores(app, assessment_id: int) -> dict[str, Score]:
    with app.app_context():
        rows = db.session.scalars(select(Score).where(Score.assessment_id == assessment_id)).all()
        db.session.expunge_all()
        return {s.scale_code: s for s in rows}


def example(name_start: str):
    return next(e for e in BR45.examples if e.name.startswith(name_start))


def review_links(page: str) -> list[str]:
    return re.findall(r'class="review-link" href="([^"]+)"', page)


def change_links(page: str) -> list[str]:
    return re.findall(r'class="button secondary review-change" href="([^"]+)"', page)


# Gates ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "gate", "gated"), [
    ("no hair loss", {"q34": 1}, {"q35"}),
    ("not sexually active", {"q45": 1}, {"q46", "q72", "q73"}),
])
def test_an_item_its_gate_rules_out_is_not_asked_stored_not_applicable_and_scored_as_scoring_md(
        app, client, begin, name, gate, gated):
    """SCORING.md §2's worked examples given on the tablet: the gated items are never shown (the patient does
    not have to skip them), they are stored `not_applicable`, not `declined`, and every score is the example's."""
    assessment_id = begin()
    worked = example(name)
    asked = walk(client, dict(worked.answers))
    assert not gated & set(asked)
    assert asked == [i for i in BR45.item_ids if i not in gated]
    page = html(client.get("/kiosk/a/review"))
    assert "You have answered every question." in page  # nothing left to skip
    assert progress_total(client, "q75") == len(BR45.item_ids) - len(gated)
    submit(client)
    rows = responses(app, assessment_id)
    assert {i: (rows[i].state, rows[i].value) for i in gated} == {i: ("not_applicable", None) for i in gated}
    assert {rows[i].state for i in BR45.item_ids if i not in gated} == {"answered"}
    scores = stored_scores(app, assessment_id)
    for code, value in worked.expected.items():
        if value is None:
            assert scores[code].value is None, code
        else:
            assert scores[code].value == pytest.approx(value, abs=0.005), code
    for code, status in worked.status.items():
        assert scores[code].status == status, code


def progress_total(client, item_id: str) -> int:
    page = html(client.get(f"/kiosk/a/item/{item_id}"))
    return int(re.search(r'<progress class="progress-bar" max="(\d+)"', page).group(1))


def test_the_gated_item_is_asked_with_its_condition_above_the_question_when_it_applies(client, begin):
    begin()
    continue_intro(client, "qlq_br45")
    answer(client, "q34", 2)  # some hair loss
    page = html(client.get("/kiosk/a/item/q35"))
    gate, question = escape(BR45.item("q35").gate.instruction.en), escape(BR45.item("q35").text.en)
    assert page.index(str(gate)) < page.index(str(question))
    page = html(client.get("/kiosk/a/item/q35?lang=es"))
    gate, question = escape(BR45.item("q35").gate.instruction.es), escape(BR45.item("q35").text.es)
    assert page.index(str(gate)) < page.index(str(question))


def test_a_gate_answer_changed_from_the_review_hides_the_item_and_changed_back_asks_it_again(app, client, begin):
    assessment_id = begin()
    given = {i: 2 for i in BR45.item_ids} | {"q34": 3, "q35": 4}
    walk(client, given)
    # No hair loss after all: q35 no longer applies; its answer becomes not applicable (audited).
    r = answer(client, "q34", 1, **{"from": "review"})
    assert location(r).endswith("/kiosk/a/review#entry-q34")
    row = responses(app, assessment_id)["q35"]
    assert (row.state, row.value) == ("not_applicable", None)
    [event] = audit_events(app, "item.not_applicable")
    assert (event.old["item"], event.old["value"], event.new["state"]) == ("q35", 4, "not_applicable")
    page = html(client.get("/kiosk/a/review"))
    assert "Does not apply to you, because of your answer to question 4." in page
    assert "/kiosk/a/item/q35?from=review" not in page and client.get("/kiosk/a/item/q35").status_code == 302
    # Changed back: q35 is asked before the review screen comes back, and only then.
    r = answer(client, "q34", 3, **{"from": "review"})
    assert location(r).endswith("/kiosk/a/item/q35?from=review")
    assert responses(app, assessment_id)["q35"].state == "not_reached"
    assert [e.old["item"] for e in audit_events(app, "item.asked_again")] == ["q35"]
    assert location(answer(client, "q35", 2, **{"from": "review"})).endswith("/kiosk/a/review#entry-q35")
    submit(client)
    rows = responses(app, assessment_id)
    assert (rows["q34"].value, rows["q35"].state, rows["q35"].value) == (3, "answered", 2)
    hu = stored_scores(app, assessment_id)["HU"]
    assert (hu.status, hu.value) == ("scored", pytest.approx(100 / 3))


def test_a_gate_changed_back_and_left_unanswered_is_not_reached_not_not_applicable(app, client, begin):
    assessment_id = begin()
    walk(client, {i: 2 for i in BR45.item_ids} | {"q45": 1})
    answer(client, "q45", 2, **{"from": "review"})  # q46, q72 and q73 now apply, the patient walks away
    submit(client)
    rows = responses(app, assessment_id)
    assert {rows[i].state for i in ("q46", "q72", "q73")} == {"not_reached"}
    se = stored_scores(app, assessment_id)["SE"]
    assert (se.status, se.value) == ("insufficient", None)


def test_paper_keeps_what_is_written_on_a_gated_item(app, client, begin):
    """A change on the tablet applies the gate; the staff side (paper, corrections) is not touched by it."""
    from pro_app.assessments import answers
    from pro_app.models import Assessment

    assessment_id = begin()
    with app.app_context():
        assessment = db.session.get(Assessment, assessment_id)
        for item_id, value in (("q34", 1), ("q35", 3)):
            answers.record(assessment, BR45, item_id, value=value, option_code=None, state="answered",
                           language="en", mode="paper", actor="user", user_id=None, reason="keyed from paper")
        db.session.commit()
    assert responses(app, assessment_id)["q35"].value == 3


# Review -----------------------------------------------------------------------------------------------------

def test_the_review_shows_every_item_with_its_answer_grouped_by_instrument_unanswered_first(client, begin):
    begin(instruments=("qlq_c30", "pro_ctcae"), terms=(17,))
    walk(client, {f"q{n}": 2 for n in range(1, 31)} | {"q3": None, A: 0})
    page = html(client.get("/kiosk/a/review"))
    # First the question without an answer, under its instrument's title ...
    first = page.index("Questions without an answer")
    assert review_links(page) == ["/kiosk/a/item/q3?from=review"]
    assert "You skipped this question." in page
    answers_at = page.index("Your answers")
    assert first < page.index('href="/kiosk/a/item/q3?from=review"') < answers_at
    # ... then every other item of both instruments, in order, each with its answer and a Change button.
    changes = change_links(page)
    assert changes[:29] == [f"/kiosk/a/item/q{n}?from=review" for n in range(1, 31) if n != 3]
    c30_title = get_instrument("qlq_c30").title.en
    ctcae_title = get_instrument("pro_ctcae").title.en
    assert answers_at < page.index(str(escape(c30_title)), answers_at) < page.index(str(escape(ctcae_title)),
                                                                                        answers_at)
    entry = page[page.index('id="entry-q1"'):page.index('id="entry-q2"')]
    assert "Your answer:" in entry and "<strong>A little</strong>" in entry
    # Items not asked because of an answer: their state, and Change opens the answer that decided it.
    for item_id in (B, C):
        entry = page[page.index(f'id="entry-{item_id}"'):]
        entry = entry[:entry.index("</li>")]
        assert "Not asked, because of your answer to question 31." in entry
        assert f'href="/kiosk/a/item/{A}?from=review"' in entry
    assert len(re.findall(r'<li class="review-entry', page)) == 32  # 33 items: one is listed as unanswered


def test_change_from_the_review_asks_the_follow_ups_it_makes_necessary_then_returns(app, client, begin):
    assessment_id = begin(instruments=("pro_ctcae",), terms=(9, 17))
    walk(client, {"PROCTCAE_9A_SCL": 2, "PROCTCAE_9B_SCL": 1, A: 0})
    # "Never" had abdominal pain, changed to "Frequently": severity, then interference, then the review.
    r = answer(client, A, 3, **{"from": "review"})
    assert location(r).endswith(f"/kiosk/a/item/{B}?from=review")
    page = html(client.get(f"/kiosk/a/item/{B}?from=review"))
    assert 'name="from" value="review"' in page
    assert 'href="/kiosk/a/review#entry-PROCTCAE_17B_SCL">Back<' in page  # Back returns to the review too
    assert location(answer(client, B, 2, **{"from": "review"})).endswith(f"/kiosk/a/item/{C}?from=review")
    # A skip on the follow-up also goes on to what is still needed, then back.
    assert location(answer(client, C, 1, **{"from": "review"})).endswith(f"/kiosk/a/review#entry-{C}")
    # A change that makes nothing new necessary goes straight back.
    r = answer(client, "PROCTCAE_9B_SCL", 3, **{"from": "review"})
    assert location(r).endswith("/kiosk/a/review#entry-PROCTCAE_9B_SCL")
    rows = responses(app, assessment_id)
    assert {i: rows[i].value for i in (A, B, C, "PROCTCAE_9B_SCL")} == {A: 3, B: 2, C: 1, "PROCTCAE_9B_SCL": 3}


def test_a_skipped_follow_up_from_the_review_goes_on_to_the_next_needed(client, begin):
    begin(instruments=("pro_ctcae",), terms=(17,))
    walk(client, {A: 0})
    answer(client, A, 3, **{"from": "review"})
    confirm = html(client.get(f"/kiosk/a/item/{B}/skip?from=review"))
    r = client.post(f"/kiosk/a/item/{B}/skip", data={"from": "review", "csrf_token": csrf_token(confirm)})
    assert location(r).endswith(f"/kiosk/a/item/{C}?from=review")  # declining severity still asks interference


def test_the_review_is_in_the_patients_language(client, begin):
    begin(instruments=("pro_ctcae",), terms=(17,), language="es")
    walk(client, {A: 0})
    page = html(client.get("/kiosk/a/review"))
    assert '<html lang="es">' in page
    assert "Your answers" not in page and "Change" not in page


# Language ---------------------------------------------------------------------------------------------------

def test_the_language_picked_on_the_start_screen_wins_over_the_registered_one(app, client, create_study,
                                                                              create_participant):
    study = create_study(instruments=["qlq_c30"])
    spanish = create_participant(study, code="P-ES", language="es").assessments["baseline"]
    english = create_participant(study, code="P-EN", language="en").assessments["baseline"]

    start = html(client.get("/kiosk/?lang=en"))  # registered in Spanish, picks English on the start screen
    r = client.post("/kiosk/", data={"code": issue_code(app, spanish), "language": "en",
                                     "csrf_token": csrf_token(start)})
    page = client.get(location(r), follow_redirects=True)
    assert '<html lang="en">' in html(page)
    with app.app_context():
        [record] = db.session.scalars(select(AuthSession).where(AuthSession.assessment_id == spanish)).all()
        assert record.language == "en"
    answer(client, "q1", 2)
    assert responses(app, spanish)["q1"].language == "en"

    # Nothing picked: the registered language, whatever the start screen was shown in.
    fresh = app.test_client()
    fresh.get("/kiosk/?lang=es")
    r = enter_code(fresh, issue_code(app, english))
    assert '<html lang="en">' in html(fresh.get(location(r), follow_redirects=True))


def test_the_start_screen_keeps_the_picked_language_for_the_next_try_after_a_wrong_code(app, client):
    page = html(client.get("/kiosk/?lang=es"))
    assert 'name="language" type="hidden" value="es"' in page
    r = client.post("/kiosk/", data={"code": "ZZZZ-ZZZZ", "language": "es", "csrf_token": csrf_token(page)})
    assert r.status_code == 403 and 'name="language" type="hidden" value="es"' in html(r)
    assert client.post("/kiosk/", data={"code": "ZZZZ-ZZZZ", "language": "xx",
                                         "csrf_token": csrf_token(page)}).status_code == 400


def test_switching_language_keeps_the_review_context(client, begin):
    begin(instruments=("pro_ctcae",), terms=(17,))
    walk(client, {A: 1, B: 1, C: 1})
    page = html(client.get(f"/kiosk/a/item/{B}?from=review"))
    assert f'href="/kiosk/a/item/{B}?from=review&amp;lang=es"' in page
    switched = html(client.get(f"/kiosk/a/item/{B}?from=review&lang=es"))
    assert '<html lang="es">' in switched and 'name="from" value="review"' in switched
    assert f'href="/kiosk/a/item/{B}?from=review&amp;lang=en"' in switched
    # The skip page opened from the review keeps it too; an answer never goes into the address.
    skip_page = html(client.get(f"/kiosk/a/item/{B}/skip?from=review"))
    assert f'href="/kiosk/a/item/{B}/skip?from=review&amp;lang=en"' in skip_page
    assert "choice=" not in page
