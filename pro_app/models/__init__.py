"""SQLAlchemy models, a module per table family."""

from .alert import Alert, AlertNotification
from .assessment import (
    ASSESSMENT_STATUSES,
    MODES,
    NOT_DONE_REASONS,
    Assessment,
    ItemResponse,
    PaperKeying,
    Plan,
    PlanPart,
    Score,
)
from .audit import AuditEvent
from .participant import Participant
from .security import AuthSession, PatientCode, Tablet, ThrottleEvent
from .study import Site, Study, Timepoint, default_thresholds
from .token import ApiToken
from .user import ROLES, StudyGrant, User

__all__ = [
    "ASSESSMENT_STATUSES", "MODES", "NOT_DONE_REASONS", "ROLES",
    "Alert", "AlertNotification", "ApiToken", "Assessment", "AuditEvent", "AuthSession", "ItemResponse",
    "PaperKeying", "Participant", "PatientCode",
    "Plan", "PlanPart", "Score", "Site", "Study", "StudyGrant", "Tablet", "ThrottleEvent", "Timepoint", "User",
    "default_thresholds",
]
