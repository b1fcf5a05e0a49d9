"""The `alerts` data set: one row per alert, with its rule, values, when it was raised, notified and
acknowledged, by whom, the action taken, and whether a correction resolved it. Its hours to acknowledge are
the triage page's figures (alerts/triage.py computes both the same way)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from sqlalchemy import func, select

from ..alerts.triage import hours_between
from ..assessments.schedule import VISIT
from ..extensions import db
from ..models import Alert, AlertNotification, Assessment, Participant, Site, Study, Timepoint, User
from ..vocabulary import URGENCY_NAMES, AlertKind, AlertStatus, NotificationStatus
from .chunks import Filters, filtered, with_visit_names
from .columns import FLAG, IDENTIFIERS, Column, coded

_URGENCY = {int(level): name for name, level in URGENCY_NAMES.items()}

ALERTS = [
    *(c for c in IDENTIFIERS if c.name in ("study", "site", "participant", "timepoint", "visit", "visit_name",
                                            "assessment_id")),
    Column("alert_id", "Alert id (unique within this installation)", "integer"),
    Column("rule", "Kind of the rule that raised the alert", "string", coded(AlertKind)),
    Column("source", "Scale code or item id the rule looked at", "string"),
    Column("urgency", "Urgency the rule gave the alert when it was raised", "string",
           "urgent = urgent; review = review; note = note"),
    Column("value", "The score or answer value that raised the alert", "number"),
    Column("baseline_value", "The participant's baseline value a worsening rule compared it with", "number",
           missing="blank: not a worsening rule"),
    Column("status", "Alert status", "string",
           "open = open; acknowledged = acknowledged by staff; resolved = resolved by a correction of an answer"),
    Column("raised_at", "When the alert was raised (UTC, ISO 8601)", "datetime"),
    Column("notified_at", "When the first email about it was sent (UTC, ISO 8601)", "datetime",
           missing="blank: nobody notified, or not sent yet"),
    Column("notification_status", "Emails about the alert", "string",
           "sent = every email sent; failed = an email failed (retried); pending = not sent yet",
           missing="blank: nobody notified"),
    Column("acknowledged_at", "When staff acknowledged it (UTC, ISO 8601)", "datetime",
           missing="blank: not acknowledged"),
    Column("acknowledged_by", "Who acknowledged it (staff email)", "string", missing="blank: not acknowledged"),
    Column("action", "Action taken (from the study's list)", "string", missing="blank: none recorded"),
    Column("hours_to_acknowledge", "Hours from raised to acknowledged, unrounded", "number",
           missing="blank: not acknowledged"),
    Column("resolved_by_correction", "1 when a correction of an answer resolved the alert", "integer", FLAG),
]


def alerts(study: Study, filters: Filters) -> Iterator[pd.DataFrame]:
    """Every alert of the study's assessments the filters keep (sites, timepoints, target dates)."""
    stmt = (select(Site.code, Participant.study_code, Timepoint.code, VISIT, Assessment.id, Alert.id,
                   Alert.kind, Alert.source, Alert.urgency, Alert.value, Alert.baseline_value, Alert.status,
                   Alert.created_at, Alert.acknowledged_at, User.email, Alert.action, Timepoint.label,
                   Timepoint.repeat_every.is_not(None), Assessment.occurrence)
            .join(Assessment, Alert.assessment_id == Assessment.id)
            .join(Participant, Assessment.participant_id == Participant.id)
            .join(Site, Participant.site_id == Site.id).outerjoin(Timepoint, Assessment.timepoint_id == Timepoint.id)
            .outerjoin(User, Alert.acknowledged_by_id == User.id)
            .where(Participant.study_id == study.id).order_by(Participant.study_code, VISIT, Alert.id))
    rows = db.session.execute(filtered(stmt, filters)).all()
    notified = _notifications([r[5] for r in rows])
    records = []
    for (site, participant, timepoint, visit, assessment_id, alert_id, kind, source, urgency, value, baseline,
         status, raised, acknowledged, by, action, label, repeats, occurrence) in rows:
        sent_at, state = notified.get(alert_id, (None, None))
        records.append({
            "study": study.code, "site": site, "participant": participant, "timepoint": timepoint, "visit": visit,
            "timepoint_label": label, "repeats": repeats, "occurrence": occurrence,
            "assessment_id": assessment_id, "alert_id": alert_id, "rule": kind, "source": source,
            "urgency": _URGENCY.get(urgency, str(urgency)), "value": value, "baseline_value": baseline,
            "status": status, "raised_at": raised, "notified_at": sent_at, "notification_status": state,
            "acknowledged_at": acknowledged, "acknowledged_by": by, "action": action,
            "hours_to_acknowledge": hours_between(raised, acknowledged) if acknowledged else None,
            "resolved_by_correction": int(status == AlertStatus.RESOLVED)})
    frame = pd.DataFrame(records, columns=[c.name for c in ALERTS] + ["timepoint_label", "repeats", "occurrence"])
    with_visit_names(frame)
    frame = frame[[c.name for c in ALERTS]]
    for column in ("study", "site", "participant", "timepoint", "visit_name", "rule", "source", "urgency", "status",
                   "notification_status", "acknowledged_by", "action"):
        frame[column] = frame[column].astype("string")
    for column in ("assessment_id", "alert_id", "resolved_by_correction"):
        frame[column] = frame[column].astype("Int64")
    for column in ("visit", "value", "baseline_value", "hours_to_acknowledge"):
        frame[column] = frame[column].astype("float64")
    for column in ("raised_at", "notified_at", "acknowledged_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).astype("datetime64[us, UTC]")
    yield frame


def _notifications(alert_ids: list[int]) -> dict[int, tuple]:
    """{alert id: (first sent time, overall status)}: failed if any failed, else pending if any is, else sent."""
    found: dict[int, tuple] = {}
    if not alert_ids:
        return found
    for start in range(0, len(alert_ids), 5000):
        for alert_id, first_sent, failed, pending in db.session.execute(
                select(AlertNotification.alert_id, func.min(AlertNotification.sent_at),
                       func.sum((AlertNotification.status == NotificationStatus.FAILED).cast(db.Integer)),
                       func.sum((AlertNotification.status == NotificationStatus.PENDING).cast(db.Integer)))
                .where(AlertNotification.alert_id.in_(alert_ids[start:start + 5000]))
                .group_by(AlertNotification.alert_id)):
            state = NotificationStatus.FAILED if failed else NotificationStatus.PENDING if pending \
                else NotificationStatus.SENT
            found[alert_id] = (first_sent, str(state))
    return found
