"""The participant report's time axis: days from each timepoint's anchor, and not-done / missed timepoints kept
in their place, marked (issue 14, deliverable 5)."""

from __future__ import annotations

import math
from datetime import date, timedelta

from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Participant, Study, Timepoint
from pro_app.reports import services as reports
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
