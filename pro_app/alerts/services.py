"""Alerts for a clinician's attention: listing them (open ones by urgency, then oldest first) with what
triggered them, and acknowledging them with a note. Every query is scoped through access.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from .. import access, audit
from ..clock import utcnow
from ..extensions import db, library
from ..models import Alert, Assessment, ItemResponse, Participant, Study, User
from ..vocabulary import Actor, AlertStatus, AssessmentStatus

NOTE_MAX = 1000
ACTION_MAX = 120

#: A study's actions when it names none of its own (keys; their labels are ACTION_LABELS).
DEFAULT_ACTIONS = ("called_patient", "seen_in_clinic", "referred", "no_action", "other")
ACTION_LABELS = {
    "called_patient": _l("Called the patient"),
    "seen_in_clinic": _l("Seen in clinic"),
    "referred": _l("Referred"),
    "no_action": _l("No action needed"),
    "other": _l("Other"),
}


def study_actions(study: Study) -> list[str]:
    """The actions a nurse picks from for the study's alerts: its own list, or the default one."""
    return list(study.alert_actions) if study.alert_actions else list(DEFAULT_ACTIONS)


def action_label(action: str | None) -> str:
    """An action as staff read it: the default actions translated, a study's own as written."""
    if not action:
        return ""
    return str(ACTION_LABELS.get(action, action))


@dataclass(frozen=True)
class AlertRow:
    id: int
    study_code: str
    assessment_id: int
    kind: str
    urgency: int
    status: str
    created_at: datetime
    participant: str
    site: str
    timepoint: str
    source: str  # the scale code or item id
    source_text: str  # the scale name, or the question, in the interface language
    value: float | None
    answer: str | None  # for an item: the label of the answer given, in the interface language
    is_item: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None


def _scoped(user: User):
    return (select(Alert).join(Assessment, Alert.assessment_id == Assessment.id)
            .where(Assessment.participant_id.in_(access.visible_participants(user).with_only_columns(Participant.id))))


def _describe(alert: Alert, lang: str, answers: dict[tuple[int, str], ItemResponse]) -> tuple[str, str | None, bool]:
    """The triggering scale's name or item's question, and for an item the answer's label."""
    for instrument in library.registry:
        if instrument.has_item(alert.source):
            item = instrument.item(alert.source)
            response = answers.get((alert.assessment_id, alert.source))
            value = response.value if response is not None and response.value is not None else alert.value
            option = item.option_set.option_for(int(value)) if value is not None else None
            return item.text.get(lang), option.label.get(lang) if option else None, True
        if alert.source in instrument.scale_codes:
            return instrument.scale(alert.source).name.get(lang), None, False
    return alert.source, None, False


def list_alerts(user: User, study: Study, status: str, lang: str = "en", limit: int | None = None) -> list[AlertRow]:
    """Open alerts by urgency then age (oldest first); acknowledged ones most recently acknowledged first."""
    stmt = _scoped(user).where(Alert.study_id == study.id, Alert.status == status)
    if status == AssessmentStatus.OPEN:
        stmt = stmt.order_by(Alert.urgency, Alert.created_at, Alert.id)
    else:
        stmt = stmt.order_by(Alert.acknowledged_at.desc(), Alert.id.desc())
    if limit:
        stmt = stmt.limit(limit)
    alerts = db.session.scalars(stmt).all()
    ids = {a.assessment_id for a in alerts}
    answers = {}
    if ids:
        sources = {a.source for a in alerts}
        for r in db.session.scalars(select(ItemResponse).where(ItemResponse.assessment_id.in_(ids),
                                                              ItemResponse.item_id.in_(sources))):
            answers[(r.assessment_id, r.item_id)] = r
    users = {}
    acknowledgers = {a.acknowledged_by_id for a in alerts if a.acknowledged_by_id}
    if acknowledgers:
        users = dict(db.session.execute(select(User.id, User.email).where(User.id.in_(acknowledgers))).all())
    rows = []
    for alert in alerts:
        text, answer, is_item = _describe(alert, lang, answers)
        participant = alert.assessment.participant
        rows.append(AlertRow(
            id=alert.id, study_code=study.code, assessment_id=alert.assessment_id, kind=alert.kind,
            urgency=alert.urgency, status=alert.status, created_at=alert.created_at,
            participant=participant.study_code, site=participant.site.code,
            timepoint=alert.assessment.visit_label(), source=alert.source, source_text=text, value=alert.value,
            answer=answer, is_item=is_item, acknowledged_at=alert.acknowledged_at,
            acknowledged_by=users.get(alert.acknowledged_by_id), note=alert.note))
    return rows


def open_alert_count(user: User, study: Study) -> int:
    """Open alerts of the study's participants the user may see."""
    return db.session.scalar(
        select(func.count()).select_from(Alert).join(Assessment, Alert.assessment_id == Assessment.id)
        .where(Alert.study_id == study.id, Alert.status == AlertStatus.OPEN,
               Assessment.participant_id.in_(access.visible_participants(user).where(Participant.study_id == study.id)
                                             .with_only_columns(Participant.id)))
    ) or 0


def get_alert(user: User, alert_id: int) -> Alert | None:
    """The alert if the user may see its participant; None otherwise (the caller answers 404)."""
    return db.session.scalar(_scoped(user).where(Alert.id == alert_id))


def acknowledge(user: User, alert: Alert, note: str | None, action: str | None = None) -> bool:
    """Mark the alert acknowledged with an optional note and the action taken, and audit it (old and new
    status). False, and nothing changed, if it was not open any more (a second click is harmless)."""
    if alert.status != AlertStatus.OPEN:
        return False
    note = (note or "").strip()[:NOTE_MAX] or None
    action = (action or "").strip()[:ACTION_MAX] or None
    old = {"status": alert.status}
    # One conditional UPDATE: of two clicks arriving together, only one acknowledges (and is audited).
    changed = db.session.execute(
        update(Alert).where(Alert.id == alert.id, Alert.status == AssessmentStatus.OPEN)
        .values(status="acknowledged", acknowledged_by_id=user.id, acknowledged_at=utcnow(), note=note,
                action=action)
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not changed:
        return False
    audit.record("alert.acknowledge", "alert", alert.id, actor=Actor.USER, user_id=user.id, study_id=alert.study_id,
                 old=old, new={"status": "acknowledged", "note": note}
                 | ({"action": action} if action else {}))
    return True


def group_by_visit(rows: list[AlertRow]) -> list[list[AlertRow]]:
    """Rows grouped per assessment (one card per visit), each group in the rows' order, the groups in the
    order of their first row (so the visit with the most urgent, oldest alert comes first)."""
    groups: dict[int, list[AlertRow]] = {}
    for row in rows:
        groups.setdefault(row.assessment_id, []).append(row)
    return list(groups.values())


def open_alerts_of_visit(user: User, assessment_id: int) -> list[Alert]:
    """The visit's open alerts if the user may see its participant (empty otherwise: the caller answers 404)."""
    return list(db.session.scalars(_scoped(user).where(Alert.assessment_id == assessment_id,
                                                      Alert.status == AlertStatus.OPEN).order_by(Alert.id)))


def acknowledge_visit(user: User, alerts: list[Alert], note: str | None, action: str | None = None) -> int:
    """Acknowledge every one of the visit's open alerts with one note and action (each audited); how many
    changed."""
    return sum(acknowledge(user, alert, note, action) for alert in alerts)


def open_alerts_of_visits(user: User, assessment_ids: list[int]) -> list[Alert]:
    """The open alerts of the visits the user may see (others are left out: nothing to acknowledge there)."""
    if not assessment_ids:
        return []
    return list(db.session.scalars(_scoped(user).where(Alert.assessment_id.in_(assessment_ids),
                                                      Alert.status == AlertStatus.OPEN).order_by(Alert.id)))
