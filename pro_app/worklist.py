"""Today's work for a study: the dashboard buckets (due today, due this week, windows open, overdue, missed,
in progress) and the compliance table per timepoint and site that a CONSORT-PRO report can quote.

Every query is scoped through access.py (study and site grants). The compliance table is computed from the
`compliance` data set the analysts export (exports/datasets.py), so the two always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from . import access
from .assessments.schedule import local_today
from .exports import datasets
from .extensions import db
from .models import NOT_DONE_REASONS, Alert, Assessment, ItemResponse, Participant, Site, Study, Timepoint, User

#: The dashboard buckets, in the order shown. An assessment can sit in more than one (due today and overdue
#: never together; due today and windows open often together).
BUCKETS = ("due_today", "due_this_week", "overdue", "window_open", "in_progress", "missed")
BUCKET_LABELS = {
    "due_today": _l("Due today"),
    "due_this_week": _l("Due in the next 7 days"),
    "overdue": _l("Overdue"),
    "window_open": _l("Windows open"),
    "in_progress": _l("In progress"),
    "missed": _l("Missed"),
}
BUCKET_HELP = {
    "due_today": _l("The target date is today and the assessment is not finished."),
    "due_this_week": _l("The target date is in the next 7 days and the assessment is not finished."),
    "overdue": _l("The target date has passed, the window is still open and the assessment is not completed."),
    "window_open": _l("The window is open today and the assessment is not finished."),
    "in_progress": _l("The patient has started but not submitted."),
    "missed": _l("The window closed and the assessment was never started."),
}
#: How far ahead "due this week" looks, in days after today.
WEEK_DAYS = 7



# --- access ----------------------------------------------------------------------------------------------





def _visible_participant_ids(user: User, study: Study):
    return (access.visible_participants(user).where(Participant.study_id == study.id)
            .with_only_columns(Participant.id))


# --- dashboard buckets -----------------------------------------------------------------------------------

ROW_COLUMNS = ["assessment_id", "participant_id", "participant", "participant_status", "language", "site",
               "site_name", "timezone", "timepoint", "timepoint_label", "visit", "target_date", "window_start",
               "window_end", "stored_status", "answers"]


def assessments_frame(user: User, study: Study, now: datetime) -> pd.DataFrame:
    """One row per assessment of the study the user may see, with the site-local `today` and `status`
    (the effective status a coordinator sees) worked out."""
    answers = (select(ItemResponse.assessment_id, func.count().label("n"))
               .where(ItemResponse.state == "answered").group_by(ItemResponse.assessment_id).subquery())
    stmt = (
        select(Assessment.id, Participant.id, Participant.study_code, Participant.status, Participant.language,
               Site.code, Site.name, Site.timezone, Timepoint.code, Timepoint.label, Timepoint.position,
               Assessment.target_date, Assessment.window_start, Assessment.window_end, Assessment.status,
               func.coalesce(answers.c.n, 0))
        .join(Participant, Assessment.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .join(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .outerjoin(answers, answers.c.assessment_id == Assessment.id)
        .where(Participant.study_id == study.id, Participant.id.in_(_visible_participant_ids(user, study)))
        .order_by(Assessment.target_date, Participant.study_code, Timepoint.position)
    )
    frame = pd.DataFrame(db.session.execute(stmt).all(), columns=ROW_COLUMNS)
    zones = {zone: local_today(zone, now) for zone in frame["timezone"].unique()}
    frame["today"] = frame["timezone"].map(zones)
    scheduled = frame["stored_status"] == "scheduled"
    before = frame["today"] < frame["window_start"]
    after = frame["today"] > frame["window_end"]
    frame["status"] = np.where(~scheduled, frame["stored_status"],
                               np.where(before, "scheduled", np.where(after, "missed", "open")))
    return frame


def bucket_masks(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Which rows fall in each bucket. Withdrawn participants are left out of the work to do."""
    if frame.empty:
        return {name: pd.Series(dtype=bool) for name in BUCKETS}
    active = frame["participant_status"] != "withdrawn"
    unfinished = frame["status"].isin(["scheduled", "open", "in_progress"]) & active
    in_window = (frame["window_start"] <= frame["today"]) & (frame["today"] <= frame["window_end"])
    week_end = frame["today"].map(lambda d: d + timedelta(days=WEEK_DAYS))
    return {
        "due_today": unfinished & (frame["target_date"] == frame["today"]),
        "due_this_week": unfinished & (frame["target_date"] > frame["today"]) & (frame["target_date"] <= week_end),
        "overdue": unfinished & in_window & (frame["target_date"] < frame["today"]),
        "window_open": unfinished & in_window,
        "in_progress": active & (frame["status"] == "in_progress"),
        "missed": active & (frame["status"] == "missed"),
    }


@dataclass(frozen=True)
class Dashboard:
    study: Study
    buckets: dict[str, pd.DataFrame]  # bucket name → its rows (ROW_COLUMNS + today, status)
    open_alerts: int

    def count(self, name: str) -> int:
        return len(self.buckets[name])

    def rows(self, name: str) -> list[dict]:
        return self.buckets[name].to_dict("records")


def open_alert_count(user: User, study: Study) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Alert).join(Assessment, Alert.assessment_id == Assessment.id)
        .where(Alert.study_id == study.id, Alert.status == "open",
               Assessment.participant_id.in_(_visible_participant_ids(user, study)))
    ) or 0


def dashboard(user: User, study: Study, now: datetime) -> Dashboard:
    frame = assessments_frame(user, study, now)
    masks = bucket_masks(frame)
    buckets = {}
    for name in BUCKETS:
        rows = frame[masks[name]] if not frame.empty else frame
        if name == "missed":  # most recently closed first: those are the ones still worth a call
            rows = rows.sort_values(["window_end", "participant"], ascending=[False, True])
        buckets[name] = rows.reset_index(drop=True)
    return Dashboard(study, buckets, open_alert_count(user, study))


# --- compliance ------------------------------------------------------------------------------------------

COUNT_COLUMNS = ["expected", "completed", "partly_completed", "missed", "not_done", "pending"]
PERCENT_OF = ["completed", "partly_completed", "missed", "not_done"]


def compliance_rows(user: User, study: Study) -> pd.DataFrame:
    """The `compliance` data set exactly as an analyst exports it, limited to the sites the user may see."""
    filters = datasets.Filters(sites=access.granted_site_codes(user, study))
    chunks = list(datasets.build(study, "compliance", filters))
    columns = datasets.IDENTIFIER_NAMES + [c.name for c in datasets.C.COMPLIANCE_ROW]
    return pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=columns)


def classify(rows: pd.DataFrame, today: dict[str, date]) -> pd.Series:
    """Each expected assessment's outcome: completed; partly_completed (started, at least one answer, not
    submitted); not_done (with a reason); missed (window closed, nothing given); pending (window still
    open, nothing given yet). Not expected assessments get None. `today`: site code → site-local date."""
    status = rows["assessment_status"]
    site_today = rows["site"].map(today)
    closed = pd.Series([t > end for t, end in zip(site_today, rows["window_end"], strict=True)], index=rows.index,
                       dtype=bool)
    outcome = np.select(
        [status == "completed", (status == "in_progress") & (rows["items_answered"] > 0), status == "not_done",
         (status == "missed") | ((status == "in_progress") & closed)],
        ["completed", "partly_completed", "not_done", "missed"], default="pending")
    return pd.Series(outcome, index=rows.index).where(rows["expected"] == 1, None)


def _tally(group: pd.DataFrame) -> dict:
    expected = group[group["outcome"].notna()]
    counts = {"expected": len(expected)}
    for name in COUNT_COLUMNS[1:]:
        counts[name] = int((expected["outcome"] == name).sum())
    reasons = expected.loc[expected["outcome"] == "not_done", "not_done_reason"].fillna("other")
    for reason in NOT_DONE_REASONS:
        counts[f"not_done_{reason}"] = int((reasons == reason).sum())
    unknown = ~reasons.isin(NOT_DONE_REASONS)
    counts["not_done_other"] += int(unknown.sum())
    for name in PERCENT_OF:
        counts[f"pct_{name}"] = 100.0 * counts[name] / counts["expected"] if counts["expected"] else float("nan")
    return counts


def compliance_table(user: User, study: Study, now: datetime) -> pd.DataFrame:
    """Per timepoint × site, then per timepoint over all the sites the user sees (site = None): expected,
    completed, partly_completed, missed, not_done (and per reason), pending, and percentages of expected."""
    rows = compliance_rows(user, study)
    today = {s.code: local_today(s.timezone, now) for s in study.sites}
    rows = rows.assign(outcome=classify(rows, today) if not rows.empty else pd.Series(dtype=object))
    labels = {t.code: t.label for t in study.timepoints}
    table = []
    for timepoint in study.timepoints:
        of_timepoint = rows[rows["timepoint"] == timepoint.code]
        sites = sorted(of_timepoint["site"].unique())
        for site in sites:
            table.append({"timepoint": timepoint.code, "timepoint_label": labels[timepoint.code],
                          "visit": timepoint.position, "site": site,
                          **_tally(of_timepoint[of_timepoint["site"] == site])})
        table.append({"timepoint": timepoint.code, "timepoint_label": labels[timepoint.code],
                      "visit": timepoint.position, "site": None, **_tally(of_timepoint)})
    columns = (["timepoint", "timepoint_label", "visit", "site"] + COUNT_COLUMNS
               + [f"not_done_{r}" for r in NOT_DONE_REASONS] + [f"pct_{n}" for n in PERCENT_OF])
    frame = pd.DataFrame(table, columns=columns)
    frame["site"] = frame["site"].astype(object).where(frame["site"].notna(), None)  # None: all sites
    return frame
