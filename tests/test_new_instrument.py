"""An instrument that exists only as YAML in a site's folder (PRO_APP_INSTRUMENTS_DIR) works everywhere:
asked on the tablet, keyed on paper, scored, exported, shown in reports and alerted on, with no code of its
own. `symptom_diary` (tests/data/instruments) has four 0-4 items, a 0-10 numeric rating, two mean-of-items
scales with thresholds and no chart block (the report makes one chart per scale type)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from pro_app import create_app
from pro_app.extensions import db
from pro_app.models import Alert, Score, Study
from pro_app.settings import Settings
from tests.support.exports import export_bytes, read_csv
from tests.support.http import csrf_token, login
from tests.support.kiosk import answer, continue_intro, html, issue_code, location, radio_values, start_with_code
from tests.support.staff import paper

FOLDER = Path(__file__).resolve().parent / "data" / "instruments"


@pytest.fixture
def settings(tmp_path, postgres_database) -> Settings:
    """The conftest's settings with the site's instruments folder."""
    database_url = postgres_database or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return Settings.from_env(tmp_path / "instance", environ={"PRO_APP_INSTRUMENTS_DIR": str(FOLDER)},
                             database_url=database_url, testing=True, secret_key="test-only-" + uuid.uuid4().hex)


@pytest.fixture
def diary_study(create_study):
    return create_study(code="DIARY", instruments=["symptom_diary"])


def scores(app, assessment_id: int) -> dict[str, tuple[float | None, str]]:
    with app.app_context():
        return {s.scale_code: (s.value, s.status)
                for s in db.session.scalars(select(Score).where(Score.assessment_id == assessment_id))}


def test_the_folder_adds_the_instrument_to_this_app_only(app, settings, tmp_path):
    with app.app_context():
        assert "symptom_diary" in app.extensions["pro_app.instruments"].ids
    plain = create_app(Settings.from_env(tmp_path / "other", environ={}, database_url="sqlite://", testing=True,
                                         secret_key="x" * 40))
    assert "symptom_diary" not in plain.extensions["pro_app.instruments"].ids


def test_answered_on_the_tablet_scored_and_alerted(app, client, diary_study, create_participant):
    participant = create_participant(diary_study)
    assessment_id = participant.assessments["baseline"]
    assert start_with_code(client, issue_code(app, assessment_id)) == "/kiosk/a/intro/symptom_diary"
    assert location(continue_intro(client, "symptom_diary")).endswith("/kiosk/a/item/sd1")
    for item_id, value in [("sd1", 1), ("sd2", 2), ("sd3", 3), ("sd4", 4)]:
        assert answer(client, item_id, value).status_code == 302
    page = html(client.get("/kiosk/a/item/sd5"))
    assert radio_values(page) == [str(n) for n in range(11)]  # the 0-10 rating, as a row of numbers
    assert 'class="options scale"' in page and "Worst pain you can imagine" in page
    assert location(answer(client, "sd5", 7)).endswith("/kiosk/a/review")
    review = client.get("/kiosk/a/review")
    assert client.post("/kiosk/a/submit", data={"csrf_token": csrf_token(html(review))}).status_code == 302

    assert scores(app, assessment_id) == {"SDSYM": (2.5, "scored"), "SDPAIN": (7.0, "scored")}
    with app.app_context():  # both past the diary's own thresholds (above 2, above 6): its threshold rule
        alerts = db.session.scalars(select(Alert).where(Alert.assessment_id == assessment_id)).all()
        assert sorted((a.kind, a.source, a.value, a.urgency) for a in alerts) == [
            ("threshold", "SDPAIN", 7.0, 2), ("threshold", "SDSYM", 2.5, 2)]
        assert db.session.scalar(select(Study).where(Study.code == "DIARY")).thresholds["SDPAIN"] == {"above": 6}


def test_keyed_on_paper_exported_and_reported(app, client, diary_study, create_participant, create_staff):
    participant = create_participant(diary_study)
    assessment_id = participant.assessments["baseline"]
    staff = create_staff(studies=[diary_study])
    assert login(client, staff.email).status_code == 302
    form = html(client.get(f"/staff/assessments/{assessment_id}/paper"))
    assert "0 (No pain)" in form and "10 (Worst pain you can imagine)" in form
    r = paper(client, assessment_id, {"sd1": "4", "sd2": "", "sd3": "1", "sd4": "", "sd5": "10"})
    assert r.status_code == 302, html(r)[:2000]
    assert scores(app, assessment_id) == {"SDSYM": (2.5, "scored"), "SDPAIN": (10.0, "scored")}

    wide = read_csv(export_bytes(app, "DIARY", "wide"))
    row = wide[wide["assessment_id"] == assessment_id].iloc[0]
    assert (row["sd1"], row["sd3"], row["sd5"], row["SDSYM"], row["SDPAIN"]) == (4, 1, 10, 2.5, 10.0)
    assert {"sd2", "sd4"} <= set(wide.columns) and row.isna()["sd2"]
    items = read_csv(export_bytes(app, "DIARY", "items"))
    assert set(items.loc[items["assessment_id"] == assessment_id, "item"]) == {"sd1", "sd2", "sd3", "sd4", "sd5"}
    codebook = read_csv(export_bytes(app, "DIARY", "codebook")).set_index(["dataset", "column"])
    assert codebook.at[("wide", "sd5"), "values"].startswith("0 = No pain; 1 = 1; ")
    assert codebook.at[("wide", "SDPAIN"), "label"] == "Worst pain (symptom, 0-10)"
    assert codebook.at[("items", "instrument"), "values"] == "symptom_diary = Daily symptom diary (test instrument)"

    report = html(client.get(f"/staff/participants/{participant.id}/report"))
    assert "Daily symptom diary (test instrument)" in report
    assert 'data-scale="SDPAIN"' in report and 'data-scale="SDSYM"' in report
    assert "Above 6" in report  # the diary's threshold, as a flag
    assert "/charts/symptom_diary-symptom.svg" in report
    svg = client.get(f"/staff/participants/{participant.id}/charts/symptom_diary-symptom.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
