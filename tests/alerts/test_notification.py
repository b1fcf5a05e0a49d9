"""Alert emails against a real SMTP server (aiosmtpd, started by the test on a port of 5200-5299): an urgent
alert answered on the tablet reaches the study's recipients who may see the participant's site, after the
answer commits and without holding the tablet up; a relay that is down or slow changes nothing for the
patient, the failure is recorded and `pro-app alerts notify` sends it later, once; review-level alerts go in
one digest; no email carries health data or a participant code."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from sqlalchemy import select

from pro_app import create_app
from pro_app.alerts import mail, notify
from pro_app.cli_app import alerts as alerts_command
from pro_app.extensions import db
from pro_app.instruments import get_instrument
from pro_app.models import Alert, AlertNotification, Assessment, Study
from pro_app.settings import SettingsError
from tests.alerts.test_rules import _complete
from tests.support.http import login
from tests.support.kiosk import answer, continue_intro, html, issue_code, location, start_with_code, submit

NURSE = "nurse@hospital.example"
OTHER_SITE = "miami.nurse@hospital.example"
PARTICIPANT = "P-MAIL-7"
TERM_17 = ("PROCTCAE_17A_SCL", "PROCTCAE_17B_SCL", "PROCTCAE_17C_SCL")
#: What an email must never hold: the participant's code, the symptom's wording, the answers' labels.
PROCTCAE = get_instrument("pro_ctcae")


def _port_range() -> range:
    """This test worker's half of 5200-5299 (pytest-xdist runs two)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker[2:]) % 2 if worker.startswith("gw") and worker[2:].isdigit() else 0
    return range(5200 + 50 * index, 5250 + 50 * index)


def _free_port() -> int:
    for port in _port_range():
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 5200-5299")


class Relay:
    """A local SMTP server that keeps what it receives; `stop()` makes it a relay that is down."""

    def __init__(self, port: int):
        self.port, self.delay, self.received = port, 0.0, []
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default_policy)))
        return "250 Message accepted"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def bodies(self) -> list[str]:
        return [m.get_content() for _, m in self.received]


@pytest.fixture
def relay():
    server = Relay(_free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def settings(settings, relay):
    return settings.with_changes(smtp_url=f"smtp://127.0.0.1:{relay.port}", smtp_from="pro-app@hospital.example",
                                 smtp_tls="none", smtp_timeout_seconds=10, public_url="https://pro.hospital.example")


@pytest.fixture
def study(app, create_study, create_staff):
    """A PRO-CTCAE study (term 17) that notifies the nurse (both sites), a Miami nurse (Miami only), an address
    with no account and a coordinator who is not listed."""
    made = create_study(terms=[17], instruments=["pro_ctcae"])
    create_staff(NURSE, studies=[made])
    other = create_staff(OTHER_SITE, studies=[made])
    create_staff("not.listed@hospital.example", studies=[made])
    with app.app_context():
        from pro_app.models import Site, StudyGrant
        grant = db.session.scalar(select(StudyGrant).where(StudyGrant.user_id == other.id))
        grant.site_id = db.session.scalar(select(Site.id).where(Site.study_id == made.id, Site.code == "MIA"))
        found = db.session.get(Study, made.id)
        found.alert_recipients = [{"email": NURSE}, {"email": OTHER_SITE, "language": "es"},
                                  {"email": "nobody@hospital.example"}]
        db.session.commit()
    return made


@pytest.fixture
def tablet(app, client, study, create_participant):
    """A patient at Barcelona on the PRO-CTCAE baseline, past its instructions."""
    assessment_id = create_participant(study, code=PARTICIPANT).assessments["baseline"]
    start_with_code(client, issue_code(app, assessment_id))
    continue_intro(client, "pro_ctcae")
    return assessment_id


def _answer_severe_and_submit(client) -> float:
    """Term 17 at its worst (grade 3, urgent); the seconds the submit took."""
    for item in TERM_17:
        answer(client, item, 4)
    started = time.perf_counter()
    response = submit(client)
    elapsed = time.perf_counter() - started
    assert location(response).endswith("/kiosk/thanks")
    return elapsed


def _notifications(app) -> list[tuple[str, str, int, str | None]]:
    with app.app_context():
        return [(n.channel, n.status, n.attempts, n.last_error) for n in
                db.session.scalars(select(AlertNotification).order_by(AlertNotification.id))]


def _wait_idle(app) -> None:
    assert notify.dispatcher(app).wait_idle(15), "the email thread did not finish"


def _notify(app):
    with app.app_context():
        return CliRunner().invoke(alerts_command, ["notify"])


def _assert_minimum_necessary(body: str) -> None:
    assert PARTICIPANT not in body
    for item in TERM_17:
        item_def = PROCTCAE.item(item)
        for lang in ("en", "es"):
            assert item_def.text.get(lang) not in body
            for option in item_def.option_set.options:
                assert option.label.get(lang) not in body or len(option.label.get(lang)) < 4


def test_an_urgent_grade_answered_on_the_tablet_emails_the_recipients_of_that_site_once(app, client, relay, tablet):
    _answer_severe_and_submit(client)
    _wait_idle(app)
    assert len(relay.received) == 1  # the Miami nurse may not see Barcelona; the others are not accounts
    recipients, message = relay.received[0]
    assert recipients == [NURSE] and message["To"] == NURSE and message["From"] == "pro-app@hospital.example"
    # No language known for the nurse: English, then Spanish.
    assert message["Subject"] == ("[pro-app] Urgent alert: study NCT0000001, site BCN / "
                                  "[pro-app] Alerta urgente: estudio NCT0000001, centro BCN")
    body = message.get_content()
    assert "4 urgent alerts were raised at one visit in study NCT0000001, site BCN." in body
    assert f"https://pro.hospital.example/staff/studies/NCT0000001/alerts?urgency=1&site=BCN#visit-{tablet}" in body
    assert "estudio NCT0000001" in body
    _assert_minimum_necessary(body)
    assert {(c, s, a) for c, s, a, _ in _notifications(app)} == {("urgent", "sent", 1)}
    # The cron run afterwards finds nothing to send.
    assert _notify(app).exit_code == 0
    assert len(relay.received) == 1


def test_the_alert_shows_the_email_sent_on_the_triage_page(app, client, relay, tablet):
    _answer_severe_and_submit(client)
    _wait_idle(app)
    login(client, NURSE)
    page = html(client.get("/staff/studies/NCT0000001/alerts?lang=en"))
    assert f"Email to {NURSE}: sent" in page


def test_with_smtp_configured_the_pages_do_not_say_email_is_off(client, relay, study):
    login(client, NURSE)
    assert 'data-testid="email-off"' not in html(client.get("/staff/studies/NCT0000001/alerts"))


@pytest.mark.parametrize("changes, message", [
    ({"smtp_url": "http://relay.example"}, "PRO_APP_SMTP_URL must look like smtp://"),
    ({"smtp_url": "smtp://relay.example:99999"}, "port that is not a number"),
    ({"smtp_tls": "maybe"}, "PRO_APP_SMTP_TLS must be one of starttls, ssl, none"),
    ({"smtp_from": None}, "PRO_APP_SMTP_FROM must be the sender's email address"),
    ({"smtp_from": "pro-app@hospital.example\nBcc: x@evil.example"}, "PRO_APP_SMTP_FROM must be"),
])
def test_smtp_settings_that_cannot_be_used_stop_start_up_with_a_clear_message(settings, changes, message):
    with pytest.raises(SettingsError, match=message):
        create_app(settings.with_changes(**changes))


def test_the_relay_settings_read_user_password_port_and_tls_and_never_show_the_password(settings):
    relay = mail.smtp_config(settings.with_changes(smtp_url="smtp://alerts%40hospital:s3cr%2Ft@relay.example",
                                                   smtp_tls=None))
    assert (relay.host, relay.port, relay.tls, relay.username, relay.password) == (
        "relay.example", 587, "starttls", "alerts@hospital", "s3cr/t")
    assert "s3cr" not in repr(relay)
    secure = mail.smtp_config(settings.with_changes(smtp_url="smtps://relay.example", smtp_tls=None))
    assert (secure.port, secure.tls) == (465, "ssl")
    assert mail.smtp_config(settings.with_changes(smtp_url=None)) is None


def test_a_relay_that_is_down_leaves_the_answer_stored_and_fast_then_the_retry_sends_it_once(app, client, relay,
                                                                                            tablet, clock):
    relay.stop()
    elapsed = _answer_severe_and_submit(client)
    _wait_idle(app)
    assert elapsed < 2
    with app.app_context():
        assert db.session.get(Assessment, tablet).status == "completed"
        # The composite at grade 3 and each of its three items at its worst answer.
        assert len(db.session.scalars(select(Alert).where(Alert.assessment_id == tablet)).all()) == 4
    recorded = _notifications(app)
    assert [(c, s, a) for c, s, a, _ in recorded] == [("urgent", "failed", 1)] * 4
    assert all(error for *_, error in recorded)
    relay.start()
    # Not yet due: the first retry waits five minutes.
    assert "Sent 0 email(s)" in _notify(app).output and relay.received == []
    clock.ahead(5 * 60 + 1)
    result = _notify(app)
    assert result.exit_code == 0 and "Sent 1 email(s) about 4 alert notification(s)" in result.output
    assert len(relay.received) == 1 and relay.received[0][0] == [NURSE]
    assert [(c, s, a, e) for c, s, a, e in _notifications(app)] == [("urgent", "sent", 2, None)] * 4
    clock.ahead(24 * 3600)
    _notify(app)
    assert len(relay.received) == 1  # never twice


def test_a_slow_relay_does_not_hold_up_the_patients_submit(app, client, relay, tablet):
    relay.delay = 3.0  # sending in the request would make the submit take this long
    elapsed = _answer_severe_and_submit(client)
    assert elapsed < 2
    _wait_idle(app)
    assert len(relay.received) == 1
    assert {s for _, s, _, _ in _notifications(app)} == {"sent"}


def test_a_failed_retry_waits_longer_each_time(app, client, relay, tablet, clock):
    relay.stop()
    _answer_severe_and_submit(client)
    _wait_idle(app)
    clock.ahead(5 * 60 + 1)
    assert _notify(app).exit_code == 1  # every attempt failed: cron reports it
    with app.app_context():
        row = db.session.scalars(select(AlertNotification)).first()
        assert row.attempts == 2 and row.status == "failed"
        assert (row.next_attempt_at - row.created_at).total_seconds() >= 10 * 60 + 5 * 60


def test_a_rule_switched_off_sends_nothing(app, client, relay, study, create_participant):
    with app.app_context():
        found = db.session.get(Study, study.id)
        found.alert_rules = [{"kind": "grade_at_least", "value": 3, "urgency": "urgent", "enabled": False,
                              "exclude_baseline": False},
                             {"kind": "item_value", "value": 4, "urgency": "urgent", "enabled": False,
                              "exclude_baseline": False}]
        db.session.commit()
    assessment_id = create_participant(study, code="P-OFF").assessments["baseline"]
    start_with_code(client, issue_code(app, assessment_id))
    continue_intro(client, "pro_ctcae")
    _answer_severe_and_submit(client)
    _wait_idle(app)
    assert relay.received == [] and _notifications(app) == []


def test_review_alerts_go_in_one_digest_per_recipient_and_study_after_the_interval(app, relay, study,
                                                                                  create_participant, clock):
    with app.app_context():
        found = db.session.get(Study, study.id)
        found.alert_digest = True
        found.alert_rules = [{"kind": "grade_at_least", "value": 2, "urgency": "review", "enabled": True,
                              "exclude_baseline": False}]
        db.session.commit()
    barcelona = [create_participant(study, code=f"P-DIG-{n}").assessments["baseline"] for n in (1, 2)]
    miami = create_participant(study, code="P-DIG-3", site_code="MIA").assessments["baseline"]
    with app.app_context():
        from pro_app.alerts.rules import raise_alerts
        for assessment_id in [*barcelona, miami]:
            _complete(assessment_id, {"PROCTCAE_17_COMP": 2})
            raise_alerts(db.session.get(Assessment, assessment_id))
        db.session.commit()
    assert _notify(app).exit_code == 0
    assert relay.received == []  # collecting for an hour
    clock.ahead(3600 + 1)
    assert _notify(app).exit_code == 0
    by_recipient = {tuple(r): m for r, m in relay.received}
    assert set(by_recipient) == {(NURSE,), (OTHER_SITE,)}
    nurse = by_recipient[(NURSE,)].get_content()
    assert "3 alerts to review were raised in study NCT0000001" in nurse
    assert "- Site BCN: 2 alerts" in nurse and "- Site MIA: 1 alert" in nurse
    assert "https://pro.hospital.example/staff/studies/NCT0000001/alerts?urgency=2" in nurse
    # The Miami nurse reads Spanish (the study says so) and only sees Miami.
    miami_mail = by_recipient[(OTHER_SITE,)]
    assert miami_mail["Subject"] == "[pro-app] 1 alerta para revisar: estudio NCT0000001"
    assert "Site" not in miami_mail.get_content() and "Centro MIA: 1 alerta" in miami_mail.get_content()
    for _, message in relay.received:
        for code in ("P-DIG-1", "P-DIG-2", "P-DIG-3"):
            assert code not in message.get_content()
    clock.ahead(2 * 3600)
    _notify(app)
    assert len(relay.received) == 2  # no second digest of the same alerts


def test_after_the_last_attempt_the_alert_says_no_more_retries_and_nothing_is_sent(app, client, relay, tablet,
                                                                                   clock):
    relay.stop()
    _answer_severe_and_submit(client)
    _wait_idle(app)
    with app.app_context():
        for row in db.session.scalars(select(AlertNotification)):
            row.attempts = notify.MAX_ATTEMPTS
        db.session.commit()
    relay.start()
    clock.ahead(24 * 3600)
    _notify(app)
    assert relay.received == []
    login(client, NURSE)
    page = html(client.get("/staff/studies/NCT0000001/alerts?lang=en"))
    assert f"Email to {NURSE}: failed, no more retries" in page


def _pending_urgent(app, study, create_participant) -> int:
    """An urgent alert raised outside a request (as `close-expired` does): its emails wait for the command."""
    assessment_id = create_participant(study, code="P-CLAIM").assessments["baseline"]
    with app.app_context():
        from pro_app.alerts.rules import raise_alerts
        _complete(assessment_id, {"PROCTCAE_17_COMP": 3})
        raise_alerts(db.session.get(Assessment, assessment_id))
        db.session.commit()
    assert [(c, s) for c, s, _, _ in _notifications(app)] == [("urgent", "pending")]
    return assessment_id


def test_an_email_another_process_is_sending_is_left_to_it_until_its_claim_expires(app, relay, study,
                                                                                    create_participant, clock):
    _pending_urgent(app, study, create_participant)
    with app.app_context():
        ids = list(db.session.scalars(select(AlertNotification.id)))
        from pro_app.clock import utcnow
        assert notify._claim(ids, utcnow())  # another process took it, and died before sending
    assert "Sent 0 email(s)" in _notify(app).output and relay.received == []
    clock.ahead(notify.CLAIM.total_seconds() + 1)
    assert "Sent 1 email(s)" in _notify(app).output
    assert len(relay.received) == 1


def test_two_senders_at_the_same_moment_send_the_alert_once(app, relay, study, create_participant):
    import threading

    _pending_urgent(app, study, create_participant)
    relay.delay = 1.0  # both are inside deliver() at once
    barrier, results = threading.Barrier(2), []

    def sender():
        with app.app_context():
            barrier.wait()
            results.append(notify.deliver())
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(r.sent for r in results) == [0, 1]
    assert len(relay.received) == 1
    assert [(s, a) for _, s, a, _ in _notifications(app)] == [("sent", 1)]


def test_a_recipient_deactivated_before_the_email_goes_is_not_emailed(app, relay, study, create_participant):
    _pending_urgent(app, study, create_participant)
    with app.app_context():
        from pro_app.models import User
        db.session.scalar(select(User).where(User.email == NURSE)).active = False
        db.session.commit()
    _notify(app)
    assert relay.received == []
    assert [(s, a, e) for _, s, a, e in _notifications(app)] == [("failed", notify.MAX_ATTEMPTS,
                                                                  "the account is deactivated")]
