"""The compliance table per timepoint and site that a CONSORT-PRO report can quote.

It applies the rules of the `compliance` data set the analysts export (exports/datasets.py: which
assessments are expected, and the status shown) to the study's assessments grouped by what those rules read,
so the two always agree and a study of 10,000 participants is counted in one query; rows are limited to the
sites the user may see (access.py).
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import case, exists, func, select

from .. import access
from ..assessments.schedule import local_today
from ..assessments.status import displayed_statuses
from ..exports import datasets
from ..extensions import db
from ..models import NOT_DONE_REASONS, Assessment, ItemResponse, Participant, Site, Study, Timepoint, User
from ..vocabulary import AssessmentStatus, ItemState

COUNT_COLUMNS = ["expected", "completed", "partly_completed", "missed", "not_done", "pending"]
#: Assessments not expected because the participant had died or withdrawn: their own counts, never missed.
LEFT_STUDY = ["died", "withdrawn"]
PERCENT_OF = ["completed", "partly_completed", "missed", "not_done"]


#: What the rules read of an assessment and its participant; the table counts the assessments of each group.
GROUP_COLUMNS = ["site", "timepoint", "stored_status", "early", "window_start", "window_end", "not_done_reason",
                 "participant_status", "follow_up_continues", "withdrawn_on", "death_date", "items_answered"]


def compliance_groups(user: User, study: Study) -> pd.DataFrame:
    """The study's assessments at the sites the user may see, grouped by GROUP_COLUMNS, with `n`, the count of
    each group. `items_answered` is 1 when an assessment in progress has an answer (all the table needs)."""
    answered = exists().where(ItemResponse.assessment_id == Assessment.id, ItemResponse.state == ItemState.ANSWERED)
    has_answers = case((Assessment.status == AssessmentStatus.IN_PROGRESS, case((answered, 1), else_=0)), else_=0)
    columns = (Site.code, Timepoint.code, Assessment.status, Assessment.early, Assessment.window_start,
               Assessment.window_end, Assessment.not_done_reason, Participant.status, Participant.follow_up_continues,
               Participant.withdrawn_on, Participant.death_date, has_answers)
    stmt = (select(*columns, func.count()).select_from(Assessment)
            .join(Participant, Assessment.participant_id == Participant.id)
            .join(Site, Participant.site_id == Site.id).join(Timepoint, Assessment.timepoint_id == Timepoint.id)
            .where(Participant.study_id == study.id).group_by(*columns))
    limited = access.granted_site_codes(user, study)
    if limited:
        stmt = stmt.where(Site.code.in_(limited))
    return pd.DataFrame(db.session.execute(stmt).all(), columns=GROUP_COLUMNS + ["n"])


def _with_rules(groups: pd.DataFrame, today: dict[str, date]) -> pd.DataFrame:
    """The data set's columns the classification reads: the status shown, and why not expected."""
    frame = groups.assign(today=groups["site"].map(today))
    frame["early"] = frame["early"].fillna(False).astype(bool)
    frame["unscheduled"] = False  # the groups join a timepoint: unscheduled assessments are never in the table
    frame["assessment_status"] = displayed_statuses(frame["stored_status"], frame["window_start"],
                                                             frame["window_end"], frame["today"], frame["early"])
    frame["not_expected_reason"] = datasets.not_expected_reasons(frame)
    frame["expected"] = frame["not_expected_reason"].isna().astype("int64")
    return frame


def classify(rows: pd.DataFrame, today: dict[str, date]) -> pd.Series:
    """Each expected assessment's outcome: completed; partly_completed (started, at least one answer, not
    submitted); not_done (with a reason); missed (window closed, nothing given); pending (window still
    open, nothing given yet). Not expected assessments get None. `today`: site code → site-local date."""
    status = rows["assessment_status"]
    site_today = rows["site"].map(today)
    closed = pd.Series([t > end for t, end in zip(site_today, rows["window_end"], strict=True)], index=rows.index,
                       dtype=bool)
    outcome = np.select(
        [status == "completed",
         (status == "partial") | ((status == "in_progress") & (rows["items_answered"] > 0)), status == "not_done",
         (status == "missed") | ((status == "in_progress") & closed)],
        ["completed", "partly_completed", "not_done", "missed"], default="pending")
    return pd.Series(outcome, index=rows.index).where(rows["expected"] == 1, None)


def _weighted(rows: pd.DataFrame) -> pd.DataFrame:
    """Per group of assessments, how many count towards each figure of the table (each group is `n`)."""
    n = rows["n"].to_numpy(dtype="int64") if not rows.empty else np.zeros(0, dtype="int64")
    outcome = rows["outcome"]
    figures = {"expected": outcome.notna().to_numpy()}
    for name in COUNT_COLUMNS[1:]:
        figures[name] = (outcome == name).to_numpy()
    reasons = rows["not_done_reason"].fillna("other")
    for reason in NOT_DONE_REASONS:
        figures[f"not_done_{reason}"] = figures["not_done"] & (reasons == reason).to_numpy()
    figures["not_done_other"] = figures["not_done_other"] | (figures["not_done"] & ~reasons.isin(NOT_DONE_REASONS)
                                                             .to_numpy())
    for reason in LEFT_STUDY:
        figures[reason] = (rows["not_expected_reason"] == reason).to_numpy()
    weighted = pd.DataFrame({name: mask.astype("int64") * n for name, mask in figures.items()}, index=rows.index)
    return weighted.assign(timepoint=rows["timepoint"], site=rows["site"])


def _tally(sums: pd.Series) -> dict:
    counts = {name: int(value) for name, value in sums.items()}
    for name in PERCENT_OF:
        counts[f"pct_{name}"] = 100.0 * counts[name] / counts["expected"] if counts["expected"] else float("nan")
    return counts


def compliance_table(user: User, study: Study, now: datetime) -> pd.DataFrame:
    """Per timepoint × site, then per timepoint over all the sites the user sees (site = None): expected,
    completed, partly_completed, missed, not_done (and per reason), pending, percentages of expected, and
    the assessments not expected because the participant had died or withdrawn (CONSORT-PRO)."""
    today = {s.code: local_today(s.timezone, now) for s in study.sites}
    groups = compliance_groups(user, study)
    rows = _with_rules(groups, today) if not groups.empty else groups.assign(not_expected_reason=None)
    rows = rows.assign(outcome=classify(rows, today) if not rows.empty else pd.Series(dtype=object))
    labels = {t.code: t.label for t in study.timepoints}
    weighted = _weighted(rows)
    figures = [c for c in weighted.columns if c not in ("timepoint", "site")]
    per_site = weighted.groupby(["timepoint", "site"])[figures].sum()
    overall = weighted.groupby("timepoint")[figures].sum()
    table = []
    for timepoint in study.timepoints:
        if timepoint.code not in overall.index:
            sites, total = [], pd.Series(0, index=figures)
        else:
            sites, total = sorted(per_site.loc[timepoint.code].index), overall.loc[timepoint.code]
        for site in sites:
            table.append({"timepoint": timepoint.code, "timepoint_label": labels[timepoint.code],
                          "visit": timepoint.position, "site": site, **_tally(per_site.loc[(timepoint.code, site)])})
        table.append({"timepoint": timepoint.code, "timepoint_label": labels[timepoint.code],
                      "visit": timepoint.position, "site": None, **_tally(total)})
    columns = (["timepoint", "timepoint_label", "visit", "site"] + COUNT_COLUMNS
               + [f"not_done_{r}" for r in NOT_DONE_REASONS] + LEFT_STUDY + [f"pct_{n}" for n in PERCENT_OF])
    frame = pd.DataFrame(table, columns=columns)
    frame["site"] = frame["site"].astype(object).where(frame["site"].notna(), None)  # None: all sites
    return frame
