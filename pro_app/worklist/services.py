"""Today's work for a study: the dashboard buckets (due today, due this week, windows open, overdue, missed,
in progress), every assessment a user may see, and the downloads a study page offers.

Every query is scoped through access.py (study and site grants).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, case, false, func, or_, select
from sqlalchemy.orm import contains_eager

from .. import access
from ..alerts.services import open_alert_count
from ..assessments.schedule import UNSCHEDULED, VISIT, local_today, site_today
from ..assessments.status import displayed_status
from ..exports.service import RESOURCE_DATASETS
from ..extensions import db
from ..models import Assessment, Participant, Site, Study, Timepoint, User
from ..search import code_contains
from ..visits import visit_code
from ..vocabulary import AssessmentStatus, ParticipantStatus

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


# --- dashboard buckets -----------------------------------------------------------------------------------
# The buckets are SQL conditions, so a dashboard counts them in one pass over the study's assessments and
# reads only the rows it shows (a study of 10,000 participants stays fast). "Today" is each site's own date.

ROW_COLUMNS = ["assessment_id", "participant_id", "participant", "site", "timezone", "timepoint",
               "timepoint_label", "visit", "target_date", "window_start", "window_end", "stored_status", "early"]


def _on_assessment(name: str, today: date):
    """Whether an assessment's own dates and stored status put it in the bucket on the site-local `today`:
    the rule of assessments/status.py displayed_status as SQL (shown as scheduled, open or in progress means
    stored in progress, or stored scheduled with the window not closed)."""
    stored = Assessment.status
    unfinished = or_(stored == AssessmentStatus.IN_PROGRESS,
                     and_(stored == AssessmentStatus.SCHEDULED, Assessment.window_end >= today))
    in_window = and_(Assessment.window_start <= today, Assessment.window_end >= today)
    return {
        "due_today": and_(unfinished, Assessment.target_date == today),
        "due_this_week": and_(unfinished, Assessment.target_date > today,
                              Assessment.target_date <= today + timedelta(days=WEEK_DAYS)),
        "overdue": and_(unfinished, in_window, Assessment.target_date < today),
        "window_open": and_(unfinished, in_window),
        "in_progress": stored == AssessmentStatus.IN_PROGRESS,
        "missed": or_(stored == AssessmentStatus.MISSED,
                      and_(stored == AssessmentStatus.SCHEDULED, Assessment.window_end < today)),
    }[name]


def _active():
    """Participants who died, or withdrew without follow-up, are left out of the work to do."""
    return and_(or_(Participant.status != ParticipantStatus.WITHDRAWN, Participant.follow_up_continues.is_(True)),
                Participant.death_date.is_(None))


def _in_bucket(name: str, todays: dict[str, date]):
    """The bucket's condition with each site's own date. The first term, on the assessment's columns alone,
    is implied by the rest: it lets the database skip most rows before it joins them to their participant and
    site."""
    by_zone = or_(*[and_(Site.timezone == zone, _on_assessment(name, today)) for zone, today in todays.items()])
    return and_(or_(*[_on_assessment(name, today) for today in set(todays.values())]), _active(), by_zone)


def _counts(user: User, study: Study, todays: dict[str, date]) -> dict[str, int]:
    """How many of the study's assessments the user may see are in each bucket: one pass per time zone of the
    study's sites, each bucket a sum over the assessments of its participants still on study."""
    counts = dict.fromkeys(BUCKETS, 0)
    for zone, today in todays.items():
        sums = [func.coalesce(func.sum(case((_on_assessment(name, today), 1), else_=0)), 0) for name in BUCKETS]
        totals = db.session.execute(_study_assessments(user, study, *sums)
                                    .where(Site.timezone == zone, _active())).one()
        for name, n in zip(BUCKETS, totals, strict=True):
            counts[name] += int(n)
    return counts


def _study_assessments(user: User, study: Study, *columns) -> Select:
    return (select(*columns).select_from(Assessment)
            .join(Participant, Assessment.participant_id == Participant.id)
            .join(Site, Participant.site_id == Site.id)
            .where(Participant.study_id == study.id, access.visible_participants(user).whereclause))


def _bucket_rows(user: User, study: Study, name: str, todays: dict[str, date], limit: int) -> list[dict]:
    order = ((Assessment.window_end.desc(), Participant.study_code, VISIT) if name == "missed"
             else (Assessment.target_date, Participant.study_code, VISIT))
    stmt = (_study_assessments(user, study, Assessment.id, Participant.id, Participant.study_code, Site.code,
                               Site.timezone, Timepoint.code, Timepoint.label, VISIT,
                               Assessment.target_date, Assessment.window_start, Assessment.window_end,
                               Assessment.status, Assessment.early)
            .outerjoin(Timepoint, Assessment.timepoint_id == Timepoint.id)
            .where(_in_bucket(name, todays)).order_by(*order).limit(limit))
    rows = [dict(zip(ROW_COLUMNS, row, strict=True)) for row in db.session.execute(stmt)]
    repeats = {t.code: t.position for t in study.timepoints if t.repeats}
    for row in rows:
        row["timepoint_label"] = _visit_label(row, repeats)
        row["today"] = todays[row["timezone"]]
        row["status"] = displayed_status(row["stored_status"], row["window_start"], row["window_end"], row["today"],
                                         bool(row["early"]))
    return rows


def _visit_label(row: dict, repeats: dict[str, int]) -> str:
    """A row's visit as staff pages name it (Assessment.visit_label): the timepoint's label, with the
    occurrence of a repeating one ("Every 4 weeks 3"), or "Unscheduled 2.01"."""
    if row["timepoint"] is None:
        return _("Unscheduled %(visit)s", visit=visit_code(float(row["visit"])))
    if row["timepoint"] in repeats:
        return f"{row['timepoint_label']} {int(round(row['visit'])) - 100 * repeats[row['timepoint']]}"
    return row["timepoint_label"]


@dataclass(frozen=True)
class Dashboard:
    study: Study
    counts: dict[str, int]  # bucket name → how many assessments are in it
    shown: dict[str, list[dict]]  # bucket name → its first rows (ROW_COLUMNS + today, status)
    open_alerts: int

    def count(self, name: str) -> int:
        return self.counts[name]

    def rows(self, name: str, limit: int | None = None) -> list[dict]:
        """The bucket's first rows (at most the number the dashboard read)."""
        return self.shown[name][:limit]


def dashboard(user: User, study: Study, now: datetime, rows: int = BUCKET_ROWS,
              listed: tuple[str, ...] = BUCKETS) -> Dashboard:
    """The bucket counts of the study's assessments the user may see, and the first `rows` rows of each
    bucket in `listed` (by target date; missed: most recently closed first, those are the ones still worth
    a call)."""
    todays = {zone: local_today(zone, now) for zone in {s.timezone for s in study.sites}}
    counts = dict.fromkeys(BUCKETS, 0)
    shown: dict[str, list[dict]] = {name: [] for name in BUCKETS}
    if todays:
        counts = _counts(user, study, todays)
        if rows:
            shown |= {name: _bucket_rows(user, study, name, todays, rows) for name in listed if counts[name]}
    return Dashboard(study, counts, shown, open_alert_count(user, study))


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
                       status: str = "", arm: str = "") -> Select:
    """The assessments the user may see, filtered (participant code containing `search`, site code,
    timepoint code, arm, the status a coordinator sees today at each site), by study, participant and visit:
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
    if arm:
        query = query.where(Participant.arm == arm)
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
    "fhir": _l("FHIR R4 (questionnaires, responses and score observations)"),
    "codebook": _l("Codebook"),
}
DOWNLOAD_FORMATS = {"csv": "CSV", "xlsx": "XLSX", "sav": "SPSS", "dta": "Stata", "xpt": "SAS (XPT)"}
#: The formats of a data set of resources (fhir) on the downloads list.
RESOURCE_DOWNLOAD_FORMATS = {"ndjson": "NDJSON", "json": _l("JSON (Bundle)")}


def download_formats(dataset: str) -> dict:
    """The formats a data set is offered in on the downloads list ({format: label})."""
    return RESOURCE_DOWNLOAD_FORMATS if dataset in RESOURCE_DATASETS else DOWNLOAD_FORMATS
