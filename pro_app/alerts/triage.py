"""The triage page's data: alerts grouped per visit (one card per assessment), filtered and ordered by
urgency then age, paged by visit; each alert with its current and baseline values; the time to acknowledge
per alert and per study (the `alerts` data set reads the same figures). Every query is scoped through
access.py."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select

from .. import access
from ..extensions import db, library
from ..models import (
    Alert,
    AlertNotification,
    Assessment,
    ItemResponse,
    Participant,
    Score,
    Site,
    Study,
    Timepoint,
    User,
)
from ..search import code_contains
from ..vocabulary import AlertStatus, AssessmentStatus, NotificationStatus
from ..web.paging import Page
from .notify import MAX_ATTEMPTS

#: Visits (cards) per page.
VISITS_PER_PAGE = 20
#: An open alert older than this is counted as overdue ("open beyond 24 h").
OVERDUE = timedelta(hours=24)
#: The age filter: name -> (youngest, oldest) age of the visit's oldest alert in the filter.
AGES: dict[str, tuple[timedelta | None, timedelta | None]] = {
    "day": (None, timedelta(hours=24)),
    "week": (timedelta(hours=24), timedelta(days=7)),
    "older": (timedelta(days=7), None),
}
STATUSES = tuple(AlertStatus)


@dataclass(frozen=True)
class Filters:
    study: str = ""
    site: str = ""
    urgency: int | None = None
    status: str = AlertStatus.OPEN
    age: str = ""
    search: str = ""  # part of a participant code
    timepoint: str = ""
    arm: str = ""

    @classmethod
    def parse(cls, args, study: str = "") -> Filters:
        """The filters of a request's query string; anything unknown is ignored (never a 500)."""
        raw_urgency = (args.get("urgency") or "").strip()
        urgency = int(raw_urgency) if raw_urgency in {"1", "2", "3"} else None
        status = args.get("status") or AlertStatus.OPEN
        age = args.get("age") or ""
        return cls(study=study or (args.get("study") or "").strip()[:64], site=(args.get("site") or "").strip()[:32],
                   urgency=urgency, status=status if status in STATUSES else AlertStatus.OPEN,
                   age=age if age in AGES else "", search=(args.get("q") or "").strip()[:64],
                   timepoint=(args.get("timepoint") or "").strip()[:32], arm=(args.get("arm") or "").strip()[:64])


@dataclass
class TriageAlert:
    id: int
    kind: str
    urgency: int
    status: str
    source: str
    source_text: str
    is_item: bool
    value: float | None
    answer: str | None  # an item: the label of the answer given
    baseline: float | None  # the participant's baseline value of the same scale or item
    baseline_answer: str | None
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    note: str | None
    action: str | None
    notifications: list[tuple[str, str, str | None]] = field(default_factory=list)  # (email, status, error)

    @property
    def hours_to_acknowledge(self) -> float | None:
        if self.acknowledged_at is None:
            return None
        return (self.acknowledged_at - self.created_at).total_seconds() / 3600


@dataclass
class VisitCard:
    assessment_id: int
    study_code: str
    participant_id: int
    participant: str
    site: str
    timepoint: str
    is_baseline: bool
    urgency: int
    raised_at: datetime
    alerts: list[TriageAlert]


def _scoped(user: User) -> Select:
    return (select(Alert).join(Assessment, Alert.assessment_id == Assessment.id)
            .join(Participant, Assessment.participant_id == Participant.id)
            .where(Assessment.participant_id.in_(access.visible_participants(user)
                                                 .with_only_columns(Participant.id))))


def _filtered(user: User, filters: Filters, now: datetime, *, with_status: bool = True) -> Select:
    stmt = _scoped(user).join(Study, Alert.study_id == Study.id)
    if filters.study:
        stmt = stmt.where(Study.code == filters.study)
    if filters.site:
        stmt = stmt.join(Site, Participant.site_id == Site.id).where(Site.code == filters.site)
    if filters.urgency:
        stmt = stmt.where(Alert.urgency == filters.urgency)
    if filters.search:
        stmt = stmt.where(code_contains(filters.search))
    if filters.timepoint:
        stmt = stmt.join(Timepoint, Assessment.timepoint_id == Timepoint.id).where(Timepoint.code == filters.timepoint)
    if filters.arm:
        stmt = stmt.where(Participant.arm == filters.arm)
    if with_status:
        stmt = stmt.where(Alert.status == filters.status)
    return stmt


def visit_page(user: User, filters: Filters, number: int, now: datetime, lang: str,
               per_page: int | None = None) -> Page:
    """A page of visit cards: visits ordered by their most urgent alert, then the oldest (the age filter
    looks at the visit's oldest alert in the filter)."""
    per_page = per_page or VISITS_PER_PAGE
    alerts = _filtered(user, filters, now).subquery()
    grouped = (select(alerts.c.assessment_id)
               .group_by(alerts.c.assessment_id)
               .order_by(func.min(alerts.c.urgency), func.min(alerts.c.created_at), alerts.c.assessment_id))
    youngest, oldest = AGES.get(filters.age, (None, None))
    if youngest is not None:
        grouped = grouped.having(func.min(alerts.c.created_at) <= now - youngest)
    if oldest is not None:
        grouped = grouped.having(func.min(alerts.c.created_at) > now - oldest)
    total = db.session.scalar(select(func.count()).select_from(grouped.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    number = min(max(1, number), pages)
    ids = list(db.session.scalars(grouped.limit(per_page).offset((number - 1) * per_page)))
    return Page(cards(user, ids, filters, lang), number, per_page, total)


def cards(user: User, assessment_ids: list[int], filters: Filters, lang: str) -> list[VisitCard]:
    """The visits' cards in the given order, each with its alerts in the filter (most urgent, oldest first)."""
    if not assessment_ids:
        return []
    alerts = db.session.scalars(
        _filtered(user, filters, datetime.min).where(Alert.assessment_id.in_(assessment_ids))
        .order_by(Alert.urgency, Alert.created_at, Alert.id)).all()
    visits = {a.id: a for a in db.session.scalars(select(Assessment).where(Assessment.id.in_(assessment_ids)))}
    sources = {a.source for a in alerts}
    answers = {(r.assessment_id, r.item_id): r for r in db.session.scalars(
        select(ItemResponse).where(ItemResponse.assessment_id.in_(assessment_ids), ItemResponse.item_id.in_(sources)))}
    baselines = _baselines([visits[i] for i in assessment_ids], sources)
    names = _user_emails({a.acknowledged_by_id for a in alerts if a.acknowledged_by_id})
    notifications = _notifications([a.id for a in alerts])
    by_visit: dict[int, list[TriageAlert]] = {}
    for alert in alerts:
        visit = visits[alert.assessment_id]
        text, item = _describe(alert.source, lang)
        response = answers.get((alert.assessment_id, alert.source))
        value = alert.value
        base_value = alert.baseline_value
        base_answer = None
        if base_value is None:
            base_value = baselines.get((visit.participant_id, alert.source))
        if item is not None:
            base_answer = _label(item, base_value, lang)
        by_visit.setdefault(alert.assessment_id, []).append(TriageAlert(
            id=alert.id, kind=alert.kind, urgency=alert.urgency, status=alert.status, source=alert.source,
            source_text=text, is_item=item is not None, value=value,
            answer=_label(item, response.value if response and response.value is not None else value, lang)
            if item is not None else None,
            baseline=base_value, baseline_answer=base_answer, created_at=alert.created_at,
            acknowledged_at=alert.acknowledged_at, acknowledged_by=names.get(alert.acknowledged_by_id),
            note=alert.note, action=alert.action, notifications=notifications.get(alert.id, [])))
    result = []
    for assessment_id in assessment_ids:
        rows = by_visit.get(assessment_id)
        if not rows:
            continue
        visit = visits[assessment_id]
        participant = visit.participant
        result.append(VisitCard(
            assessment_id=assessment_id, study_code=participant.study.code, participant_id=participant.id,
            participant=participant.study_code, site=participant.site.code, timepoint=visit.visit_label(),
            is_baseline=visit.timepoint is not None and visit.occurrence == 1
            and visit.timepoint.position == participant.study.baseline_position,
            urgency=min(r.urgency for r in rows), raised_at=min(r.created_at for r in rows), alerts=rows))
    return result


def _describe(source: str, lang: str):
    """The scale's name or the item's question, and the item (None for a scale)."""
    for instrument in library.registry:
        if instrument.has_item(source):
            item = instrument.item(source)
            return item.text.get(lang), item
        if source in instrument.scale_codes:
            return instrument.scale(source).name.get(lang), None
    return source, None


def _label(item, value: float | None, lang: str) -> str | None:
    if value is None:
        return None
    option = item.option_set.option_for(int(value))
    return option.label.get(lang) if option else None


def _baselines(visits: list[Assessment], sources: set[str]) -> dict[tuple[int, str], float]:
    """{(participant id, scale code or item id): value at the participant's completed baseline assessment}."""
    participants = {v.participant_id for v in visits}
    if not participants:
        return {}
    base = (select(Assessment.id, Assessment.participant_id).join(Assessment.timepoint)
            .join(Participant, Assessment.participant_id == Participant.id)
            .where(Assessment.participant_id.in_(participants), Assessment.status == AssessmentStatus.COMPLETED,
                   Timepoint.position == select(func.min(Timepoint.position))
                   .where(Timepoint.study_id == Participant.study_id).correlate(Participant).scalar_subquery()))
    owner = dict(db.session.execute(base).all())
    if not owner:
        return {}
    found: dict[tuple[int, str], float] = {}
    for assessment_id, code, value in db.session.execute(
            select(Score.assessment_id, Score.scale_code, Score.value)
            .where(Score.assessment_id.in_(owner), Score.scale_code.in_(sources))):
        if value is not None:
            found.setdefault((owner[assessment_id], code), value)
    for assessment_id, item_id, value in db.session.execute(
            select(ItemResponse.assessment_id, ItemResponse.item_id, ItemResponse.value)
            .where(ItemResponse.assessment_id.in_(owner), ItemResponse.item_id.in_(sources))):
        if value is not None:
            found.setdefault((owner[assessment_id], item_id), float(value))
    return found


def _user_emails(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.email).where(User.id.in_(ids))).all())


def _notifications(alert_ids: list[int]) -> dict[int, list[tuple[str, str, str | None]]]:
    """Each alert's emails: (address, status, the relay's last error); a failed one with no attempt left is
    shown as `gave_up`."""
    if not alert_ids:
        return {}
    found: dict[int, list[tuple[str, str, str | None]]] = {}
    for alert_id, email, status, attempts, error in db.session.execute(
            select(AlertNotification.alert_id, User.email, AlertNotification.status, AlertNotification.attempts,
                   AlertNotification.last_error)
            .join(User, AlertNotification.user_id == User.id)
            .where(AlertNotification.alert_id.in_(alert_ids)).order_by(AlertNotification.id)):
        if status == NotificationStatus.FAILED and attempts >= MAX_ATTEMPTS:
            status = "gave_up"
        found.setdefault(alert_id, []).append((email, status, error))
    return found


# --- time to acknowledge ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AckTimes:
    """Time to acknowledge (hours) of a study's alerts in the filter."""

    study_code: str
    acknowledged: int
    median_hours: float | None
    p90_hours: float | None
    open_count: int
    open_overdue: int  # open for more than 24 h


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default, and
    R's type 7), so the page, the data set and an analyst's own figure agree."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600


def ack_times(user: User, filters: Filters, now: datetime) -> list[AckTimes]:
    """Per visible study (within the study, site and urgency filters): median and 90th percentile hours
    from raised to acknowledged, and open alerts, of which open beyond 24 h."""
    rows = db.session.execute(
        _filtered(user, filters, now, with_status=False)
        .with_only_columns(Study.code, Alert.status, Alert.created_at, Alert.acknowledged_at)).all()
    per_study: dict[str, tuple[list[float], list[datetime]]] = {}
    for code, status, created, acknowledged in rows:
        times, open_since = per_study.setdefault(code, ([], []))
        if acknowledged is not None:
            times.append(hours_between(created, acknowledged))
        if status == AlertStatus.OPEN:
            open_since.append(created)
    return [AckTimes(code, len(times), percentile(times, 50), percentile(times, 90), len(open_since),
                     sum(1 for c in open_since if now - c > OVERDUE))
            for code, (times, open_since) in sorted(per_study.items())]


def open_count(user: User) -> int:
    """Open alerts of every participant the user may see (the menu's count)."""
    return db.session.scalar(
        select(func.count()).select_from(Alert).join(Assessment, Alert.assessment_id == Assessment.id)
        .where(Alert.status == AlertStatus.OPEN,
               Assessment.participant_id.in_(access.visible_participants(user).with_only_columns(Participant.id)))
    ) or 0
