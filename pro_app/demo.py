"""The demo study DEMO, modelled on a phase 2 trial of SBRT for oligoprogressive metastatic breast cancer:
two sites, four timepoints with windows, QLQ-C30 + QLQ-BR45 + a PRO-CTCAE term set, and participants with
a realistic mix of completed, partly skipped, missed, not done and upcoming assessments in both languages.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from . import audit
from .assessments import answers, completion
from .assessments.schedule import create_assessments, local_today, site_today
from .clock import utcnow
from .extensions import db, library
from .instruments import route
from .models import Alert, Assessment, ItemResponse, Participant, Site, Study, Timepoint, User
from .security import codes
from .security.passwords import hash_password
from .users.services import create_user, generate_password
from .vocabulary import Actor, AlertStatus, AssessmentStatus, ItemState, Mode

STUDY_CODE = "DEMO"
COORDINATOR = "coordinator@example.org"
INSTRUMENTS = ["qlq_c30", "qlq_br45", "pro_ctcae"]
#: Cohorts by receptor status, as the oligoprogression trials stratify.
ARMS = ("HR_POS_HER2_NEG", "HER2_POS", "TNBC")
SITES = [("BCN", "Hospital Demo Barcelona", "Europe/Madrid"), ("MIA", "Demo Cancer Center Miami", "America/New_York")]
TIMEPOINTS = [  # code, label, target day after the start of SBRT, days before, days after
    ("baseline", "Baseline", 0, 14, 3),
    ("wk12", "Week 12", 84, 14, 14),
    ("wk24", "Week 24", 168, 14, 14),
    ("fu30", "30-day follow-up", 198, 7, 14),
]
NOT_DONE_REASONS = ["patient_refused", "too_ill", "staff_error", "device_failure"]
#: The demo's alert rules, as a nurse-led symptom monitoring study sets them (Basch 2016, SYMPATHY): a severe
#: symptom (grade 3) or a worsening of 2 grades is urgent, an alerting answer is for review; scales past
#: their thresholds are flags in the report, not alerts. About three alerts a week for 20 participants.
ALERT_RULES = [
    {"kind": "grade_at_least", "value": 3, "urgency": "urgent", "enabled": True, "exclude_baseline": False},
    {"kind": "worsening_grade", "value": 2, "urgency": "urgent", "enabled": True, "exclude_baseline": True},
    {"kind": "item_value", "value": 4, "urgency": "review", "enabled": True, "exclude_baseline": False},
    {"kind": "threshold", "urgency": "review", "enabled": False, "exclude_baseline": False},
    {"kind": "worsening_score", "value": 10, "urgency": "note", "enabled": False, "exclude_baseline": True},
]
#: Acknowledged demo alerts: the action taken (weights), and alerts this recent are left open.
ACTIONS = [("called_patient", 5), ("seen_in_clinic", 3), ("referred", 1), ("no_action", 2)]
LEFT_OPEN_DAYS = 3


@dataclass(frozen=True)
class DemoInfo:
    study_code: str
    participants: int
    email: str
    password: str
    patient_code: str
    patient: str
    timepoint: str


def _study() -> Study:
    study = db.session.scalar(select(Study).where(Study.code == STUDY_CODE))
    if study is not None:
        return study
    pro_ctcae = library.registry.get("pro_ctcae")
    study = Study(code=STUDY_CODE, title="Demo: SBRT for oligoprogressive metastatic breast cancer (phase 2)",
                  anchor_event="First fraction of SBRT",
                  selections={pro_ctcae.id: list(pro_ctcae.default_selection())}, arms=list(ARMS),
                  alert_rules=[dict(rule) for rule in ALERT_RULES])
    db.session.add(study)
    for code, name, zone in SITES:
        db.session.add(Site(study=study, code=code, name=name, timezone=zone))
    for position, (code, label, day, before, after) in enumerate(TIMEPOINTS, start=1):
        db.session.add(Timepoint(study=study, code=code, label=label, position=position, target_day=day,
                                 window_before=before, window_after=after, instruments=list(INSTRUMENTS)))
    db.session.flush()
    return study


def _coordinator(study: Study) -> tuple[User, str]:
    """The demo coordinator, with a fresh password each time (only its hash is stored)."""
    password = generate_password()
    user = db.session.scalar(select(User).where(User.email == COORDINATOR))
    if user is None:
        user = create_user(COORDINATOR, "coordinator", password, [study.code])
    else:
        user.password_hash, user.active = hash_password(password), True
    return user, password


def _answers_for(instrument, items: list[str], rng: random.Random, burden: float) -> dict[str, int | None]:
    """Plausible answers: worse with a higher burden; a few skipped (None)."""
    given: dict[str, int | None] = {}
    for item_id in items:
        item = instrument.item(item_id)
        if not route(instrument, given, items).shown.count(item_id):
            continue  # branched away by an earlier answer
        if rng.random() < 0.04:
            given[item_id] = None
            continue
        values = item.option_set.values
        if len(values) == 7:  # global health: higher is better
            value = round(7 - burden * 5 + rng.uniform(-1, 1))
        elif item.attribute == "presence":
            value = int(rng.random() < burden * 0.6)
        elif instrument.id == "pro_ctcae":
            value = round(rng.triangular(0, 4.5, burden * 3.5) - 0.4) if rng.random() < 0.75 else 0
        else:
            value = round(1 + rng.triangular(0, 3, burden * 3) - 0.3)
        given[item_id] = min(max(value, values[0]), values[-1])
    return given


def _fill(assessment: Assessment, rng: random.Random, burden: float, *, complete: bool, when: datetime,
          language: str, mode: str) -> None:
    """Store answers for the assessment as if given on `when`, then score it when `complete`."""
    plan = answers.ensure_plan(assessment)
    assessment.status, assessment.mode, assessment.started_at = "in_progress", mode, when
    for part in plan:
        instrument = answers.instrument_of(part)
        items = part.items if complete else part.items[: len(part.items) // 2]
        for item_id, value in _answers_for(instrument, items, rng, burden).items():
            db.session.add(ItemResponse(
                assessment=assessment, instrument_id=instrument.id, instrument_version=part.version,
                item_id=item_id, value=value, state=ItemState.ANSWERED if value is not None else "declined",
                language=language, mode=mode, answered_at=when))
        if not complete:
            break
    if complete:
        db.session.flush()
        completion.complete(assessment, actor="system", language=language)
        assessment.completed_at = when + timedelta(minutes=rng.randint(12, 35))
        db.session.flush()
        for alert in db.session.scalars(select(Alert).where(Alert.assessment_id == assessment.id)):
            alert.created_at = assessment.completed_at  # raised on submit, not when the demo was seeded


def _acknowledge_alerts(participant: Participant, user: User, now: datetime) -> None:
    """Most of the participant's alerts older than a few days acknowledged by the coordinator with an action,
    usually within hours (a few after more than a day); recent ones left open for the triage page."""
    alerts = db.session.scalars(select(Alert).join(Assessment).where(Assessment.participant_id == participant.id,
                                                                     Alert.status == AlertStatus.OPEN)
                                .order_by(Alert.id)).all()
    visits: dict[int, list[Alert]] = {}
    for alert in alerts:
        visits.setdefault(alert.assessment_id, []).append(alert)
    for assessment_id, group in visits.items():
        rng = random.Random(assessment_id)
        raised = min(a.created_at for a in group)
        if now - raised < timedelta(days=LEFT_OPEN_DAYS) or rng.random() < 0.1:
            continue
        at = raised + timedelta(hours=min(rng.lognormvariate(1.6, 1.0), 24 * 6))
        action = rng.choices([a for a, _ in ACTIONS], [w for _, w in ACTIONS])[0]
        for alert in group:
            alert.status, alert.acknowledged_by_id, alert.acknowledged_at = AlertStatus.ACKNOWLEDGED, user.id, at
            alert.action = action
            audit.record("alert.acknowledge", "alert", alert.id, actor=Actor.USER, user_id=user.id,
                         study_id=alert.study_id, old={"status": "open"},
                         new={"status": "acknowledged", "note": None, "action": action})


def _add_participant(study: Study, number: int, today: date) -> Participant:
    rng = random.Random(number)
    site = study.sites[number % len(study.sites)]
    anchor = today - timedelta(days=rng.randint(-10, 260))
    participant = Participant(study=study, site=site, study_code=f"{STUDY_CODE}-{number:03d}",
                              language="es" if rng.random() < 0.4 else "en", anchor_date=anchor)
    _subject_data(participant, random.Random(number + 10_000))
    db.session.add(participant)
    db.session.flush()
    burden = rng.uniform(0.05, 0.7)
    for assessment in create_assessments(participant):
        db.session.flush()
        when = datetime.combine(assessment.target_date, time(10, rng.randint(0, 59)), tzinfo=UTC)
        roll = rng.random()
        if assessment.window_end < today:
            if roll < 0.78:
                _fill(assessment, rng, burden, complete=True, when=when, language=participant.language,
                      mode=rng.choice(["self", "self", "self", "assisted", "paper"]))
            elif roll < 0.9:
                assessment.status, assessment.not_done_reason = AssessmentStatus.NOT_DONE, rng.choice(NOT_DONE_REASONS)
            # else: left as scheduled, so it shows as missed
        elif assessment.window_start <= today and roll < 0.35:
            _fill(assessment, rng, burden, complete=False, when=utcnow(), language=participant.language,
                  mode=Mode.SELF)
        burden = min(burden + rng.uniform(-0.1, 0.15), 0.95)
    return participant


def _open_assessment(study: Study) -> Assessment:
    """An assessment whose window is open today and that nobody has started, for the printed patient code."""
    now = utcnow()
    candidates = db.session.scalars(
        select(Assessment).join(Participant)
        .where(Participant.study_id == study.id, Assessment.status == AssessmentStatus.SCHEDULED)
        .order_by(Assessment.id)
    ).all()
    for assessment in candidates:
        if assessment.effective_status(site_today(assessment.participant, now)) == "open":
            return assessment
    # None open today: enrol one more participant whose baseline window is open.
    number = _count(study) + 1
    participant = Participant(study=study, site=study.sites[0], study_code=f"{STUDY_CODE}-{number:03d}",
                              language="es", anchor_date=local_today(study.sites[0].timezone, now) + timedelta(days=3))
    db.session.add(participant)
    db.session.flush()
    return create_assessments(participant)[0]


def _subject_data(participant: Participant, rng: random.Random) -> None:
    """Cohort and consent (a few days before the anchor), from a generator of its own so the answers stay as they
    were."""
    participant.arm = rng.choice(ARMS)
    participant.consent_date = participant.anchor_date - timedelta(days=rng.randint(3, 21))


def _count(study: Study) -> int:
    return db.session.scalar(select(func.count()).select_from(Participant).where(Participant.study_id == study.id))


def seed_demo(participants: int = 20) -> DemoInfo:
    """Create the demo study or top it up to `participants`; return what a new user needs to try it."""
    study = _study()
    user, password = _coordinator(study)
    today = utcnow().date()
    db.session.flush()
    for number in range(_count(study) + 1, participants + 1):
        participant = _add_participant(study, number, today)
        db.session.flush()
        _acknowledge_alerts(participant, user, utcnow())
    db.session.flush()
    target = _open_assessment(study)
    db.session.flush()
    code = codes.issue(target, user.id)
    info = DemoInfo(study.code, _count(study), user.email, password, code, target.participant.study_code,
                    target.timepoint.label)
    db.session.commit()
    return info
