"""Emailing a study's recipients about its alerts, after the transaction that raised them commits.

- `queue` (called where alerts are raised) adds one `alert_notification` row per recipient and alert, in the
  same transaction as the alert: an answer rolled back leaves no email behind, and one committed always
  leaves its rows. Urgent alerts get `urgent` rows; review-level ones `digest` rows when the study asks for
  the digest. Recipients are the study's listed addresses that belong to an active staff account with access
  to the participant's site. With email off (no PRO_APP_SMTP_URL) nothing is queued.
- After a request that queued urgent rows commits, a background thread sends them (`Dispatcher`): the
  patient's tablet never waits for the relay, and a relay that is down or slow changes nothing for it.
- `deliver` (the thread, and `pro-app alerts notify` from cron) sends what is due: pending rows, and failed
  ones whose backoff has passed. Each row is claimed in its own short transaction before the relay is
  contacted and marked sent after, so two processes never send the same alert twice, and a row that was
  sent is never picked again. One email per recipient and visit for urgent alerts; one digest per recipient
  and study, once its oldest alert has waited PRO_APP_ALERT_DIGEST_HOURS.
- Each attempt is recorded on the row: attempts, status (sent / failed), the relay's error, when the next
  attempt is due (5 minutes, doubling, at most 6 hours; MAX_ATTEMPTS in all).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import Flask, current_app, has_request_context
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from .. import access
from ..clock import utcnow
from ..extensions import db
from ..models import Alert, AlertNotification, Assessment, Participant, Site, Study, User
from ..vocabulary import NotificationChannel, NotificationStatus, Urgency
from . import mail, messages

log = logging.getLogger(__name__)

FIRST_RETRY = timedelta(minutes=5)
LONGEST_RETRY = timedelta(hours=6)
MAX_ATTEMPTS = 10
#: How long a process holds the rows it is sending (far longer than the relay's timeout). Only a process
#: killed in the middle of sending leaves a claim behind; its rows are tried again once the claim expires.
CLAIM = timedelta(minutes=10)
EXTENSION = "pro_app_mail"
#: db.session.info key: the request queued urgent emails (the dispatcher is woken once it commits).
_KICK = "pro_app_alert_mail"


def config() -> mail.SmtpConfig | None:
    """The relay of the current app (checked at start-up); None: email is off."""
    return current_app.extensions.get(EXTENSION)


def install(app: Flask) -> None:
    """Read (and check) the SMTP settings once, at start-up: a bad URL stops the app with a clear message."""
    app.extensions[EXTENSION] = mail.smtp_config(app.config["SETTINGS"])
    app.extensions[f"{EXTENSION}_dispatcher"] = Dispatcher(app)

    @app.context_processor
    def _email_state():
        return {"email_on": app.extensions[EXTENSION] is not None}


def dispatcher(app: Flask | None = None) -> Dispatcher:
    return (app or current_app).extensions[f"{EXTENSION}_dispatcher"]


# --- queueing, in the raising transaction --------------------------------------------------------------------

def recipient_entries(study: Study) -> list[dict]:
    """The study's recipients: [{"email": …, "language": … or absent}], as stored."""
    return [e for e in (study.alert_recipients or []) if isinstance(e, dict) and e.get("email")]


def _recipients(study: Study, participant: Participant) -> list[User]:
    emails = {e["email"].lower() for e in recipient_entries(study)}
    if not emails:
        return []
    users = db.session.scalars(select(User).where(User.email.in_(emails), User.active.is_(True)).order_by(User.id))
    return [u for u in users if access.get_participant(u, participant.id) is not None]


def unreachable(study: Study) -> list[str]:
    """The study's recipient addresses that reach nobody: no active staff account with access to the study."""
    listed = [e["email"].lower() for e in recipient_entries(study)]
    users = {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(listed),
                                                                      User.active.is_(True)))}
    return [email for email in listed
            if email not in users or access.get_study(users[email], study.code) is None]


def channel_of(alert: Alert, study: Study) -> str | None:
    if alert.urgency <= Urgency.HIGH:
        return NotificationChannel.URGENT
    if alert.urgency == Urgency.MEDIUM and study.alert_digest:
        return NotificationChannel.DIGEST
    return None


def queue(assessment: Assessment, alerts: list[Alert]) -> list[AlertNotification]:
    """The notification rows for newly raised alerts (added to the session; sent after it commits)."""
    if not alerts or config() is None:
        return []
    participant = assessment.participant
    study = participant.study
    chosen = [(a, channel_of(a, study)) for a in alerts]
    chosen = [(a, c) for a, c in chosen if c is not None]
    if not chosen:
        return []
    users = _recipients(study, participant)
    rows = [AlertNotification(alert=alert, user_id=user.id, channel=channel, status=NotificationStatus.PENDING)
            for alert, channel in chosen for user in users]
    db.session.add_all(rows)
    if has_request_context() and any(r.channel == NotificationChannel.URGENT for r in rows):
        db.session.info[_KICK] = current_app._get_current_object()
    return rows


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    app = session.info.pop(_KICK, None)
    if app is not None:
        dispatcher(app).wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KICK, None)


# --- sending --------------------------------------------------------------------------------------------------

@dataclass
class Delivered:
    sent: int = 0  # emails
    failed: int = 0
    alerts: int = 0  # notification rows marked sent
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """The wait after the attempts-th failed attempt: 5 minutes, doubling, at most 6 hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _due(now: datetime, channel: str):
    return (select(AlertNotification.id, AlertNotification.user_id, Alert.assessment_id, Alert.study_id,
                   AlertNotification.created_at)
            .join(Alert, AlertNotification.alert_id == Alert.id)
            .where(AlertNotification.channel == channel,
                   AlertNotification.status.in_((NotificationStatus.PENDING, NotificationStatus.FAILED)),
                   AlertNotification.attempts < MAX_ATTEMPTS,
                   or_(AlertNotification.next_attempt_at.is_(None), AlertNotification.next_attempt_at <= now),
                   or_(AlertNotification.claimed_until.is_(None), AlertNotification.claimed_until < now))
            .order_by(AlertNotification.id))


def _claim(ids: list[int], now: datetime) -> bool:
    """Take the rows for this process (one short transaction); False if another process has any of them."""
    claimed = db.session.execute(
        update(AlertNotification)
        .where(AlertNotification.id.in_(ids), AlertNotification.status != NotificationStatus.SENT,
               or_(AlertNotification.claimed_until.is_(None), AlertNotification.claimed_until < now))
        .values(claimed_until=now + CLAIM, attempts=AlertNotification.attempts + 1)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != len(ids):
        db.session.rollback()
        return False
    db.session.commit()
    return True


def _record(ids: list[int], error: str | None) -> None:
    now = utcnow()
    for row in db.session.scalars(select(AlertNotification).where(AlertNotification.id.in_(ids))):
        row.claimed_until = None
        if error is None:
            row.status, row.sent_at, row.last_error, row.next_attempt_at = NotificationStatus.SENT, now, None, None
        else:
            row.status, row.last_error = NotificationStatus.FAILED, error[:300]
            row.next_attempt_at = now + backoff(row.attempts)
    db.session.commit()


def _language(study: Study, email: str) -> str | None:
    for entry in recipient_entries(study):
        if entry["email"].lower() == email.lower():
            return entry.get("language")
    return None


def _send_group(relay: mail.SmtpConfig, ids: list[int], user: User, study: Study, text: tuple[str, str],
                result: Delivered) -> None:
    subject, body = text
    if not user.active:  # deactivated since the alert was raised: never emailed, never tried again
        _record(ids, "the account is deactivated")
        db.session.execute(update(AlertNotification).where(AlertNotification.id.in_(ids))
                           .values(attempts=MAX_ATTEMPTS, next_attempt_at=None))
        db.session.commit()
        result.failed += 1
        return
    try:
        mail.send(relay, messages.build(relay.sender, user.email, subject, body))
    except mail.SendFailed as failure:
        log.warning("alert email to user %s failed: %s", user.id, failure)
        _record(ids, str(failure))
        result.failed += 1
        result.errors.append(str(failure))
    else:
        _record(ids, None)
        result.sent += 1
        result.alerts += len(ids)


def _groups(now: datetime, channel: str) -> dict[tuple[int, int], list[tuple]]:
    grouped: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    for row in db.session.execute(_due(now, channel)).all():
        key = (row.user_id, row.assessment_id if channel == NotificationChannel.URGENT else row.study_id)
        grouped[key].append(row)
    db.session.rollback()  # end the read: nothing is held while the relay is contacted
    return grouped


def deliver(now: datetime | None = None, *, digests: bool = True) -> Delivered:
    """Send every due email (see the module docstring); what was sent and what failed."""
    relay = config()
    result = Delivered()
    if relay is None:
        return result
    now = now or utcnow()
    for (user_id, assessment_id), rows in _groups(now, NotificationChannel.URGENT).items():
        ids = [r.id for r in rows]
        if not _claim(ids, now):
            continue
        user = db.session.get(User, user_id)
        assessment = db.session.get(Assessment, assessment_id)
        study = assessment.participant.study
        visit = messages.Visit(study=study.code, site=assessment.participant.site.code, assessment_id=assessment_id,
                               count=len(ids))
        _send_group(relay, ids, user, study, messages.urgent(visit, _language(study, user.email)), result)
    if digests:
        hours = timedelta(hours=current_app.config["SETTINGS"].alert_digest_hours)
        for (user_id, study_id), rows in _groups(now, NotificationChannel.DIGEST).items():
            if min(r.created_at for r in rows) > now - hours:
                continue  # collecting: the digest goes once its oldest alert has waited the interval
            ids = [r.id for r in rows]
            if not _claim(ids, now):
                continue
            user, study = db.session.get(User, user_id), db.session.get(Study, study_id)
            sites = Counter(db.session.scalars(
                select(Site.code).select_from(AlertNotification)
                .join(Alert, AlertNotification.alert_id == Alert.id)
                .join(Assessment, Alert.assessment_id == Assessment.id)
                .join(Participant, Assessment.participant_id == Participant.id)
                .join(Site, Participant.site_id == Site.id)
                .where(AlertNotification.id.in_(ids))))
            _send_group(relay, ids, user, study, messages.digest(study.code, sites, _language(study, user.email)),
                        result)
    return result


class Dispatcher:
    """One background thread per app that sends urgent emails once a request that queued them commits. It
    lives only while there is work; `wake` starts it again. A failure is recorded on the rows (and logged);
    `pro-app alerts notify` retries it."""

    def __init__(self, app: Flask):
        self.app = app
        self._lock = threading.Lock()
        self._work = False
        self._thread: threading.Thread | None = None
        self._idle = threading.Event()
        self._idle.set()

    def wake(self) -> None:
        with self._lock:
            self._work = True
            self._idle.clear()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pro-app-alert-mail", daemon=True)
                self._thread.start()

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is being sent (tests, and a clean shutdown); False on timeout."""
        return self._idle.wait(timeout)

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._work:
                    self._thread = None
                    self._idle.set()
                    return
                self._work = False
            with self.app.app_context():
                try:
                    deliver(digests=False)
                except Exception:  # noqa: BLE001 - the rows stay due; the command line tries again
                    log.exception("sending alert emails failed")
                finally:
                    db.session.remove()
