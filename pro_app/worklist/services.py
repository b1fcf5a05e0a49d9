"""Today's work for a study: the dashboard buckets (due today, due this week, windows open, overdue, missed,
in progress), every assessment a user may see, and the downloads a study page offers.

Every query is scoped through access.py (study and site grants).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import contains_eager

from .. import access
from ..alerts.services import open_alert_count
from ..assessments.schedule import UNSCHEDULED, VISIT, local_today, site_today
from ..assessments.status import displayed_statuses
from ..extensions import db
from ..models import Assessment, ItemResponse, Participant, Site, Study, Timepoint, User
from ..participants.services import code_contains
from ..visits import visit_code
from ..vocabulary import AssessmentStatus

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
#: Rows a dashboard bucket shows; the count above it is the whole bucket's.
BUCKET_ROWS = 50
#: How far ahead "due this week" looks, in days after today.
WEEK_DAYS = 7


def visible_participant_ids(user: User, study: Study):
    """The ids of the study's participants the user may see, as a subquery."""
    return (access.visible_participants(user).where(Participant.study_id == study.id)
            .with_only_columns(Participant.id))


# --- dashboard buckets -----------------------------------------------------------------------------------

ROW_COLUMNS = ["assessment_id", "participant_id", "participant", "participant_status", "language", "site",
               "site_name", "timezone", "timepoint", "timepoint_label", "visit", "target_date", "window_start",
               "window_end", "stored_status", "answers", "follow_up_continues", "death_date", "early"]


def assessments_frame(user: User, study: Study, now: datetime) -> pd.DataFrame:
    """One row per assessment of the study the user may see, with the site-local `today` and `status`
    (the effective status a coordinator sees) worked out."""
    answers = (select(ItemResponse.assessment_id, func.count().label("n"))
               .where(ItemResponse.state == "answered").group_by(ItemResponse.assessment_id).subquery())
    stmt = (
        select(Assessment.id, Participant.id, Participant.study_code, Participant.status, Participant.language,
               Site.code, Site.name, Site.timezone, Timepoint.code, Timepoint.label, VISIT,
               Assessment.target_date, Assessment.window_start, Assessment.window_end, Assessment.status,
               func.coalesce(answers.c.n, 0), Participant.follow_up_continues, Participant.death_date,
               Assessment.early)
        .join(Participant, Assessment.participant_id == Participant.id)
        .join(Site, Participant.site_id == Site.id)
        .outerjoin(Timepoint, Assessment.timepoint_id == Timepoint.id)
        .outerjoin(answers, answers.c.assessment_id == Assessment.id)
        .where(Participant.study_id == study.id, Participant.id.in_(visible_participant_ids(user, study)))
        .order_by(Assessment.target_date, Participant.study_code, VISIT)
    )
    frame = pd.DataFrame(db.session.execute(stmt).all(), columns=ROW_COLUMNS)
    frame["timepoint_label"] = _visit_labels(study, frame)
    zones = {zone: local_today(zone, now) for zone in frame["timezone"].unique()}
    frame["today"] = frame["timezone"].map(zones)
    frame["status"] = displayed_statuses(frame["stored_status"], frame["window_start"], frame["window_end"],
                                         frame["today"], frame["early"])
    return frame


def _visit_labels(study: Study, frame: pd.DataFrame) -> list[str]:
    """Each row's visit as staff pages name it (Assessment.visit_label): the timepoint's label, with the
    occurrence of a repeating one ("Every 4 weeks 3"), or "Unscheduled 2.01"."""
    repeats = {t.code: t for t in study.timepoints if t.repeats}
    labels = []
    for code, label, visit in zip(frame["timepoint"], frame["timepoint_label"], frame["visit"], strict=True):
        if code is None or code != code:
            labels.append(_("Unscheduled %(visit)s", visit=visit_code(float(visit))))
        elif code in repeats:
            labels.append(f"{label} {int(round(visit)) - 100 * repeats[code].position}")
        else:
            labels.append(label)
    return labels


def bucket_masks(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Which rows fall in each bucket. Participants who died, or withdrew without follow-up, are left out of
    the work to do."""
    if frame.empty:
        return {name: pd.Series(dtype=bool) for name in BUCKETS}
    followed = frame["follow_up_continues"].fillna(False).astype(bool)
    active = ((frame["participant_status"] != "withdrawn") | followed) & frame["death_date"].isna()
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

    def rows(self, name: str, limit: int | None = None) -> list[dict]:
        """The bucket's rows, the first `limit` of them when given (a page stays small in a large study)."""
        rows = self.buckets[name] if limit is None else self.buckets[name].head(limit)
        return rows.to_dict("records")


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


def every_assessment(user: User, now) -> list[tuple[Participant, Assessment, str]]:
    """Every assessment the user may see, with the status a coordinator sees today at its site, by study,
    participant and visit."""
    participants = db.session.scalars(access.visible_participants(user)).all()
    rows = []
    for participant in sorted(participants, key=lambda p: (p.study.code, p.study_code)):
        today = site_today(participant, now)
        for assessment in participant_assessments(participant):
            rows.append((participant, assessment, assessment.effective_status(today)))
    return rows


#: The statuses the assessments list filters on (stored, or following from the site-local date).
LIST_STATUSES = tuple(AssessmentStatus)


def assessment_listing(user: User, now: datetime, *, search: str = "", site: str = "", timepoint: str = "",
                       status: str = "") -> Select:
    """The assessments the user may see, filtered (participant code containing `search`, site code,
    timepoint code, the status a coordinator sees today at each site), by study, participant and visit:
    a query to page through, so a study of any size lists one page at a time."""
    query = (select(Assessment).join(Assessment.participant).join(Participant.site).outerjoin(Assessment.timepoint)
             .join(Participant.study).where(access.visible_participants(user).whereclause)
             .options(contains_eager(Assessment.participant).contains_eager(Participant.site),
                      contains_eager(Assessment.participant).contains_eager(Participant.study),
                      contains_eager(Assessment.timepoint))
             .order_by(Study.code, Participant.study_code, VISIT, Assessment.id))
    if search:
        query = query.where(code_contains(search))
    if site:
        query = query.where(Site.code == site)
    if timepoint == UNSCHEDULED:
        query = query.where(Assessment.timepoint_id.is_(None))
    elif timepoint:
        query = query.where(Timepoint.code == timepoint)
    if status in ("in_progress", "completed", "partial", "not_done"):
        query = query.where(Assessment.status == status)
    elif status in ("scheduled", "open", "missed"):
        zones = db.session.scalars(select(Site.timezone).distinct()).all()
        by_zone = []
        for zone in zones:
            today = local_today(zone, now)
            # the same rule as assessments/status.py displayed_status, as SQL
            early = Assessment.early.is_(True)
            when = {"scheduled": and_(Assessment.window_start > today, ~early),
                    "missed": Assessment.window_end < today,
                    "open": and_(or_(Assessment.window_start <= today, early), Assessment.window_end >= today)}[status]
            by_zone.append(and_(Site.timezone == zone, when))
        by_window = and_(Assessment.status == "scheduled", or_(*by_zone) if by_zone else false())
        # a started assessment that closed with nothing answered is stored as missed (close-expired)
        query = query.where(or_(by_window, Assessment.status == "missed") if status == "missed" else by_window)
    return query


def participant_assessments(participant: Participant) -> list[Assessment]:
    """The participant's assessments in visit order (unscheduled ones after the visit they followed)."""
    return db.session.scalars(
        select(Assessment).outerjoin(Timepoint).where(Assessment.participant_id == participant.id)
        .order_by(VISIT, Assessment.id)
    ).all()


#: The data sets and formats a study page offers (the API and command line offer more).
DOWNLOAD_DATASETS = {
    "scores": _l("Scores (one row per scale)"),
    "wide": _l("Wide (one row per assessment)"),
    "items": _l("Items (one row per answer)"),
    "compliance": _l("Compliance (one row per assessment)"),
    "subjects": _l("Subjects (one row per participant)"),
    "alerts": _l("Alerts (one row per alert, with time to acknowledge)"),
    "results_scales": _l("Results: scales (one row per scale, timepoint and arm)"),
    "results_terms": _l("Results: symptoms (one row per term, timepoint and arm)"),
    "ttd": _l("Time to deterioration (one row per participant and scale)"),
    "sdtm_qs": _l("CDISC SDTM QS (one record per item per assessment)"),
    "suppqs": _l("CDISC SDTM SUPPQS (language and mode of the QS records)"),
    "adsl": _l("CDISC ADaM ADSL (one record per participant)"),
    "adqs": _l("CDISC ADaM ADQS (one record per score per assessment)"),
    "codebook": _l("Codebook"),
}
DOWNLOAD_FORMATS = {"csv": "CSV", "xlsx": "XLSX", "sav": "SPSS", "dta": "Stata", "xpt": "SAS (XPT)"}
