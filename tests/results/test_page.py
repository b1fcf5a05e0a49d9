"""The study results page: figures with their n, charts with a text alternative, filters checked (a bad value is a
400 that says which), site scope, and the way there from the study's dashboard."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Site, StudyGrant
from pro_app.results.services import kaplan_meier, scipy_kaplan_meier
from pro_app.users.services import create_user
from tests.support.http import PASSWORD, login

from .study import build
from .test_statistics import PEOPLE


@pytest.fixture
def study_code(app):
    with app.app_context():
        build(PEOPLE)
        create_user("pi@example.org", "coordinator", PASSWORD, ["RES-1"])
        db.session.commit()
    return "RES-1"


@pytest.fixture
def pi(client, study_code):
    assert login(client, "pi@example.org").status_code == 302
    return client


def page(client, query=""):
    response = client.get(f"/staff/studies/RES-1/results{query}")
    return response, response.get_data(as_text=True)


def figure(html: str, attribute: str, code: str) -> str:
    match = re.search(rf'<article class="results-figure" {attribute}="{code}">(.*?)</article>', html, re.S)
    assert match, (attribute, code)
    return match.group(1)


def counts(block: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-testid="n">(\d+)<', block)]


def test_each_scale_has_its_charts_with_a_text_alternative_and_its_n(pi):
    response, html = page(pi)
    assert response.status_code == 200
    pf2 = figure(html, "data-scale", "PF2")
    # means chart and change bars, each an image with a title and a description
    assert pf2.count('role="img"') == 2 and pf2.count("<title") == 2 and pf2.count("<desc") == 2
    # rows: per timepoint, arms A, B, no arm and all; baseline: A1-A4 in arm A (A5's baseline was not done)
    assert counts(pf2)[:4] == [4, 3, 1, 8]
    assert "style=" not in html.split("<main", 1)[1]  # the CSP allows no inline style


def test_symptoms_show_grade_bars_and_the_maximum_grade_table(pi):
    _, html = page(pi)
    term = figure(html, "data-term", "PROCTCAE_17_COMP")
    assert 'role="img"' in term and "Grade 3" in term
    assert counts(term)[0] == 3  # baseline, arm A: A1, A2, A3
    maxima = html.split('data-testid="maxima"', 1)[1].split("</table>", 1)[0]
    assert "PROCTCAE_17_COMP" in maxima
    # each maximum says its n: arm A has 4 with a post-baseline grade, 3 of them with a baseline grade (not A5)
    arm_a = maxima.split('data-term="PROCTCAE_17_COMP"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'data-label="n" class="num">(\d+)<', arm_a) == ["4"]
    assert re.findall(r'data-label="Baseline-adjusted: n" class="num">(\d+)<', arm_a) == ["3"]


def test_kaplan_meier_figure_has_the_number_at_risk(pi):
    _, html = page(pi)
    km = figure(html, "data-km", "PA")
    assert 'role="img"' in km
    assert counts(km)[0] == 4  # arm A: 4 at risk (A5 has no baseline)
    assert "168" in km  # arm A's median


@pytest.mark.parametrize("query, message", [
    ("?arm=Z", "This study has no arm"),
    ("?site=XYZ", "There is no site"),
    ("?timepoint=wk99", "This study has no timepoint"),
    ("?family=nope", "There is no group of scales"),
    ("?family=qlq_c30-symptoms&family=qlq_c30-functioning", "one group"),
])
def test_a_bad_filter_is_a_400_that_says_which(pi, query, message):
    response, html = page(pi, query)
    assert response.status_code == 400
    assert message in html and 'data-testid="filter-problem"' in html


def test_filters_narrow_what_is_shown(pi):
    response, html = page(pi, "?arm=B&timepoint=wk12&family=qlq_c30-functioning")
    assert response.status_code == 200
    pf2 = figure(html, "data-scale", "PF2")
    assert counts(pf2) == [3]  # B1, B2, B3 at week 12, one arm so no "all" row
    assert 'data-scale="PA"' not in html and 'data-term=' not in html


def test_a_site_limited_user_sees_only_their_site(app, client, study_code):
    with app.app_context():
        user = create_user("bcn@example.org", "coordinator", PASSWORD)
        bcn = db.session.scalar(select(Site).where(Site.code == "BCN"))
        db.session.add(StudyGrant(user_id=user.id, study_id=bcn.study_id, site_id=bcn.id))
        db.session.commit()
    assert login(client, "bcn@example.org").status_code == 302
    _, html = page(client)
    pf2 = figure(html, "data-scale", "PF2")
    assert counts(pf2)[:3] == [4, 2, 6]  # baseline: A1-A4, B1 and B3 at BCN (B2 and N1 are at MIA)
    response, html = page(client, "?site=MIA")
    assert response.status_code == 400


def test_no_access_to_the_study_is_a_404(app, client, study_code):
    with app.app_context():
        create_user("other@example.org", "coordinator", PASSWORD)
        db.session.commit()
    assert login(client, "other@example.org").status_code == 302
    assert client.get("/staff/studies/RES-1/results").status_code == 404


def test_the_dashboard_links_to_the_results(pi):
    html = pi.get("/staff/studies/RES-1/dashboard").get_data(as_text=True)
    assert 'href="/staff/studies/RES-1/results"' in html


def test_the_page_is_in_spanish(pi):
    _, html = page(pi, "?lang=es")
    assert "Tiempo hasta el deterioro" in html


def test_kaplan_meier_in_numpy_equals_scipy():
    rng = np.random.default_rng(14)
    for k in range(200):
        n = int(rng.integers(1, 40))
        days = (rng.choice([0, 84, 90, 168, 171, 198], n) if k % 2 else rng.integers(0, 300, n)).astype(float)
        events = rng.random(n) < rng.random()
        ours, theirs = kaplan_meier(days, events), scipy_kaplan_meier(days, events)
        assert ours.shape == theirs.shape
        assert np.allclose(ours.to_numpy(), theirs.to_numpy(), rtol=1e-9, atol=1e-12, equal_nan=True), (days, events)


