"""The participant report on paper (issue 14, deliverable 5): printed from Chromium, each instrument with data is a
page of its own (A4 and Letter), headed by the instrument and the participant, its charts and table on that page.
The PDFs and a screenshot of each page as printed go to test-artifacts/screenshots."""

from __future__ import annotations

import io
import random
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import Participant
from pro_app.users.services import create_user
from tests.browser.test_results_browser import log_in
from tests.results.study import BR45_SCALES, Person, build
from tests.support.browser import translate
from tests.support.http import PASSWORD

INSTRUMENTS = ("qlq_c30", "qlq_br45", "pro_ctcae")
C30_SCALES = [s.code for s in get_instrument("qlq_c30").scales]


def _composites() -> list[str]:
    """The composite grades of the default PRO-CTCAE term set (the demo's): some 25 terms."""
    pro_ctcae = get_instrument("pro_ctcae")
    chosen = set(pro_ctcae.default_selection())
    return [s.code for s in pro_ctcae.scales if s.type == "composite"
            and int(re.match(r"PROCTCAE_(\d+)_COMP", s.code).group(1)) in chosen]


def _scores(rng: random.Random, br45: bool) -> dict:
    values = {code: round(rng.uniform(0, 100), 1) for code in C30_SCALES}
    if br45:
        values |= {code: round(rng.uniform(0, 100), 1) for code in sorted(BR45_SCALES)}
    return values | {code: rng.randint(0, 3) for code in _composites()}


@pytest.fixture
def report_study(app):
    """R-001 answered all three instruments, R-002 the QLQ-C30 and PRO-CTCAE only; for both, week 12 was not done
    and the 30-day follow-up missed."""
    rng = random.Random(14)
    people = [Person(code, scores={"baseline": _scores(rng, br45), "wk12": {}, "wk24": _scores(rng, br45),
                                   "fu30": {}},
                     statuses={"wk12": "not_done", "fu30": "missed"})
              for code, br45 in (("R-001", True), ("R-002", False))]
    terms = tuple(get_instrument("pro_ctcae").default_selection())
    with app.app_context():
        build(people, code="REP-1", terms=terms, instruments=INSTRUMENTS)
        create_user("nurse@example.org", "coordinator", PASSWORD, ["REP-1"])
        db.session.commit()
        return dict(db.session.execute(select(Participant.study_code, Participant.id)).all())


@pytest.mark.parametrize(("code", "lang", "instruments"), [("R-001", "en", INSTRUMENTS),
                                                           ("R-002", "en", ("qlq_c30", "pro_ctcae")),
                                                           ("R-001", "es", INSTRUMENTS)])
def test_the_report_prints_one_page_per_instrument(app, page, report_study, screenshots, code, lang, instruments):
    log_in(page, "nurse@example.org")
    page.goto(f"/staff/participants/{report_study[code]}/report?lang={lang}")
    page.wait_for_load_state("networkidle")  # the charts are images
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.emulate_media(media="print")
    titles = [get_instrument(i).title.get(lang) for i in instruments]
    who = translate(app, lang, "%(participant)s · study %(study)s · site %(site)s", participant=code, study="REP-1",
                    site="BCN")
    columns = [f"WK12 {translate(app, lang, 'day %(day)s', day=84)} {translate(app, lang, 'not done')}",
               f"FU30 {translate(app, lang, 'day %(day)s', day=198)} {translate(app, lang, 'missed')}"]
    name = f"report-{code}-{lang}"

    for fmt in ("A4", "Letter"):
        printed = page.pdf(format=fmt)
        (screenshots / f"{name}-{fmt}.pdf").write_bytes(printed)
        pages = PdfReader(io.BytesIO(printed)).pages
        assert len(pages) == len(instruments), fmt
        texts = [" ".join(p.extract_text().split()) for p in pages]
        for title, text in zip(titles, texts, strict=True):
            # each page begins with its instrument, then whose report it is
            assert text.startswith(f"{title} {who}"), (fmt, text[:120])
        assert all(column in texts[0] for column in columns), texts[0]  # the table's columns
        assert len(printed) < 1_500_000, f"{fmt}: {len(printed)} bytes"  # blank cells are lines, not pictures

    for n, section in enumerate(page.locator("section.report-instrument").all()):
        section.screenshot(path=str(screenshots / f"{name}-print-{n + 1}.png"))
