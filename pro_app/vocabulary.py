"""The data vocabulary (DESIGN.md §3, SCORING.md §5) as typed enums, with the labels staff pages show.

Every stored status, state, mode, kind and role is one of these values; the database checks them too
(CHECK constraints). The labels are lazy, so they are translated when a page renders them.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from flask_babel import lazy_gettext as _l

from .instruments.model import ItemState, ScoreStatus


class AssessmentStatus(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"  # shown, never stored: the window is open today
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    #: the window closed with nothing answered: shown for a scheduled assessment past its window, stored when
    #: `pro-app assessments close-expired` closes one that was started but has no answer
    MISSED = "missed"
    #: the window closed (or staff closed it) with some answers: scored by the half rule, the rest not_reached
    PARTIAL = "partial"
    NOT_DONE = "not_done"


#: The statuses kept in the database; `open` (and `missed` for a never-started one) follow from the dates.
STORED_ASSESSMENT_STATUSES = (AssessmentStatus.SCHEDULED, AssessmentStatus.IN_PROGRESS,
                              AssessmentStatus.COMPLETED, AssessmentStatus.PARTIAL, AssessmentStatus.MISSED,
                              AssessmentStatus.NOT_DONE)
#: Nothing more is recorded through the patient path once an assessment is in one of these.
DONE_STATUSES = (AssessmentStatus.COMPLETED, AssessmentStatus.PARTIAL, AssessmentStatus.MISSED,
                 AssessmentStatus.NOT_DONE)


class Mode(StrEnum):
    SELF = "self"  # the patient on the tablet
    ASSISTED = "assisted"  # staff read the items aloud
    PAPER = "paper"  # keyed from a paper form


class NotDoneReason(StrEnum):
    """Why an assessment was not done (SCORING.md §5); `other` needs a note."""

    PATIENT_REFUSED = "patient_refused"
    TOO_ILL = "too_ill"
    STAFF_ERROR = "staff_error"
    OUTSIDE_WINDOW = "outside_window"
    DEVICE_FAILURE = "device_failure"
    OTHER = "other"


class AlertKind(StrEnum):
    """What raised an alert: one kind per rule kind of the instrument definitions (`alert_rules`)."""

    GRADE_AT_LEAST = "grade_at_least"  # a composite grade at or above the rule's value
    ITEM_VALUE = "item_value"  # an item answered with the rule's value
    THRESHOLD = "threshold"  # a scale past its threshold for clinical importance
    WORSENING_GRADE = "worsening_grade"  # a composite grade up by the rule's value from baseline
    WORSENING_SCORE = "worsening_score"  # a scale worse by the rule's value (points) from baseline


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class NotificationChannel(StrEnum):
    """How an alert reaches a study's recipients: an email of its own, or the hourly digest."""

    URGENT = "urgent"
    DIGEST = "digest"


class NotificationStatus(StrEnum):
    PENDING = "pending"  # not tried yet
    SENT = "sent"
    FAILED = "failed"  # the last attempt failed; `pro-app alerts notify` tries again


class Urgency(IntEnum):
    """1 is the most urgent."""

    HIGH = 1  # urgent
    MEDIUM = 2  # review
    LOW = 3  # note


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    ANALYST = "analyst"


class ParticipantStatus(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class NotExpectedReason(StrEnum):
    """Why an assessment is not counted as expected (CONSORT-PRO): never counted as missed."""

    WINDOW_NOT_OPEN = "window_not_open"  # not yet due
    DIED = "died"  # the participant died on or before the window's last day, nothing given
    WITHDRAWN = "withdrawn"  # withdrawn on or before the window's last day, follow-up not continued
    UNSCHEDULED = "unscheduled"  # added by staff at an unplanned visit: never in the planned schedule


class Anchor(StrEnum):
    """The events a timepoint's target day counts from; a participant's date of each is entered when known."""

    ENROLMENT = "enrolment"
    TREATMENT_START = "treatment_start"  # the study's anchor event (Participant.anchor_date)
    TREATMENT_END = "treatment_end"


class RepeatUnit(StrEnum):
    """The unit of a repeating timepoint's interval."""

    DAYS = "days"
    WEEKS = "weeks"


REPEAT_UNIT_LABELS = {RepeatUnit.DAYS: _l("days"), RepeatUnit.WEEKS: _l("weeks")}


ANCHOR_LABELS = {
    Anchor.ENROLMENT: _l("Enrolment"),
    Anchor.TREATMENT_START: _l("Start of treatment"),
    Anchor.TREATMENT_END: _l("End of treatment"),
}


class SessionKind(StrEnum):
    STAFF = "staff"
    PATIENT = "patient"


class Actor(StrEnum):
    """Who an audit record says acted."""

    USER = "user"
    PATIENT = "patient"
    SYSTEM = "system"


ITEM_STATE_LABELS = {
    ItemState.ANSWERED: _l("Answered"),
    ItemState.DECLINED: _l("Declined"),
    ItemState.BRANCHED: _l("Skipped by branching"),
    ItemState.NOT_APPLICABLE: _l("Not applicable"),
    ItemState.NOT_REACHED: _l("Not reached"),
}

SCORE_STATUS_LABELS = {
    ScoreStatus.SCORED: _l("Scored"),
    ScoreStatus.INSUFFICIENT: _l("Too few answers"),
    ScoreStatus.NOT_APPLICABLE: _l("Not applicable"),
}

STATUS_LABELS = {
    AssessmentStatus.SCHEDULED: _l("Scheduled"),
    AssessmentStatus.OPEN: _l("Window open"),
    AssessmentStatus.IN_PROGRESS: _l("In progress"),
    AssessmentStatus.COMPLETED: _l("Completed"),
    AssessmentStatus.MISSED: _l("Missed"),
    AssessmentStatus.PARTIAL: _l("Partly completed"),
    AssessmentStatus.NOT_DONE: _l("Not done"),
}

MODE_LABELS = {Mode.SELF: _l("Tablet"), Mode.ASSISTED: _l("Assisted"), Mode.PAPER: _l("Paper")}

NOT_DONE_LABELS = {
    NotDoneReason.PATIENT_REFUSED: _l("Patient refused"),
    NotDoneReason.TOO_ILL: _l("Too ill"),
    NotDoneReason.STAFF_ERROR: _l("Staff or scheduling error"),
    NotDoneReason.OUTSIDE_WINDOW: _l("Outside the window"),
    NotDoneReason.DEVICE_FAILURE: _l("Device failure"),
    NotDoneReason.OTHER: _l("Other reason"),
}

NOT_EXPECTED_LABELS = {
    NotExpectedReason.WINDOW_NOT_OPEN: _l("Window not open yet"),
    NotExpectedReason.DIED: _l("Died"),
    NotExpectedReason.WITHDRAWN: _l("Withdrawn"),
}

ALERT_KIND_LABELS = {
    AlertKind.GRADE_AT_LEAST: _l("Severe symptom (high composite grade)"),
    AlertKind.ITEM_VALUE: _l("Alerting answer on a symptom item"),
    AlertKind.THRESHOLD: _l("Score past the threshold for clinical importance"),
    AlertKind.WORSENING_GRADE: _l("Symptom grade worse than at baseline"),
    AlertKind.WORSENING_SCORE: _l("Score worse than at baseline"),
}

URGENCY_LABELS = {Urgency.HIGH: _l("High"), Urgency.MEDIUM: _l("Medium"), Urgency.LOW: _l("Low")}

#: The names a study's alert rules give their urgency (its definition and YAML), and the level each means.
URGENCY_NAMES = {"urgent": Urgency.HIGH, "review": Urgency.MEDIUM, "note": Urgency.LOW}

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.COORDINATOR: _l("Coordinator"),
    Role.ANALYST: _l("Analyst"),
}
