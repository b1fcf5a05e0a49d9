"""Compliance per CONSORT-PRO against a hand-built table: an assessment is expected only while the participant
is alive and on study, once its window has opened; deaths and withdrawals are their own counts, never missed.
The `subjects` data set carries the subject-level facts, one row per participant, in every export format."""

from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from pro_app.clock import utcnow
from pro_app.extensions import db
from pro_app.models import Assessment, Participant, Study, User
from pro_app.worklist.compliance import compliance_table
from tests.support.exports import export_bytes

# create_study's schedule: baseline day 0 (-14/+3), wk12 day 84 (±14), wk24 day 168 (±14), fu30 day 198 (-7/+14)
ANCHOR_AGO = 220  # every window has closed


def setup_participants(app, create_study, create_participant):
    study = create_study()
    anchor = utcnow().date() - timedelta(days=ANCHOR_AGO)
    made = {code: create_participant(study, code=code, anchor=anchor) for code in ("P1", "P2", "P3", "P4", "P5")}
    completed = {"P1": ("baseline", "wk12", "wk24", "fu30"), "P2": ("baseline",), "P3": ("baseline",),
                 "P4": ("baseline", "wk12")}
    with app.app_context():
        for code, timepoints in completed.items():
            for tp in timepoints:
                a = db.session.get(Assessment, made[code].assessments[tp])
                a.status, a.completed_at = "completed", utcnow() - timedelta(days=1)
        fu30 = db.session.get(Assessment, made["P4"].assessments["fu30"])
        fu30.status, fu30.not_done_reason = "not_done", "too_ill"
        people = {p.study_code: p for p in db.session.scalars(select(Participant))}
        people["P2"].death_date = anchor + timedelta(days=100)  # after wk12's window (day 98): wk12 missed
        people["P3"].status, people["P3"].withdrawn_on = "withdrawn", anchor + timedelta(days=50)
        people["P3"].withdrawn_reason = "Moved away"
        people["P4"].status, people["P4"].withdrawn_on = "withdrawn", anchor + timedelta(days=50)
        people["P4"].follow_up_continues = True  # questionnaires continue: still expected
        people["P5"].death_date = anchor + timedelta(days=80)  # during wk12's window, nothing given
        people["P1"].arm, people["P1"].consent_date = "A", anchor - timedelta(days=10)
        db.session.commit()
    return study, anchor


#: The CONSORT-PRO table worked out by hand from the story above (all sites).
HAND_BUILT = pd.DataFrame([
    # timepoint, expected, completed, missed, not_done, died, withdrawn
    ("baseline", 5, 4, 1, 0, 0, 0),
    ("wk12", 3, 2, 1, 0, 1, 1),
    ("wk24", 2, 1, 1, 0, 2, 1),
    ("fu30", 2, 1, 0, 1, 2, 1),
], columns=["timepoint", "expected", "completed", "missed", "not_done", "died", "withdrawn"])


def test_compliance_counts_deaths_and_withdrawals_as_their_own_reasons(app, create_study, create_participant,
                                                                       create_staff):
    study, _ = setup_participants(app, create_study, create_participant)
    staff = create_staff(email="admin@example.org", role="admin")
    with app.app_context():
        table = compliance_table(db.session.get(User, staff.id), db.session.get(Study, study.id), utcnow())
    overall = table[table["site"].isna()].reset_index(drop=True)
    got = overall[HAND_BUILT.columns].astype({c: "int64" for c in HAND_BUILT.columns[1:]})
    pd.testing.assert_frame_equal(got, HAND_BUILT)
    assert (overall["pending"] == 0).all() and (overall["not_done_too_ill"] == [0, 0, 0, 1]).all()


def test_the_compliance_page_shows_died_and_withdrawn(app, client, create_study, create_participant, create_staff):
    from tests.support.http import login
    study, _ = setup_participants(app, create_study, create_participant)
    staff = create_staff(email="admin@example.org", role="admin")
    login(client, staff.email)
    page = client.get(f"/staff/studies/{study.code}/compliance").get_data(as_text=True)
    row = page[page.index('data-timepoint="wk24" data-site=""'):]
    row = row[:row.index("</tr>")]
    assert 'data-key="died">2<' in row and 'data-key="withdrawn">1<' in row and 'data-key="missed">1 ' in row


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx", "dta"])
def test_subjects_data_set_has_one_row_per_participant(app, create_study, create_participant, fmt):
    study, anchor = setup_participants(app, create_study, create_participant)
    data = export_bytes(app, study.code, "subjects", fmt)
    frame = {"csv": lambda b: pd.read_csv(io.BytesIO(b), keep_default_na=False),
             "parquet": lambda b: pd.read_parquet(io.BytesIO(b)),
             "xlsx": lambda b: pd.read_excel(io.BytesIO(b), keep_default_na=False),
             "dta": lambda b: pd.read_stata(io.BytesIO(b))}[fmt](data)
    assert list(frame["participant"]) == ["P1", "P2", "P3", "P4", "P5"]
    rows = frame.set_index("participant")

    def day(value):
        return None if (isinstance(value, str) and not value) or pd.isna(value) else pd.Timestamp(value).date()

    assert rows.loc["P1", "arm"] == "A" and day(rows.loc["P1", "consent_date"]) == anchor - timedelta(days=10)
    assert day(rows.loc["P2", "death_date"]) == anchor + timedelta(days=100)
    assert day(rows.loc["P3", "withdrawn_on"]) == anchor + timedelta(days=50)
    assert rows.loc["P3", "withdrawn_reason"] == "Moved away" and rows.loc["P3", "status"] == "withdrawn"
    def flag(value):  # a labelled Stata file reads back as its value labels ("0 = no; 1 = yes")
        return int({"yes": 1, "no": 0}.get(value, value))

    assert flag(rows.loc["P4", "follow_up_continues"]) == 1 and flag(rows.loc["P3", "follow_up_continues"]) == 0
    assert day(rows.loc["P5", "withdrawn_on"]) is None
    assert all(day(v) == anchor for v in rows["anchor_date"])
