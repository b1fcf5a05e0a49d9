"""SQLAlchemy models, a module per table family."""

from .alert import ALERT_KINDS, Alert
from .assessment import ASSESSMENT_STATUSES, MODES, NOT_DONE_REASONS, Assessment, ItemResponse, Plan, PlanPart, Score
from .audit import AuditEvent
from .participant import Participant
from .security import AuthSession, PatientCode, ThrottleEvent
from .study import DEFAULT_THRESHOLDS, Site, Study, Timepoint
from .token import ApiToken
from .user import ROLES, StudyGrant, User

__all__ = [
    "ALERT_KINDS", "ASSESSMENT_STATUSES", "DEFAULT_THRESHOLDS", "MODES", "NOT_DONE_REASONS", "ROLES",
    "Alert", "ApiToken", "Assessment", "AuditEvent", "AuthSession", "ItemResponse", "Participant", "PatientCode",
    "Plan", "PlanPart", "Score", "Site", "Study", "StudyGrant", "ThrottleEvent", "Timepoint", "User",
]
