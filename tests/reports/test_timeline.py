"""The participant report's time axis: days from each timepoint's anchor, and not-done / missed timepoints kept
in their place, marked (issue 14, deliverable 5)."""

from __future__ import annotations

import math
import re
from datetime import date, timedelta

from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Participant, Study, Timepoint
from pro_app.reports import services as reports
from pro_app.reports import views
from tests.results.study import ANCHOR, Person, build


def test_days_count_from_each_timepoints_anchor_and_not_done_timepoints_stay_in_place(app):
    with app.app_context():
        study_id = build([Person("T1", scores={"baseline": {"PF2": 80}, "wk12": {"PF2": 70}, "wk24": {"PF2": 60},
                                               "fu30": {"PF2": 50}},
                                 statuses={"wk12": "not_done", "wk24": "missed"}, late={"baseline": 2})],
                         code="TL-1")
        study = db.session.get(Study, study_id)
        follow_up = db.session.scalar(select(Timepoint).where(Timepoint.study_id == study_id,
                                                              Timepoint.code == "fu30"))
        follow_up.anchor = "treatment_end"  # 30 days after the end of treatment
        participant = db.session.scalar(select(Participant).where(Participant.study_id == study.id))
        participant.treatment_end = ANCHOR + timedelta(days=170)
        db.session.flush()

        axis = reports.timeline(participant, today=date(2026, 1, 1))

        assert axis["timepoint"].tolist() == ["baseline", "wk12", "wk24", "fu30"]
        # baseline done 2 days after the start of treatment; not done and missed at their target days;
        # fu30 done on day 198 from the start of treatment, which is day 28 from its own anchor, the end
        assert axis["day"].tolist() == [2.0, 84.0, 168.0, 28.0]
        assert axis["state"].tolist() == [reports.DONE, reports.NOT_DONE, reports.MISSED, reports.DONE]
        assert axis["anchor"].tolist() == ["treatment_start", "treatment_start", "treatment_start",
                                           "treatment_end"]


def test_a_timepoint_not_yet_reached_or_without_an_anchor_date_is_pending(app):
    with app.app_context():
        study_id = build([Person("T2", scores={"baseline": {"PF2": 80}})], code="TL-2")
        follow_up = db.session.scalar(select(Timepoint).where(Timepoint.study_id == study_id,
                                                              Timepoint.code == "fu30"))
        follow_up.anchor = "treatment_end"
        participant = db.session.scalar(select(Participant).where(Participant.study_id == study_id))
        db.session.flush()

        axis = reports.timeline(participant, today=ANCHOR + timedelta(days=1)).set_index("timepoint")

        assert axis.loc["baseline", "state"] == reports.DONE
        assert axis.loc["wk12", "state"] == reports.PENDING and axis.loc["wk12", "day"] == 84.0
        assert axis.loc["fu30", "state"] == reports.PENDING and math.isnan(axis.loc["fu30", "day"])


def test_the_heat_map_shows_each_timepoints_day_and_marks_not_done_and_missed_in_place(app):
    with app.test_request_context():
        study_id = build([Person("T3", scores={"baseline": {"PROCTCAE_17_COMP": 1}, "wk12": {"PROCTCAE_17_COMP": 2},
                                               "wk24": {}, "fu30": {}},
                                 statuses={"wk24": "not_done", "fu30": "missed"})], code="TL-3")
        participant = db.session.scalar(select(Participant).where(Participant.study_id == study_id))
        report = reports.report(participant)
        axis = reports.timeline(participant, today=date(2026, 1, 1))

        drawn = str(views.heat_map(participant, report.grades[0], "en", axis))

        texts = [t.strip() for t in re.findall(r">([^<>]+)</text>", drawn)]
        assert texts[:4] == ["BASELINE", "day 0", "WK12", "day 84"]
        assert texts[4:10] == ["WK24", "day 168", "not done", "FU30", "day 198", "missed"]
