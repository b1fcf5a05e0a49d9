"""The compliance table per timepoint and site that a CONSORT-PRO report can quote.

It is computed from the `compliance` data set the analysts export (exports/datasets.py), so the two always
agree; rows are limited to the sites the user may see (access.py).
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd

from .. import access
from ..assessments.schedule import local_today
from ..exports import datasets
from ..models import NOT_DONE_REASONS, Study, User

COUNT_COLUMNS = ["expected", "completed", "partly_completed", "missed", "not_done", "pending"]
#: Assessments not expected because the participant had died or withdrawn: their own counts, never missed.
LEFT_STUDY = ["died", "withdrawn"]
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
        [status == "completed",
         (status == "partial") | ((status == "in_progress") & (rows["items_answered"] > 0)), status == "not_done",
         (status == "missed") | ((status == "in_progress") & closed)],
        ["completed", "partly_completed", "not_done", "missed"], default="pending")
    return pd.Series(outcome, index=rows.index).where(rows["expected"] == 1, None)


def _tally(group: pd.DataFrame) -> dict:
    expected = group[group["outcome"].notna()]
    counts = {"expected": len(expected)}
    for reason in LEFT_STUDY:
        counts[reason] = int((group["not_expected_reason"] == reason).sum())
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
    completed, partly_completed, missed, not_done (and per reason), pending, percentages of expected, and
    the assessments not expected because the participant had died or withdrawn (CONSORT-PRO)."""
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
               + [f"not_done_{r}" for r in NOT_DONE_REASONS] + LEFT_STUDY + [f"pct_{n}" for n in PERCENT_OF])
    frame = pd.DataFrame(table, columns=columns)
    frame["site"] = frame["site"].astype(object).where(frame["site"].notna(), None)  # None: all sites
    return frame
