"""The participant report's time axis: days from each timepoint's anchor, and not-done / missed timepoints kept
in their place, marked (issue 14, deliverable 5)."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import lxml.html
import pytest
from sqlalchemy import select

from pro_app.extensions import db
from pro_app.models import Assessment, Participant, Score, Study, Timepoint
from pro_app.reports import charts, views
from pro_app.reports import services as reports
from tests.results.study import ANCHOR, Person, build
from tests.support.http import login


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
        report = reports.report(participant, date(2026, 1, 1))
        axis = reports.timeline(participant, today=date(2026, 1, 1))

        drawn = str(views.heat_map(participant, report.grades[0], "en", axis))

        texts = [t.strip() for t in re.findall(r">([^<>]+)</text>", drawn)]
        assert texts[:4] == ["BASELINE", "day 0", "WK12", "day 84"]
        assert texts[4:10] == ["WK24", "day 168", "not done", "FU30", "day 198", "missed"]


def axis_of(participant, instrument: str = "qlq_c30", today: date = date(2026, 1, 1)):
    frame = reports.scores_frame(participant)
    axis = reports.instrument_axis(participant, instrument, frame, reports.timeline(participant, today))
    return frame, axis, [reports.axis_notes(row) for row in axis.to_dict("records")]


def test_line_charts_count_days_from_the_anchor_and_leave_a_marked_gap_where_a_timepoint_was_not_done(app):
    """The quality-of-life line charts read like the heat map: a tick at each timepoint's day from the start of
    treatment, named with its day and state; a not-done or missed timepoint is a hatched band with no line
    across it."""
    with app.test_request_context():
        study_id = build([Person("T4", scores={"baseline": {"PF2": 80, "EF": 60}, "wk12": {}, "wk24": {},
                                               "fu30": {"PF2": 50, "EF": 70}},
                                 statuses={"wk12": "not_done", "wk24": "missed"}, late={"fu30": 3})], code="TL-4")
        participant = db.session.scalar(select(Participant).where(Participant.study_id == study_id))
        frame, axis, notes = axis_of(participant)

        fig = charts.figure(reports.chart_named("qlq_c30-functioning"), frame, axis, lang="en", title="t",
                            y_label="y", x_label="Days from the anchor date", notes=notes)

        ax = fig.axes[0]
        assert ax.get_xticks().tolist() == [0.0, 84.0, 168.0, 201.0]  # days apart as they are, fu30 done 3 late
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            "BASELINE\nday 0", "WK12\nday 84\nnot done", "WK24\nday 168\nmissed", "FU30\nday 201"]
        assert ax.get_xlabel() == "Days from the anchor date"
        gaps = {p.get_gid(): p.get_x() + p.get_width() / 2 for p in ax.patches if (p.get_gid() or "").startswith("gap")}
        assert gaps == pytest.approx({"gap-wk12": 84.0, "gap-wk24": 168.0})
        pf2 = next(line for line in ax.get_lines() if line.get_label().startswith("PF2"))
        assert pf2.get_xdata().tolist() == [0.0, 84.0, 168.0, 201.0]
        ys = pf2.get_ydata().tolist()  # no value, so no line, across the two timepoints not done
        assert ys[0] == 80 and ys[3] == 50 and math.isnan(ys[1]) and math.isnan(ys[2])


def test_a_timepoint_counted_from_the_end_of_treatment_sits_at_its_place_and_says_its_own_day(app):
    with app.test_request_context():
        study_id = build([Person("T5", scores={"baseline": {"PF2": 80}, "wk12": {"PF2": 70}, "fu30": {"PF2": 60}})],
                         code="TL-5")
        follow_up = db.session.scalar(select(Timepoint).where(Timepoint.study_id == study_id,
                                                              Timepoint.code == "fu30"))
        follow_up.anchor = "treatment_end"
        participant = db.session.scalar(select(Participant).where(Participant.study_id == study_id))
        participant.treatment_end = ANCHOR + timedelta(days=150)  # fu30 done on day 198: 48 days after the end
        db.session.flush()
        frame, axis, notes = axis_of(participant)

        fig = charts.figure(reports.chart_named("qlq_c30-functioning"), frame, axis, lang="en", title="t",
                            y_label="y", x_label="x", notes=notes)

        ax = fig.axes[0]
        assert ax.get_xticks().tolist() == [0.0, 84.0, 168.0, 198.0]
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            "BASELINE\nday 0", "WK12\nday 84", "WK24\nday 168", "FU30\nday 48 (from end of treatment)"]


def test_the_served_chart_names_each_timepoint_with_its_day_and_state_as_the_heat_map_does(app, client, create_staff):
    with app.app_context():
        study_id = build([Person("T6", scores={"baseline": {"PF2": 80, "PROCTCAE_17_COMP": 1}, "wk12": {},
                                               "wk24": {"PF2": 60, "PROCTCAE_17_COMP": 2}},
                                 statuses={"wk12": "not_done"})], code="TL-6")
        participant_id = db.session.scalar(select(Participant.id).where(Participant.study_id == study_id))
    login(client, create_staff(studies=[SimpleNamespace(code="TL-6")]).email)

    svg = client.get(f"/staff/participants/{participant_id}/charts/qlq_c30-functioning.svg").get_data(as_text=True)
    page = client.get(f"/staff/participants/{participant_id}/report").get_data(as_text=True)

    # text is drawn as paths; matplotlib keeps each line's text in a comment before it
    drawn = re.findall(r"<!-- (.*?) -->", svg)
    assert drawn[:drawn.index("Days from the anchor date")] == [
        "BASELINE", "day 0", "WK12", "day 84", "not done", "WK24", "day 168", "FU30", "day 198"]
    assert re.findall(r'id="(gap-[^"]+)"', svg) == ["gap-wk12"]
    heat = page.split('data-testid="heat-map"', 1)[1].split("</figure>", 1)[0]
    heat_texts = [t.strip() for t in re.findall(r">([^<>]+)</text>", heat)]
    assert heat_texts[:9] == drawn[:9]


def test_a_section_per_instrument_in_the_studys_order_its_table_a_row_per_scale_and_a_column_per_timepoint(
        app, client, create_staff):
    """The score table reads like the charts above it and the heat map: the same columns, not-done ones in place."""
    with app.app_context():
        study_id = build([Person("T7", scores={"baseline": {"PF2": 80, "FA": 20, "PROCTCAE_17_COMP": 1}, "wk12": {},
                                               "wk24": {"PF2": 60, "FA": 40, "PROCTCAE_17_COMP": 2}},
                                 statuses={"wk12": "not_done"})], code="TL-7")
        participant_id = db.session.scalar(select(Participant.id).where(Participant.study_id == study_id))
    login(client, create_staff(studies=[SimpleNamespace(code="TL-7")]).email)

    tree = lxml.html.fromstring(client.get(f"/staff/participants/{participant_id}/report").get_data(as_text=True))

    def text(node) -> str:
        return " ".join(" ".join(node.itertext()).split())

    sections = tree.xpath("//section[contains(@class, 'report-instrument')]")
    assert [s.get("data-instrument") for s in sections] == ["qlq_c30", "pro_ctcae"]
    assert text(sections[0].xpath(".//h2")[0]) == "Quality of life core questionnaire (QLQ-C30-style)"
    table = sections[0].xpath(".//table[contains(@class, 'report-scores')]")[0]
    assert [text(th) for th in table.xpath("./thead//th")] == [
        "Scale", "BASELINE day 0", "WK12 day 84 not done", "WK24 day 168", "FU30 day 198"]
    assert [text(th) for th in table.xpath("./tbody//th")] == ["PF2 · Physical functioning", "FA · Fatigue"]
    pf2 = [text(td) for td in table.xpath('./tbody/tr[@data-scale="PF2"]/td')]
    assert pf2 == ["80.0 (baseline) <83 Below 83", "—", "60.0 -20.0 <83 Below 83 ▼ Worse by 10 points or more", "—"]


def test_labels_of_timepoints_a_few_days_apart_are_not_drawn_over_each_other(app):
    with app.test_request_context():
        study_id = build([Person("T8", scores={"baseline": {"PF2": 80}, "wk12": {"PF2": 70}, "wk24": {"PF2": 60},
                                               "fu30": {"PF2": 50}})], code="TL-8")
        for timepoint in db.session.scalars(select(Timepoint).where(Timepoint.study_id == study_id)):
            timepoint.label = {"baseline": "Baseline", "wk12": "Week 12", "wk24": "Week 24",
                               "fu30": "30-day follow-up"}[timepoint.code]  # the demo's
        db.session.flush()
        participant = db.session.scalar(select(Participant).where(Participant.study_id == study_id))
        frame, axis, notes = axis_of(participant)

        fig = charts.figure(reports.chart_named("qlq_c30-functioning"), frame, axis, lang="en", title="t",
                            y_label="y", x_label="Days from the anchor date", notes=notes)

        renderer = fig.canvas.get_renderer()
        boxes = [t.get_window_extent(renderer) for t in fig.axes[0].get_xticklabels()]
        assert [t.get_text() for t in fig.axes[0].get_xticklabels()][3] == "30-day follow-up\nday 198"
        assert not any(a.overlaps(b) for n, a in enumerate(boxes) for b in boxes[n + 1:])
        assert all(box.x1 <= fig.bbox.width and box.y0 >= 0 for box in boxes)  # and all within the image


def test_an_unscheduled_assessment_is_on_the_axis_on_the_day_it_was_done(app):
    with app.test_request_context():
        study_id = build([Person("T9", scores={"baseline": {"PF2": 80}, "wk12": {"PF2": 70}})], code="TL-9")
        participant = db.session.scalar(select(Participant).where(Participant.study_id == study_id))
        done = datetime(2025, 2, 15, 10, tzinfo=UTC)  # day 40
        extra = Assessment(participant_id=participant.id, timepoint_id=None, occurrence=1, visit_after=1,
                           unscheduled_reason="pain", target_date=done.date(), window_start=done.date(),
                           window_end=done.date(), status="completed", started_at=done, completed_at=done,
                           mode="paper")
        db.session.add(extra)
        db.session.flush()
        db.session.add(Score(assessment_id=extra.id, instrument_id="qlq_c30", instrument_version="1",
                             scoring_version="1", scale_code="PF2", value=40, status="scored", n_items=1))
        db.session.flush()
        frame, axis, notes = axis_of(participant)

        fig = charts.figure(reports.chart_named("qlq_c30-functioning"), frame, axis, lang="en", title="t",
                            y_label="y", x_label="x", notes=notes)

        ax = fig.axes[0]
        assert ax.get_xticks().tolist() == [0.0, 40.0, 84.0, 168.0, 198.0]
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels[1].startswith("Unscheduled") and labels[1].endswith("\nday 40")
        pf2 = next(line for line in ax.get_lines() if line.get_label().startswith("PF2"))
        assert pf2.get_ydata().tolist()[:3] == [80.0, 40.0, 70.0]
        table = reports.report(participant, date(2026, 1, 1)).sections[0].table
        assert [c.label for c in table.columns][:3] == ["BASELINE", labels[1].split("\n")[0], "WK12"]
        assert [cell["value"] if cell else None for cell in table.rows[0][1]][:3] == [80.0, 40.0, 70.0]
