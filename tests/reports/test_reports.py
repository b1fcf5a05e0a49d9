"""The participant report: values, change from baseline and flags; PRO-CTCAE composites; SVG charts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from pro_app.extensions import db
from pro_app.models import Participant
from pro_app.reports import services as reports
from tests.support.http import login
from tests.support.kiosk import html, location
from tests.support.staff import C30_EXAMPLE, c30_paper_answers, paper

SVG_NS = "http://www.w3.org/2000/svg"
ALLOWED_URLS = {SVG_NS, "http://www.w3.org/1999/xlink"}

# wk12: pain items q9 and q19 at 4, global health q29/q30 at 3 (the rest as at baseline)
WK12 = list(C30_EXAMPLE)
WK12[8], WK12[18], WK12[28], WK12[29] = 4, 4, 3, 3


@pytest.fixture
def study(create_study):
    return create_study(terms=[17], instruments=["qlq_c30", "pro_ctcae"])


@pytest.fixture
def made(client, study, create_participant, create_staff):
    """A participant with baseline and wk12 keyed in from paper; the coordinator is logged in on `client`."""
    participant = create_participant(study)
    user = create_staff(studies=[study])
    assert login(client, user.email).status_code == 302
    base = {"PROCTCAE_17A_SCL": "1", "PROCTCAE_17B_SCL": "1", "PROCTCAE_17C_SCL": "1"}
    wk12 = {"PROCTCAE_17A_SCL": "1", "PROCTCAE_17B_SCL": "3", "PROCTCAE_17C_SCL": "3"}
    assert paper(client, participant.assessments["baseline"], c30_paper_answers() | base).status_code == 302
    assert paper(client, participant.assessments["wk12"], c30_paper_answers(WK12) | wk12,
                 early=True).status_code == 302
    return participant


def row(page: str, scale: str, timepoint: str) -> str:
    """The cell of a scale at a timepoint in the report's score table (a row per scale, a column per timepoint)."""
    match = re.search(rf'<td[^>]*data-scale="{scale}" data-timepoint="{timepoint}"[^>]*>(.*?)</td>', page, flags=re.S)
    assert match, (scale, timepoint)
    return re.sub(r"\s+", " ", match.group(1))


def test_values_change_and_flags_computed(app, made):
    with app.app_context():
        table = reports.scale_table(db.session.get(Participant, made.id)).set_index(["scale_code", "timepoint"])
    pa = table.loc[("PA", "wk12")]
    assert pa["value"] == pytest.approx(100.0)
    assert pa["change"] == pytest.approx(100 - 50 / 3)
    assert bool(pa["above_threshold"]) and pa["direction"] == "worse"
    ql = table.loc[("QL2", "wk12")]
    assert ql["change"] == pytest.approx(200 / 6 - 400 / 6)
    assert ql["direction"] == "worse" and not ql["above_threshold"] and not ql["below_threshold"]  # none for QL2
    pf_base = table.loc[("PF2", "baseline")]
    assert bool(pf_base["below_threshold"]) and pf_base["change"] == 0 and pf_base["direction"] == ""
    ef = table.loc[("EF", "wk12")]
    assert ef["change"] == 0 and not ef["meaningful_change"]


def test_report_page_shows_rounded_values_and_flags(client, made):
    page = html(client.get(f"/staff/participants/{made.id}/report"))
    pa = row(page, "PA", "wk12")
    assert "100.0" in pa and "+83.3" in pa and "Above 25" in pa and "Worse by 10 points or more" in pa
    ql = row(page, "QL2", "wk12")
    assert "33.3" in ql and "-33.3" in ql and "Worse by 10" in ql and "Above" not in ql
    pf = row(page, "PF2", "baseline")
    assert "73.3" in pf and "Below 83" in pf and "baseline" in pf
    dy = row(page, "DY", "wk12")
    assert "Worse" not in dy and "Above" not in dy
    composite = re.search(r'<tr data-scale="PROCTCAE_17_COMP">(.*?)</tr>', page, flags=re.S).group(1)
    assert re.findall(r'grade-(\d)"', composite) == ["1", "3"]
    assert page.count('<img src="/staff/participants/') == 2  # C30 charts; the grades are a heat map


@pytest.mark.parametrize("name", ["qlq_c30-functioning", "qlq_c30-symptoms", "pro_ctcae-composites"])
def test_chart_is_valid_svg_without_urls(client, made, name):
    r = client.get(f"/staff/participants/{made.id}/charts/{name}.svg")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    text = r.get_data(as_text=True)
    root = ET.fromstring(text)
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert set(re.findall(r"https?://[^\"'\s)<>]+", text)) <= ALLOWED_URLS
    assert "<script" not in text and "@import" not in text and not re.findall(r"url\((?!#)", text)
    assert "script-src" not in r.headers["Content-Security-Policy"]


def test_unknown_or_empty_chart_is_404(client, made):
    assert client.get(f"/staff/participants/{made.id}/charts/nope.svg").status_code == 404
    assert client.get(f"/staff/participants/{made.id}/charts/qlq_br45-symptoms.svg").status_code == 404


def test_report_without_scores(client, study, create_participant, create_staff):
    participant = create_participant(study)
    user = create_staff(studies=[study])
    login(client, user.email)
    page = html(client.get(f"/staff/participants/{participant.id}/report"))
    assert "No completed assessment has scores yet." in page


def test_report_access(app, client, study, made, create_study, create_staff):
    analyst = create_staff(email="analyst@example.org", role="analyst", studies=[study])
    a = app.test_client()
    login(a, analyst.email)
    assert a.get(f"/staff/participants/{made.id}/report").status_code == 200
    assert a.get(f"/staff/participants/{made.id}/charts/pro_ctcae-composites.svg").status_code == 200
    other = create_study(code="NCT0000002")
    outsider = create_staff(email="outsider@example.org", studies=[other])
    o = app.test_client()
    login(o, outsider.email)
    assert o.get(f"/staff/participants/{made.id}/report").status_code == 404
    assert o.get(f"/staff/participants/{made.id}/charts/pro_ctcae-composites.svg").status_code == 404
    assert client.get("/staff/participants/999999/report").status_code == 404
    assert "/staff/login" in location(app.test_client().get(f"/staff/participants/{made.id}/report"))


def test_grades_are_a_heat_map_with_a_legend_and_text_alternative(client, made):
    """Issue 14: PRO-CTCAE grades per term x timepoint as an inline SVG heat map (colour and number), each
    timepoint of the schedule in place, with a legend and a title and description for screen readers."""
    html = client.get(f"/staff/participants/{made.id}/report").get_data(as_text=True)
    heat = html.split('data-testid="heat-map"', 1)[1].split("</figure>", 1)[0]
    assert 'role="img"' in heat and "<title" in heat and "<desc" in heat
    for label in ("severe", "no grade", "baseline", "wk12", "wk24", "fu30"):
        assert label in heat
    assert "pro_ctcae-composites.svg" not in html  # the line chart of grades is replaced by the heat map
